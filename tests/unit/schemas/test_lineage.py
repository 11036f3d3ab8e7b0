"""The lineage keyword field: one ``name@version`` term per enricher, counted by a terms aggregation."""

from __future__ import annotations

from schemas.articles import EnricherRun
from schemas.search_index import (
    LINEAGE_FIELD,
    document_from,
    index_template,
    lineage_aggregations,
    lineage_counts,
    lineage_of,
    lineage_term,
)
from tests.unit.index.factories import enriched_article


def test_a_partial_read_counts_as_its_enricher_version() -> None:
    assert lineage_term("entities", "2") == "entities@2"
    assert lineage_term("entities", "2 (first 200000 of 250000 characters)") == "entities@2"


def test_the_document_carries_one_sorted_term_per_enricher() -> None:
    runs = [EnricherRun(name="places", version="3"), EnricherRun(name="entities", version="2")]
    document = document_from(enriched_article(enrichers=runs), trace_id="t-1")
    assert document[LINEAGE_FIELD] == ["entities@2", "places@3"]
    assert lineage_of([*runs, runs[0]]) == ["entities@2", "places@3"]


def test_the_lineage_field_is_an_aggregatable_keyword() -> None:
    mapping = index_template()["template"]["mappings"]["properties"][LINEAGE_FIELD]
    assert mapping == {"type": "keyword"}  # doc values on: a terms aggregation needs no _source


def test_up_to_date_documents_carry_every_current_version() -> None:
    aggs = lineage_aggregations({"places": "3", "entities": "2"})
    terms = aggs["up_to_date"]["filter"]["bool"]["filter"]
    assert terms == [{"term": {LINEAGE_FIELD: "entities@2"}}, {"term": {LINEAGE_FIELD: "places@3"}}]
    assert "up_to_date" not in lineage_aggregations()


def test_counts_are_read_back_per_enricher_and_version() -> None:
    response = {
        "lineage": {
            "buckets": [{"key": "entities@2", "doc_count": 7}, {"key": "entities@1", "doc_count": 3}]
        },
        "without_lineage": {"doc_count": 4},
        "up_to_date": {"doc_count": 6},
    }
    counts = lineage_counts(response)
    assert counts.versions == {("entities", "2"): 7, ("entities", "1"): 3}
    assert (counts.without_lineage, counts.up_to_date) == (4, 6)
    del response["up_to_date"]
    assert lineage_counts(response).up_to_date is None
