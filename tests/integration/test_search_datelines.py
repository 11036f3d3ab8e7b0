"""Searching by dateline, as a client and a CLI user see it: a real ``python -m services.search`` and a real
``newswire search`` process over a throwaway index (the real template) in the session's Elasticsearch.

The articles are hand-made enriched stories: two filed in the United States (Martinsville, Virginia and
Milwaukee, Wisconsin), one filed in London that is about Martinsville, and one with no dateline that
names Martinsville in its first words, so that a dateline filter cannot pass by matching the text or
the places an article names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import Elasticsearch

from schemas.articles import Dateline, EnrichedArticle, GeoPoint, Place
from tests.integration.search_server import REPO_ROOT, SearchService, running_search_service, throwaway_index
from tests.unit.index.factories import enriched_article

pytestmark = pytest.mark.integration

MARTINSVILLE = Dateline(
    name="Martinsville",
    region="Virginia",
    country="US",
    location=GeoPoint(lat=36.69, lon=-79.87),
    text="MARTINSVILLE, Va., Feb 26",
)
MILWAUKEE = Dateline(
    name="Milwaukee",
    region="Wisconsin",
    country="US",
    location=GeoPoint(lat=43.04, lon=-87.91),
    text="MILWAUKEE, Wis., March 2",
)
LONDON = Dateline(
    name="London", country="GB", location=GeoPoint(lat=51.51, lon=-0.13), text="LONDON (Reuters)"
)


def story(title: str, lead: str, dateline: Dateline | None, **fields: Any) -> EnrichedArticle:
    return enriched_article(
        title=title,
        paragraphs=[lead, "The company said more details would follow next week."],
        source="Reuters",
        section="Business",
        published_at=datetime(1987, 2, 26, 9, 0, tzinfo=UTC),
        dateline=dateline,
        **fields,
    )


TULTEX = story(
    "Tultex sees higher earnings",
    "MARTINSVILLE, Va., Feb 26 - Tultex Corp said its first quarter earnings would rise.",
    MARTINSVILLE,
    countries=["US"],
)
BREWER = story(
    "Brewer raises prices",
    "MILWAUKEE, Wis., March 2 - The brewer said it would raise prices and earnings would rise.",
    MILWAUKEE,
    countries=["US"],
)
ABOUT_MARTINSVILLE = story(
    "British buyer eyes Martinsville textile maker",
    "LONDON (Reuters) - A British group said it would bid for a textile maker based in Martinsville.",
    LONDON,
    places=[Place(name="Martinsville", kind="city", country_codes=["US"])],
    countries=["GB", "US"],
)
NO_DATELINE = story(
    "Martinsville mill reopens",
    "Martinsville's oldest mill reopened on Thursday and its earnings would rise, the owners said.",
    None,
    countries=["US"],
)
ARTICLES = (TULTEX, BREWER, ABOUT_MARTINSVILLE, NO_DATELINE)


@pytest.fixture(scope="module")
def search_index(es: Elasticsearch) -> Iterator[str]:
    with throwaway_index(es, ARTICLES, "newswire-test-search-datelines") as name:
        yield name


@pytest.fixture(scope="module")
def service(search_index: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    with running_search_service(
        {"NEWSWIRE_SEARCH_INDEX": search_index}, tmp_path_factory.mktemp("search-datelines")
    ) as svc:
        yield svc


def search(service: SearchService, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/search", params=params, timeout=30)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def ids(page: dict[str, Any]) -> set[str]:
    return {hit["id"] for hit in page["hits"]}


def newswire_search(index: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "search", *args, "--index", index],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


@pytest.mark.parametrize("city", ["Martinsville", "martinsville", "MARTINSVILLE"])
def test_the_api_filters_by_dateline_city_in_any_case(service: SearchService, city: str) -> None:
    page = search(service, dateline=city)

    # Not the London story about Martinsville, nor the one naming it without a dateline.
    assert ids(page) == {TULTEX.id}
    assert page["total"] == 1


def test_the_api_filters_by_dateline_country_and_with_words(service: SearchService) -> None:
    assert ids(search(service, dateline_country="us")) == {TULTEX.id, BREWER.id}
    assert ids(search(service, dateline_country="GB")) == {ABOUT_MARTINSVILLE.id}
    assert ids(search(service, q="earnings", dateline_country="US")) == {TULTEX.id, BREWER.id}
    assert ids(search(service, q="earnings", dateline="Milwaukee", dateline_country="US")) == {BREWER.id}
    assert ids(search(service, dateline="Milwaukee", dateline_country="GB")) == set()
    # The place filter still finds every article naming the city, the dateline's or not.
    assert ids(search(service, place="Martinsville")) == {TULTEX.id, ABOUT_MARTINSVILLE.id}


def test_a_hit_carries_its_dateline_and_the_facet_counts_cities(service: SearchService) -> None:
    page = search(service, q="earnings")

    datelines = {hit["id"]: hit["dateline"] for hit in page["hits"]}
    assert datelines[TULTEX.id] == MARTINSVILLE.model_dump(mode="json")
    assert datelines[BREWER.id] == MILWAUKEE.model_dump(mode="json")
    assert datelines[NO_DATELINE.id] is None
    assert {(f["value"], f["count"]) for f in page["facets"]["datelines"]} == {
        ("Martinsville", 1),
        ("Milwaukee", 1),
    }
    article = httpx.get(f"{service.url}/articles/{TULTEX.id}", timeout=30).json()
    assert article["dateline"] == MARTINSVILLE.model_dump(mode="json")


def test_a_bad_dateline_country_is_refused_naming_the_parameter(service: SearchService) -> None:
    response = httpx.get(f"{service.url}/search", params={"dateline_country": "USA"}, timeout=30)

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == ["dateline_country"]


def test_the_cli_filters_by_dateline_and_shows_it(search_index: str) -> None:
    result = newswire_search(search_index, "--dateline", "martinsville", "--json")

    assert result.returncode == 0, result.stderr
    output = orjson.loads(result.stdout)
    assert [hit["id"] for hit in output["hits"]] == [TULTEX.id]
    assert output["hits"][0]["dateline"] == MARTINSVILLE.model_dump(mode="json")

    result = newswire_search(search_index, "earnings", "--dateline-country", "us", "--json")

    assert result.returncode == 0, result.stderr
    output = orjson.loads(result.stdout)
    assert {hit["id"] for hit in output["hits"]} == {TULTEX.id, BREWER.id}
    assert {bucket["value"] for bucket in output["facets"]["datelines"]} == {"Martinsville", "Milwaukee"}

    text = newswire_search(search_index, "earnings", "--dateline", "MILWAUKEE")

    assert text.returncode == 0, text.stderr
    assert "Brewer raises prices" in text.stdout and "Tultex" not in text.stdout
    assert "filed in Milwaukee, Wisconsin, US" in text.stdout
