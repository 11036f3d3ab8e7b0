"""The search API as a client sees it: a real ``python -m services.search`` over a real Elasticsearch.

The archive is a throwaway index made from the real template, holding hand-made enriched articles
(built with :func:`schemas.search_index.document_from`, as the index service does): a summit story,
its near-copy, another summit, a trade story and a run of 25 harvest reports over three months for
paging, sorting, the month facet and "more like this".
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from schemas.articles import EnrichedArticle, Entity, EntityType, GeoPoint, Place, Quote
from services.search.models import MAX_QUERY_CHARS
from services.search.query import MAX_PAGE_SIZE, MAX_RESULT_WINDOW
from tests.integration.search_server import SearchService, running_search_service, throwaway_index
from tests.unit.index.factories import enriched_article

XI, PUTIN = "Xi Jinping", "Vladimir Putin"
SCO = "Shanghai Cooperation Organization"
HARVESTS = 25
#: A site allowed to call the API from its pages (NEWSWIRE_SEARCH_CORS_ORIGINS).
NEWSROOM = "https://newsroom.example"


def person(name: str) -> Entity:
    return Entity(name=name, type=EntityType.PERSON, mentions=2, first_offset=0)


def enriched(**fields: Any) -> EnrichedArticle:
    """An enriched article of the World section, published 3 July 2024 by Example News."""
    defaults = {
        "section": "World",
        "source": "Example News",
        "published_at": datetime(2024, 7, 3, 9, 30, tzinfo=UTC),
    }
    return enriched_article(**{**defaults, **fields})


SUMMIT = enriched(
    title="Putin, Xi meet at Central Asian summit",
    paragraphs=[
        "Vladimir Putin and Xi Jinping met at the summit of the Shanghai Cooperation Organization in Astana.",
        "Xi told Putin the two sides should uphold the original aspiration of friendship for generations.",
    ],
    section="Russia",
    source="Press TV",
    entities=[
        person(PUTIN),
        person(XI),
        Entity(name=SCO, type=EntityType.ORGANIZATION, mentions=1, first_offset=60),
    ],
    places=[Place(name="Astana", kind="city", country_codes=["KZ"], location=GeoPoint(lat=51.17, lon=71.45))],
    countries=["KZ", "CN", "RU"],
    primary_country="KZ",
    keywords=["summit", "friendship"],
    summary="Vladimir Putin and Xi Jinping met at the summit in Astana.",
    quotes=[
        Quote(
            text="the two sides should uphold the original aspiration of friendship for generations to come",
            speaker=XI,
            speaker_type=EntityType.PERSON,
            offset=120,
        ),
        Quote(text="relations are at their best period in history", speaker=PUTIN, offset=10),
    ],
)
SUMMIT_COPY = enriched(
    title="Putin and Xi hold talks at summit",
    paragraphs=list(SUMMIT.paragraphs),
    entities=list(SUMMIT.entities),
    countries=["KZ"],
    quotes=list(SUMMIT.quotes),
    duplicate_of=SUMMIT.id,
)
OTHER_SUMMIT = enriched(
    title="Leaders praise friendship at a summit on trade",
    paragraphs=[
        "Vladimir Putin spoke of friendship at the summit; Xi Jinping spoke about trade and tariffs."
    ],
    published_at=datetime(2024, 6, 15, 8, 0, tzinfo=UTC),
    entities=[person(PUTIN), person(XI)],
    countries=["RU"],
    quotes=[
        Quote(text="our friendship has no limits", speaker=PUTIN, offset=0),
        Quote(text="trade must stay open to everyone", speaker=XI, offset=40),
    ],
)
TRADE = enriched(
    title="Trade body warns of slower growth",
    paragraphs=["The World Trade Organization said growth in goods trade would slow next year."],
    section="Business",
    published_at=datetime(2024, 5, 20, 8, 0, tzinfo=UTC),
    entities=[
        Entity(name="World Trade Organization", type=EntityType.ORGANIZATION, mentions=1, first_offset=4)
    ],
    countries=["US"],
)
# Day by day from 2024-03-01: March, April (a few) ... newest last.
HARVEST_START = datetime(2024, 3, 20, 6, 0, tzinfo=UTC)
HARVEST = [
    enriched(
        title=f"Harvest report {n}: wheat and barley yields in the valley",
        paragraphs=[
            f"Farmers in the valley brought in the wheat harvest on day {n}; barley yields rose again.",
            "The cooperative said grain prices held steady and the harvest would end before the rains.",
        ],
        section="Farming",
        source="Valley Courier",
        published_at=HARVEST_START + timedelta(days=2 * n),
        countries=["FR"],
    )
    for n in range(HARVESTS)
]
ARTICLES = (SUMMIT, SUMMIT_COPY, OTHER_SUMMIT, TRADE, *HARVEST)


@pytest.fixture(scope="module")
def search_index(es: Elasticsearch) -> Iterator[str]:
    with throwaway_index(es, ARTICLES, "newswire-test-search-api") as name:
        yield name


@pytest.fixture(scope="module")
def service(search_index: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    env = {"NEWSWIRE_SEARCH_INDEX": search_index, "NEWSWIRE_SEARCH_CORS_ORIGINS": NEWSROOM}
    with running_search_service(env, tmp_path_factory.mktemp("search")) as svc:
        yield svc


@pytest.fixture(scope="module")
def client(service: SearchService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        yield http


def search(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> set[str]:
    return {hit["id"] for hit in page["hits"]}


def invalid_fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {".".join(str(part) for part in problem["loc"][1:2]) for problem in response.json()["detail"]}


# -- searching ---------------------------------------------------------------------------------


def test_words_find_articles_with_highlights_and_facets(client: httpx.Client) -> None:
    page = search(client, q="summit")

    assert ids(page) == {SUMMIT.id, OTHER_SUMMIT.id}
    assert page["total"] == 2 and page["page"] == 1 and page["size"] == 10
    best = next(hit for hit in page["hits"] if hit["id"] == SUMMIT.id)
    assert "<em>summit</em>" in best["highlights"]["title"][0]
    assert best["source"] == "Press TV" and best["section"] == "Russia"
    assert best["published_at"].startswith("2024-07-03")
    assert best["summary"] == SUMMIT.summary
    people = {value["value"]: value["count"] for value in page["facets"]["people"]}
    assert people == {XI: 2, PUTIN: 2}
    assert page["facets"]["organizations"] == [{"value": SCO, "count": 1}]
    assert page["facets"]["places"] == [{"value": "Astana", "count": 1}]
    assert {value["value"] for value in page["facets"]["countries"]} == {"KZ", "CN", "RU"}
    assert page["facets"]["months"] == [{"value": "2024-07", "count": 1}, {"value": "2024-06", "count": 1}]


def test_an_exact_phrase_ranks_first(client: httpx.Client) -> None:
    page = search(client, q="friendship for generations", include_duplicates="true")

    assert page["hits"][0]["id"] in {SUMMIT.id, SUMMIT_COPY.id}
    assert OTHER_SUMMIT.id not in {hit["id"] for hit in page["hits"][:2]}


def test_a_search_nothing_fully_matches_is_relaxed_to_any_word(client: httpx.Client) -> None:
    assert search(client, q="summit")["relaxed"] is False

    page = search(client, q="harvest Kathmandu Himalaya glacier")

    assert page["relaxed"] is True
    assert page["total"] == HARVESTS and ids(page) <= {story.id for story in HARVEST}
    assert search(client, q="Kathmandu Himalaya glacier Everest")["total"] == 0


def test_filters_narrow_the_results(client: httpx.Client) -> None:
    assert ids(search(client, q="summit", person=[XI, PUTIN])) == {SUMMIT.id, OTHER_SUMMIT.id}
    assert ids(search(client, org=SCO)) == {SUMMIT.id}
    assert ids(search(client, place="Astana")) == {SUMMIT.id}
    assert ids(search(client, country="ru")) == {SUMMIT.id, OTHER_SUMMIT.id}
    assert ids(search(client, q="growth", section="Business")) == {TRADE.id}
    assert ids(search(client, source="Press TV")) == {SUMMIT.id}
    assert ids(search(client, q="summit", since="2024-07-01")) == {SUMMIT.id}
    assert ids(search(client, q="summit", until="2024-06-15")) == {OTHER_SUMMIT.id}
    assert ids(search(client, q="summit", until="2024-06-15T07:59:59Z")) == set()
    assert ids(search(client, q="summit", month="2024-06")) == {OTHER_SUMMIT.id}
    assert search(client, q="summit", language="de")["total"] == 0


def test_near_copies_only_when_asked(client: httpx.Client) -> None:
    page = search(client, q="summit", person=XI, include_duplicates="true")

    assert ids(page) == {SUMMIT.id, OTHER_SUMMIT.id, SUMMIT_COPY.id}
    [copy_hit] = [hit for hit in page["hits"] if hit["id"] == SUMMIT_COPY.id]
    assert copy_hit["duplicate_of"] == SUMMIT.id


def test_what_did_xi_say_about_friendship(client: httpx.Client) -> None:
    page = search(client, quote="friendship", speaker=XI)

    assert ids(page) == {SUMMIT.id}
    [quote] = page["hits"][0]["quotes"]
    assert quote["speaker"] == XI
    assert "<em>friendship</em>" in quote["highlight"]
    assert quote["text"] == SUMMIT.quotes[0].text


def test_quotes_by_speaker_alone_and_by_words_alone(client: httpx.Client) -> None:
    by_putin = search(client, speaker=PUTIN)
    assert ids(by_putin) == {SUMMIT.id, OTHER_SUMMIT.id}
    assert {quote["speaker"] for hit in by_putin["hits"] for quote in hit["quotes"]} == {PUTIN}
    by_words = search(client, quote="friendship")
    assert {quote["speaker"] for hit in by_words["hits"] for quote in hit["quotes"]} == {XI, PUTIN}


def test_pages_cover_every_match_once(client: httpx.Client) -> None:
    pages = [search(client, q="harvest", size=10, page=number) for number in (1, 2, 3)]

    assert [page["total"] for page in pages] == [HARVESTS] * 3
    assert [len(page["hits"]) for page in pages] == [10, 10, HARVESTS - 20]
    seen = [hit["id"] for page in pages for hit in page["hits"]]
    assert len(seen) == len(set(seen)) == HARVESTS
    assert set(seen) == {story.id for story in HARVEST}
    assert search(client, q="harvest", size=10, page=4)["hits"] == []


def test_sort_by_date_is_newest_first(client: httpx.Client) -> None:
    page = search(client, q="harvest", sort="date", size=MAX_PAGE_SIZE)

    dates = [hit["published_at"] for hit in page["hits"]]
    assert len(dates) == HARVESTS
    assert dates == sorted(dates, reverse=True)
    assert page["hits"][0]["id"] == HARVEST[-1].id


def test_no_words_lists_what_matches_the_filters_newest_first(client: httpx.Client) -> None:
    page = search(client, section="Farming", size=5)

    assert page["total"] == HARVESTS
    assert [hit["id"] for hit in page["hits"]] == [story.id for story in reversed(HARVEST[-5:])]


def test_the_month_facet_counts_and_filters(client: httpx.Client) -> None:
    months = search(client, q="harvest")["facets"]["months"]
    expected: dict[str, int] = {}
    for story in HARVEST:
        key = story.published_at.strftime("%Y-%m") if story.published_at else ""
        expected[key] = expected.get(key, 0) + 1
    assert {value["value"]: value["count"] for value in months} == expected
    assert [value["value"] for value in months] == sorted(expected, reverse=True)
    newest = months[0]
    assert search(client, q="harvest", month=newest["value"])["total"] == newest["count"]


# -- articles ----------------------------------------------------------------------------------


def test_an_article_is_the_whole_enriched_document(client: httpx.Client) -> None:
    response = client.get(f"/articles/{SUMMIT.id}")

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["id"] == SUMMIT.id and document["title"] == SUMMIT.title
    assert document["body"] == SUMMIT.body
    assert document["people"] == [PUTIN, XI]
    assert document["place_names"] == ["Astana"]
    assert document["countries"] == ["KZ", "CN", "RU"]
    assert [(quote["speaker"], quote["text"]) for quote in document["quotes"]] == [
        (quote.speaker, quote.text) for quote in SUMMIT.quotes
    ]
    assert document["keywords"] == ["summit", "friendship"] and document["summary"] == SUMMIT.summary


def test_an_unknown_article_is_404_and_a_malformed_id_422(client: httpx.Client) -> None:
    missing = uuid.uuid4().hex
    for path in (f"/articles/{missing}", f"/articles/{missing}/related"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert missing in response.json()["detail"]
    assert invalid_fields(client.get("/articles/not-an-id")) == {"article_id"}
    assert invalid_fields(client.get(f"/articles/{SUMMIT.id.upper()}/related")) == {"article_id"}


def test_related_articles_are_like_it_and_never_itself(client: httpx.Client) -> None:
    story = HARVEST[3]
    response = client.get(f"/articles/{story.id}/related", params={"size": 5})

    assert response.status_code == 200, response.text
    related = response.json()
    assert len(related) == 5
    assert story.id not in {hit["id"] for hit in related}
    assert {hit["id"] for hit in related} <= {other.id for other in HARVEST}
    assert invalid_fields(client.get(f"/articles/{story.id}/related", params={"size": 0})) == {"size"}


def test_related_leaves_out_near_copies(client: httpx.Client) -> None:
    response = client.get(f"/articles/{SUMMIT.id}/related")

    assert response.status_code == 200, response.text
    assert SUMMIT_COPY.id not in {hit["id"] for hit in response.json()}


# -- bad input, limits, failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"size": MAX_PAGE_SIZE + 1}, "size"),
        ({"size": 10, "page": MAX_RESULT_WINDOW // 10 + 1}, "page"),
        ({"sort": "popularity"}, "sort"),
        ({"since": "last week"}, "since"),
        ({"month": "2024-13"}, "month"),
        ({"country": "Russia"}, "country"),
        ({"q": "x" * (MAX_QUERY_CHARS + 1)}, "q"),
        ({"include_duplicates": "sometimes"}, "include_duplicates"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.Client, params: dict[str, Any], field: str
) -> None:
    response = client.get("/search", params=params)

    assert invalid_fields(response) == {field}
    assert all(problem["msg"] for problem in response.json()["detail"])


def test_the_deepest_page_is_served(client: httpx.Client) -> None:
    page = search(client, q="harvest", size=MAX_PAGE_SIZE, page=MAX_RESULT_WINDOW // MAX_PAGE_SIZE)

    assert page["hits"] == [] and page["total"] == HARVESTS


def test_ready_and_alive(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.text.strip() == "ready"


def test_metrics_count_requests_by_route_and_status(client: httpx.Client) -> None:
    search(client, q="summit")
    client.get("/search", params={"page": 0})
    client.get(f"/articles/{uuid.uuid4().hex}")

    text = client.get("/metrics").text

    def count(route: str, status: int) -> float:
        prefix = f'newswire_search_http_requests_total{{method="GET",route="{route}",status="{status}"}} '
        line = next((line for line in text.splitlines() if line.startswith(prefix)), None)
        assert line is not None, f"no {prefix} in /metrics"
        return float(line.split()[-1])

    assert count("/search", 200) >= 1
    assert count("/search", 422) >= 1
    assert count("/articles/{article_id}", 404) >= 1
    assert 'newswire_search_http_request_seconds_bucket{le="0.5",route="/search",status="200"}' in text
    assert 'newswire_service_info{service="search"} 1.0' in text


def test_browsers_let_only_the_configured_sites_read_the_api(client: httpx.Client) -> None:
    allowed = client.get("/search", params={"q": "summit"}, headers={"Origin": NEWSROOM})
    assert allowed.headers.get("access-control-allow-origin") == NEWSROOM
    other = client.get("/search", params={"q": "summit"}, headers={"Origin": "https://elsewhere.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    preflight = client.options(
        "/search", headers={"Origin": NEWSROOM, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400, "the API only reads"


def test_openapi_documents_every_endpoint_and_parameter(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()

    assert {"/search", "/articles/{article_id}", "/articles/{article_id}/related", "/readyz"} <= set(
        spec["paths"]
    )
    search_op = spec["paths"]["/search"]["get"]
    parameters = {parameter["name"]: parameter for parameter in search_op["parameters"]}
    assert {
        "q",
        "person",
        "org",
        "place",
        "country",
        "quote",
        "speaker",
        "sort",
        "page",
        "size",
        "month",
    } <= set(parameters)
    assert all(parameter.get("description") for parameter in parameters.values())
    assert {"200", "422", "503", "504"} <= set(search_op["responses"])
    article_op = spec["paths"]["/articles/{article_id}"]["get"]
    assert article_op["responses"]["200"]["content"]["application/json"]["example"]["quotes"]
    assert client.get("/docs").status_code == 200


def test_a_missing_index_is_503_and_not_ready(tmp_path: Path) -> None:
    env = {"NEWSWIRE_SEARCH_INDEX": f"newswire-test-missing-{uuid.uuid4().hex[:8]}"}
    with running_search_service(env, tmp_path) as svc, httpx.Client(base_url=svc.url, timeout=30) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 503 and "does not exist" in ready.text
        response = http.get("/search", params={"q": "summit"})
        assert response.status_code == 503
        assert "does not exist" in response.json()["detail"]
        assert http.get("/healthz").status_code == 200


def test_elasticsearch_down_is_503_with_a_clear_message(tmp_path: Path) -> None:
    # Port 9 (discard) has no listener here: every connection is refused at once.
    env = {"NEWSWIRE_ES_URL": "http://127.0.0.1:9", "NEWSWIRE_SEARCH_STARTUP_TIMEOUT_S": "0"}
    with running_search_service(env, tmp_path) as svc, httpx.Client(base_url=svc.url, timeout=30) as http:
        response = http.get("/search", params={"q": "summit"})
        assert response.status_code == 503, response.text
        assert "Elasticsearch is not reachable at http://127.0.0.1:9" in response.json()["detail"]
        assert http.get(f"/articles/{SUMMIT.id}").status_code == 503
        ready = http.get("/readyz")
        assert ready.status_code == 503 and "not reachable" in ready.text
        assert http.get("/healthz").status_code == 200


@pytest.fixture
def silent_elasticsearch() -> Iterator[str]:
    """A listener that accepts connections and never answers: an Elasticsearch hung mid-search."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()


def test_a_slow_search_times_out_with_504(tmp_path: Path, silent_elasticsearch: str) -> None:
    env = {
        "NEWSWIRE_ES_URL": silent_elasticsearch,
        "NEWSWIRE_SEARCH_STARTUP_TIMEOUT_S": "0",
        "NEWSWIRE_SEARCH_QUERY_TIMEOUT_S": "0.5",
        "NEWSWIRE_SEARCH_SLOW_REQUEST_LOG_S": "0.2",
    }
    with running_search_service(env, tmp_path) as svc, httpx.Client(base_url=svc.url, timeout=60) as http:
        response = http.get("/search", params={"q": "summit"})

        assert response.status_code == 504, response.text
        assert "longer than 0.5s" in response.json()["detail"]
        assert http.get("/healthz").status_code == 200
        slow = [json.loads(line) for line in svc.log_text().splitlines() if '"slow request"' in line]
        assert [(entry["route"], entry["status"]) for entry in slow] == [("/search", 504)]
        assert slow[0]["query"] == "q=summit" and slow[0]["level"] == "warning"
