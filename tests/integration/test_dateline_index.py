"""Datelines in the index: enriched wire stories in a throwaway index made from the real template.

The articles go through the real enrichers and :func:`schemas.search_index.document_from`, so the
strict mapping, the document shape and the dateline fields (``dateline.name``, ``dateline.region``,
``dateline.country`` keywords and ``dateline.location`` geo_point) are exercised together. The index
has a unique name and is deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from services.enrich.pipeline import enrich
from tests.integration.search_server import throwaway_index
from tests.unit.enrich.factories import article

pytestmark = pytest.mark.integration

STORIES = {
    "martinsville": (
        "Tultex sees higher earnings",
        "MARTINSVILLE, Va., Feb 26 - Tultex Corp said its first quarter earnings would rise.",
    ),
    "milwaukee": (
        "Brewer raises prices",
        "MILWAUKEE, Wis., March 2 - The brewer said it would raise prices.",
    ),
    "london": ("Shares rise", "LONDON (Reuters) - Shares rose on Monday as the pound fell."),
    "plain": ("Summit ends", "The leaders of the regional bloc gathered in the capital on Wednesday."),
}


@pytest.fixture(scope="module")
def dateline_index(es: Elasticsearch) -> Iterator[tuple[str, dict[str, str]]]:
    stories = {
        key: enrich(article(title=title, paragraphs=[lead, "More follows."]))
        for key, (title, lead) in STORIES.items()
    }
    with throwaway_index(es, stories.values(), "newswire-test-datelines") as name:
        yield name, {key: story.id for key, story in stories.items()}


def hits(es: Elasticsearch, index: str, query: dict[str, Any]) -> set[str]:
    response = es.search(index=index, query=query, size=20)
    return {hit["_id"] for hit in response["hits"]["hits"]}


def test_dateline_country_and_name_are_terms(
    es: Elasticsearch, dateline_index: tuple[str, dict[str, str]]
) -> None:
    index, ids = dateline_index
    assert hits(es, index, {"term": {"dateline.country": "US"}}) == {ids["martinsville"], ids["milwaukee"]}
    assert hits(es, index, {"term": {"dateline.name": "Martinsville"}}) == {ids["martinsville"]}
    assert hits(es, index, {"term": {"dateline.region": "Wisconsin"}}) == {ids["milwaukee"]}
    assert hits(es, index, {"term": {"place_names": "London"}}) == {ids["london"]}
    assert hits(es, index, {"exists": {"field": "dateline.name"}}) == {
        ids["martinsville"],
        ids["milwaukee"],
        ids["london"],
    }


def test_dateline_location_is_a_geo_point(
    es: Elasticsearch, dateline_index: tuple[str, dict[str, str]]
) -> None:
    index, ids = dateline_index
    near_milwaukee = {
        "geo_distance": {"distance": "50km", "dateline.location": {"lat": 43.04, "lon": -87.91}}
    }
    assert hits(es, index, near_milwaukee) == {ids["milwaukee"]}
