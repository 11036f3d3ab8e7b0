"""The one place where enrichers are composed into an enriched article."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from schemas.articles import Article, EnrichedArticle, EnricherRun
from services.enrich.dedup import LINEAGE
from services.enrich.enrichers import Enricher
from services.enrich.enrichers import entities as entities_module
from services.enrich.enrichers import language as language_module
from services.enrich.enrichers import places as places_module
from services.enrich.enrichers import quotes as quotes_module
from services.enrich.enrichers.entities import entities
from services.enrich.enrichers.keywords import keywords
from services.enrich.enrichers.language import language
from services.enrich.enrichers.places import places
from services.enrich.enrichers.quotes import quotes
from services.enrich.enrichers.summary import summary
from services.enrich.enrichers.text_stats import reading_time, word_count

#: In run order: an enricher sees the fields of those before it.
ENRICHERS: tuple[Enricher, ...] = (
    language,
    word_count,
    reading_time,
    entities,
    places,
    quotes,
    keywords,
    summary,
)

_ARTICLE_FIELDS = frozenset(Article.model_fields)

#: The most body text the name, place, quote, keyword and summary enrichers read: the first this many
#: characters (whole paragraphs, the last one cut at a word). Their cost grows with the text, so a
#: body of megabytes would hold its partition for minutes; 200,000 characters (some 30,000 words,
#: fifty times a long news story) enrich in about a second. An enricher that read less than the
#: whole body says so in its lineage version. ``None`` reads everything. The service's setting:
#: NEWSWIRE_ENRICH_TEXT_BUDGET_CHARS (0 reads everything).
TEXT_BUDGET_CHARS: int | None = 200_000
#: Enrichers cheap enough to read every character of the largest accepted body.
WHOLE_BODY_ENRICHERS = frozenset({"language", "word_count", "reading_time"})


def current_versions() -> dict[str, str]:
    """Enricher name -> version of the code here: the lineage a document enriched now would carry."""
    return {step.name: step.version for step in ENRICHERS} | {LINEAGE.name: LINEAGE.version}


def warm_up() -> None:
    """Load language profiles, gazetteers and name lists now, so the first article doesn't pay for them."""
    for module in (language_module, entities_module, places_module, quotes_module):
        module.warm_up()


_LINEAGE_FIELDS = frozenset({"enrichers", "enriched_at"})


def enrich(
    article: Article,
    enrichers: Sequence[Enricher] = ENRICHERS,
    now: datetime | None = None,
    budget_chars: int | None = TEXT_BUDGET_CHARS,
) -> EnrichedArticle:
    """Run ``enrichers`` in order over ``article`` and record each one in the lineage.

    Enrichers outside ``WHOLE_BODY_ENRICHERS`` read at most the first ``budget_chars`` characters
    of the body; when that is not all of it, their lineage version says how much they read
    ("1 (first 200000 of 2000000 characters)"). An enricher may only add enrichment fields:
    overwriting an article field or another enricher's output raises ``ValueError``, as does any
    exception of the enricher itself.
    """
    budgeted = within_budget(article, budget_chars)
    fields: dict[str, Any] = {}
    lineage: list[EnricherRun] = []
    for step in enrichers:
        partial = budgeted is not None and step.name not in WHOLE_BODY_ENRICHERS
        added = step(budgeted if partial and budgeted is not None else article, fields)
        clashes = added.keys() & (_ARTICLE_FIELDS | _LINEAGE_FIELDS | fields.keys())
        if clashes:
            raise ValueError(f"enricher {step.name!r} may not set {sorted(clashes)}")
        fields.update(added)
        lineage.append(step.lineage)
        if partial and budgeted is not None:
            read, whole = len(budgeted.body), len(article.body)
            lineage[-1] = EnricherRun(
                name=step.name, version=f"{step.version} (first {read} of {whole} characters)"
            )
    return EnrichedArticle(
        **dict(article),
        **fields,
        enrichers=lineage,
        enriched_at=now or datetime.now(UTC),
    )


def within_budget(article: Article, budget_chars: int | None) -> Article | None:
    """``article`` with only the first ``budget_chars`` characters of its body, None when it fits.

    Whole paragraphs are kept while they fit; the paragraph that does not is cut at the last
    whitespace within the budget (mid-word only when it is the first and has no whitespace there),
    so offsets into the shorter body are offsets into the whole one.
    """
    if budget_chars is None or len(article.body) <= budget_chars:
        return None
    paragraphs: list[str] = []
    used = 0
    for paragraph in article.paragraphs:
        room = budget_chars - used - (2 if paragraphs else 0)
        if len(paragraph) <= room:
            paragraphs.append(paragraph)
            used += len(paragraph) + (2 if len(paragraphs) > 1 else 0)
            continue
        if room > 0 or not paragraphs:
            head = paragraph[: max(room, 1)]
            cut = max(head.rfind(" "), head.rfind("\n"))
            if cut > 0:
                head = head[:cut].rstrip()
            elif paragraphs:  # not a word of it fits: the paragraphs before are enough
                head = ""
            if head.strip():
                paragraphs.append(head)
        break
    return article.model_copy(update={"paragraphs": paragraphs or [article.paragraphs[0][:budget_chars]]})
