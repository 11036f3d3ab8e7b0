"""Which archive records a run selects, and which lineages are stale."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from schemas.envelope import ArticleIngested, new_envelope_fields
from services.enrich.pipeline import current_versions
from services.reprocess.modes import enrich_route, selected
from services.reprocess.runs import Run
from services.reprocess.subset import Subset, is_stale, stale_ids
from tests.unit.enrich.factories import article, record


def test_no_condition_is_the_whole_archive() -> None:
    assert Subset().everything
    assert Subset().selects(article())
    assert not Subset(source="BBC News").everything


def test_source_is_matched_in_any_case() -> None:
    subset = Subset(source="example NEWS")
    assert subset.selects(article(source="Example News"))
    assert not subset.selects(article(source="Other"))
    assert not subset.selects(article(source=None))


def test_since_is_inclusive_until_exclusive_on_the_publication_date() -> None:
    published = datetime(2024, 7, 3, 9, 30, tzinfo=UTC)
    subset = Subset(since=published, until=datetime(2024, 7, 4, tzinfo=UTC))
    assert subset.selects(article(published_at=published))
    assert not subset.selects(article(published_at=datetime(2024, 7, 4, tzinfo=UTC)))
    assert not subset.selects(article(published_at=datetime(2024, 7, 3, 9, 29, tzinfo=UTC)))


def test_without_a_publication_date_the_ingestion_date_counts() -> None:
    subset = Subset(since=datetime(2024, 7, 3, tzinfo=UTC))
    assert subset.selects(article(published_at=None, ingested_at=datetime(2024, 7, 3, 10, tzinfo=UTC)))
    assert not subset.selects(article(published_at=None, ingested_at=datetime(2024, 7, 2, tzinfo=UTC)))


def test_a_naive_bound_is_utc() -> None:
    subset = Subset(since=datetime(2024, 7, 3, 9, 0))
    assert subset.selects(article(published_at=datetime(2024, 7, 3, 9, 30, tzinfo=UTC)))


def test_resolved_ids_narrow_the_selection() -> None:
    chosen = article()
    subset = Subset(stale=True, ids=frozenset({chosen.id}))
    assert subset.selects(chosen)
    assert not subset.selects(article())


def test_same_request_ignores_the_resolved_ids() -> None:
    assert Subset(stale=True, ids=frozenset({"a"})).same_request(Subset(stale=True))
    assert not Subset(stale=True).same_request(Subset(source="x", stale=True))


def test_stale_when_a_version_differs_or_an_enricher_is_missing() -> None:
    current = {"entities": "3", "places": "2"}
    assert not is_stale([{"name": "entities", "version": "3"}, {"name": "places", "version": "2"}], current)
    assert is_stale([{"name": "entities", "version": "2"}, {"name": "places", "version": "2"}], current)
    assert is_stale([{"name": "entities", "version": "3"}], current)
    assert is_stale([], current)


def test_a_version_qualified_by_the_text_budget_is_the_same_version() -> None:
    current = {"entities": "3"}
    assert not is_stale([{"name": "entities", "version": "3 (first 200000 of 250000 characters)"}], current)


def test_stale_ids_of_search_hits() -> None:
    current = current_versions()
    fresh = [{"name": name, "version": version} for name, version in current.items()]
    hits = [
        {"_id": "fresh", "_source": {"enrichers": fresh}},
        {"_id": "old", "_source": {"enrichers": [{**fresh[0], "version": "0"}, *fresh[1:]]}},
        {"_id": "none", "_source": {}},
    ]
    assert stale_ids(hits, current) == ["old", "none"]
    assert "near_duplicates" in current


def _run(subset: Subset) -> Run:
    return Run(
        run_id="r1",
        alias="articles",
        next_alias="articles-next",
        old_indexes=("articles-v1",),
        new_index="articles-v2",
        archive_topic="articles.ingested",
        subset=subset,
        rate=100,
        workers=4,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_run_routes_enrich_to_its_own_group_and_topic_at_its_share_of_the_rate() -> None:
    route = enrich_route("newswire-enrich", "articles.ingested", "articles.enriched", 0, _run(Subset()))
    assert route.app_id == "newswire-reprocess-r1-enrich"
    assert (route.input_topic, route.output_topic) == ("articles.ingested", "articles.reprocess.r1")
    assert route.subset is None and route.rate == 25
    live = enrich_route("newswire-enrich", "articles.ingested", "articles.enriched", 0, None)
    assert live.app_id == "newswire-enrich" and live.rate == 0


def test_selected_reads_the_archived_article_and_lets_unreadable_records_through() -> None:
    subset = Subset(source="Example News")
    chosen = ArticleIngested(**new_envelope_fields("ingest", None), article=article())
    other = ArticleIngested(**new_envelope_fields("ingest", None), article=article(source="Other"))
    assert selected(subset, record(orjson.dumps(chosen.model_dump(mode="json"))))
    assert not selected(subset, record(orjson.dumps(other.model_dump(mode="json"))))
    assert selected(subset, record(b"{not json"))  # the enrich handler dead-letters it
    assert selected(None, record(b"anything"))
