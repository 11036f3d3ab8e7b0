from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.articles import Article, EnricherRun
from services.enrich.enrichers import Enricher, enricher
from services.enrich.enrichers.text_stats import reading_time, word_count
from services.enrich.pipeline import ENRICHERS, enrich
from tests.unit.enrich.factories import FRENCH_PARAGRAPH, article


def test_enrich_adds_every_field_and_lists_each_enricher_with_its_version() -> None:
    now = datetime(2024, 7, 3, 12, 0, tzinfo=UTC)
    source = article(paragraphs=[FRENCH_PARAGRAPH], title="Sommet régional à la capitale")
    enriched = enrich(source, now=now)
    assert enriched.language == "fr"
    assert enriched.word_count == len(FRENCH_PARAGRAPH.split())
    assert enriched.reading_time_minutes == 0.1
    assert enriched.enrichers == [EnricherRun(name=e.name, version=e.version) for e in ENRICHERS]
    assert [run.name for run in enriched.enrichers][:3] == ["language", "word_count", "reading_time"]
    assert {"entities", "places", "quotes", "keywords", "summary"} <= {run.name for run in enriched.enrichers}
    assert enriched.enriched_at == now


def test_enrich_carries_every_article_field_over_unchanged() -> None:
    source = article(language_hint="en")
    enriched = enrich(source)
    assert enriched.model_dump(include=set(Article.model_fields)) == source.model_dump()


def test_enricher_order_matters_and_a_failing_enricher_raises() -> None:
    with pytest.raises(ValueError, match="word_count"):
        enrich(article(), enrichers=(reading_time, word_count))


def test_an_enricher_may_not_overwrite_article_or_earlier_fields() -> None:
    @enricher("retitle", "1")
    def retitle(source: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"title": "changed"}

    @enricher("recount", "1")
    def recount(source: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"word_count": 0}

    with pytest.raises(ValueError, match="title"):
        enrich(article(), enrichers=(retitle,))
    with pytest.raises(ValueError, match="word_count"):
        enrich(article(), enrichers=(word_count, recount, reading_time))


def test_an_enricher_is_a_plain_callable_with_lineage() -> None:
    step = Enricher("constant", "7", lambda source, fields: {"word_count": 3})
    assert step(article(), {}) == {"word_count": 3}
    assert step.lineage == EnricherRun(name="constant", version="7")
