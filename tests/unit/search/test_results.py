"""Elasticsearch's answer read as the API's hits, quotes, facets and pages."""

from __future__ import annotations

from typing import Any

from services.search.models import FacetValue, QuoteHit
from services.search.results import hit_from, page_from

QUOTE_HIT: dict[str, Any] = {
    "_id": "a" * 32,
    "_score": 2.5,
    "_source": {"id": "a" * 32, "title": "Summit", "url": "https://example.com/a"},
    "inner_hits": {
        "quotes": {
            "hits": {
                "hits": [
                    {
                        "_source": {"text": "friendship for generations", "speaker": "Xi Jinping"},
                        "highlight": {"quotes.text": ["<em>friendship</em> for generations"]},
                    },
                    {"_source": {"text": "no marks", "speaker": None}},
                ]
            }
        }
    },
}


def test_a_quote_hit_keeps_its_marks_and_an_unmarked_quote_its_text() -> None:
    hit = hit_from(QUOTE_HIT)

    assert hit.quotes == [
        QuoteHit(
            text="friendship for generations",
            speaker="Xi Jinping",
            highlight="<em>friendship</em> for generations",
        ),
        QuoteHit(text="no marks", speaker=None, highlight="no marks"),
    ]
    assert (hit.id, hit.score, hit.url) == ("a" * 32, 2.5, "https://example.com/a")


def test_the_canonical_url_stands_in_for_a_missing_url() -> None:
    hit = hit_from({"_id": "b" * 32, "_score": None, "_source": {"canonical_url": "https://example.com/b"}})

    assert hit.url == "https://example.com/b" and hit.score is None and hit.id == "b" * 32


def test_a_page_has_the_total_the_hits_and_every_facet() -> None:
    response = {
        "took": 7,
        "hits": {"total": {"value": 41, "relation": "eq"}, "hits": [QUOTE_HIT]},
        "aggregations": {
            "people": {"buckets": [{"key": "Xi Jinping", "doc_count": 3}]},
            "months": {"buckets": [{"key_as_string": "2024-07", "key": 0, "doc_count": 2}]},
        },
    }

    page = page_from(response, page=5, size=10)

    assert (page.total, page.page, page.size, page.took_ms) == (41, 5, 10, 7)
    assert [hit.id for hit in page.hits] == ["a" * 32]
    assert page.facets["people"] == [FacetValue(value="Xi Jinping", count=3)]
    assert page.facets["months"] == [FacetValue(value="2024-07", count=2)]
    assert page.facets["sources"] == []


def test_a_hit_carries_its_dateline_and_the_dateline_facet_is_listed() -> None:
    dateline = {
        "name": "Martinsville",
        "region": "Virginia",
        "country": "US",
        "location": {"lat": 36.69, "lon": -79.87},
        "text": "MARTINSVILLE, Va., Feb 26",
    }
    filed = {"_id": "c" * 32, "_score": 1.0, "_source": {"id": "c" * 32, "dateline": dateline}}
    response = {
        "hits": {"total": {"value": 2, "relation": "eq"}, "hits": [filed, QUOTE_HIT]},
        "aggregations": {"datelines": {"buckets": [{"key": "Martinsville", "doc_count": 1}]}},
    }

    page = page_from(response, page=1, size=10)

    first, second = page.hits
    assert first.dateline is not None and first.dateline.model_dump(mode="json") == dateline
    assert second.dateline is None
    assert page.facets["datelines"] == [FacetValue(value="Martinsville", count=1)]
