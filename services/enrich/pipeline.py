"""The one place where enrichers are composed into an enriched article."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from schemas.articles import Article, EnrichedArticle
from services.enrich.enrichers import Enricher
from services.enrich.enrichers.language import language
from services.enrich.enrichers.text_stats import reading_time, word_count

#: In run order: an enricher sees the fields of those before it.
ENRICHERS: tuple[Enricher, ...] = (language, word_count, reading_time)

_ARTICLE_FIELDS = frozenset(Article.model_fields)
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
