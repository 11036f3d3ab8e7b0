"""Datelines in the index: enriched wire stories in a throwaway index made from the real template.

The articles go through the real enrichers and :func:`schemas.search_index.document_from`, so the
strict mapping, the document shape and the dateline fields (``dateline.name``, ``dateline.region``,
``dateline.country`` keywords and ``dateline.location`` geo_point) are exercised together, and then
searched by dateline through a real search service and ``newswire search``. The index has a unique
name and is deleted afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import Elasticsearch

from services.enrich.pipeline import enrich
from tests.integration.search_server import REPO_ROOT, SearchService, running_search_service, throwaway_index
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


@pytest.fixture(scope="module")
def service(
    dateline_index: tuple[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchService]:
    index, _ = dateline_index
    with running_search_service(
        {"NEWSWIRE_SEARCH_INDEX": index}, tmp_path_factory.mktemp("datelines")
    ) as svc:
        yield svc


def test_enriched_datelines_filter_searches_and_show_in_hits(
    service: SearchService, dateline_index: tuple[str, dict[str, str]]
) -> None:
    index, ids = dateline_index

    def api(**params: str) -> dict[str, Any]:
        response = httpx.get(f"{service.url}/search", params=params, timeout=30)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    page = api(dateline="milwaukee")
    assert [hit["id"] for hit in page["hits"]] == [ids["milwaukee"]]
    filed = page["hits"][0]["dateline"]
    assert (filed["name"], filed["region"], filed["country"]) == ("Milwaukee", "Wisconsin", "US")
    assert {hit["id"] for hit in api(dateline_country="us")["hits"]} == {
        ids["martinsville"],
        ids["milwaukee"],
    }
    assert {hit["id"] for hit in api(dateline="London", dateline_country="GB")["hits"]} == {ids["london"]}
    cities = {bucket["value"] for bucket in api()["facets"]["datelines"]}
    assert cities == {"Martinsville", "Milwaukee", "London"}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "search",
            "--dateline",
            "MARTINSVILLE",
            "--json",
            "--index",
            index,
        ],
        capture_output=True,
        timeout=120,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr.decode()
    [hit] = orjson.loads(result.stdout)["hits"]
    assert hit["id"] == ids["martinsville"]
    assert (hit["dateline"]["name"], hit["dateline"]["country"]) == ("Martinsville", "US")
