"""The one place where enrichers are composed into an enriched article."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from schemas.articles import Article, EnrichedArticle
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


def warm_up() -> None:
    """Load language profiles, gazetteers and name lists now, so the first article doesn't pay for them."""
    for module in (language_module, entities_module, places_module, quotes_module):
        module.warm_up()


_LINEAGE_FIELDS = frozenset({"enrichers", "enriched_at"})


def enrich(
    article: Article, enrichers: Sequence[Enricher] = ENRICHERS, now: datetime | None = None
) -> EnrichedArticle:
    """Run ``enrichers`` in order over ``article`` and record each one in the lineage.

    An enricher may only add enrichment fields: overwriting an article field or another
    enricher's output raises ``ValueError``, as does any exception of the enricher itself.
    """
    fields: dict[str, Any] = {}
    for step in enrichers:
        added = step(article, fields)
        clashes = added.keys() & (_ARTICLE_FIELDS | _LINEAGE_FIELDS | fields.keys())
        if clashes:
            raise ValueError(f"enricher {step.name!r} may not set {sorted(clashes)}")
        fields.update(added)
    return EnrichedArticle(
        **dict(article),
        **fields,
        enrichers=[step.lineage for step in enrichers],
        enriched_at=now or datetime.now(UTC),
    )
