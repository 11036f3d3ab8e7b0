"""Fuzzing the search API's query parameters and article ids against a real server and Elasticsearch.

Whatever a client sends, the answer is a result, 404 (an article id nobody has), or 422 naming
the parameter at fault; never a 5xx other than the documented 503 (Elasticsearch cannot answer)
and 504 (the search took too long), and the server logs no unexpected error.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.search.models import SearchPage, SearchParams
from tests.integration.search_server import SearchService, running_search_service, throwaway_index
from tests.integration.test_search_api import ARTICLES

DOCUMENTED_5XX = {503, 504}
#: Starlette redirects a path with a trailing slash (``/articles/x/``, from an id ending in "/") to the
#: path without it.
REDIRECT = 307
Primitive = str | int | float | bool | None
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

# Any Unicode a URL can carry (lone surrogates cannot be encoded as UTF-8 by any client).
unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
huge_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=400, max_size=3000)
big_numbers = st.integers(min_value=-(10**40), max_value=10**40).map(str)
floats = st.floats(allow_nan=True, allow_infinity=True).map(str)
zones = st.one_of(
    st.just(UTC),
    st.integers(min_value=-23 * 60, max_value=23 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
timestamps = st.datetimes(timezones=st.one_of(st.none(), zones)).map(lambda moment: moment.isoformat())
dates = st.dates().map(lambda day: day.isoformat())
months = st.tuples(st.integers(0, 10_000), st.integers(-1, 13)).map(lambda ym: f"{ym[0]:04d}-{ym[1]:02d}")
special = st.sampled_from(
    [
        "",
        " ",
        "true",
        "false",
        "1",
        "0",
        "-1",
        "1e9",
        "NaN",
        "relevance",
        "date",
        "2024-07",
        "2024-07-03",
        "2024-07-03T10:00:00Z",
        "2024-W27-3",
        "\x00",
        "*",
        '"',
        "\\",
        "a" * 10_000,
        "(",
        "Xi Jinping",
        "KZ",
        "/",
        "?",
        "&",
        "=",
        "<script>",
        "OR AND NOT",
    ]
)
values = st.one_of(unicode_text, huge_text, big_numbers, floats, timestamps, dates, months, special)
names = st.one_of(
    st.sampled_from(sorted(SearchParams.model_fields)),
    st.sampled_from(["unknown", "Q", "page[]", "", "person[0]"]),
    unicode_text,
)
query_params = st.lists(st.tuples(names, values), max_size=12)
# Mostly real parameter names, to get past the first refusal into the search itself.
valid_looking = st.lists(st.tuples(st.sampled_from(sorted(SearchParams.model_fields)), values), max_size=8)
raw_query = st.lists(st.tuples(st.binary(max_size=30), st.binary(max_size=60)), max_size=8).map(
    lambda pairs: "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs)
)
article_ids = st.one_of(
    st.sampled_from([story.id for story in ARTICLES]),
    unicode_text,
    st.text(alphabet="0123456789abcdef", min_size=30, max_size=34),
    st.text(alphabet=string.printable, max_size=600),
)


@pytest.fixture(scope="module")
def service(es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    with throwaway_index(es, ARTICLES, "newswire-test-search-fuzz") as index:
        env = {"NEWSWIRE_SEARCH_INDEX": index}
        with running_search_service(env, tmp_path_factory.mktemp("search-fuzz")) as svc:
            yield svc
            log = svc.log_text()
            assert "Traceback" not in log and '"level": "error"' not in log, log[-5000:]


@pytest.fixture(scope="module")
def client(service: SearchService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        yield http


def check(response: httpx.Response, allowed: set[int]) -> None:
    """A documented status; a 422 names a location for every problem; a 200 is a valid answer."""
    status = response.status_code
    event(f"status {status}")  # pytest --hypothesis-show-statistics: how many got past validation
    assert status in allowed | DOCUMENTED_5XX | {422}, (
        f"{status} for {response.request.url}: {response.text[:500]}"
    )
    if status == 422:
        problems = response.json()["detail"]
        assert problems, response.text
        for problem in problems:
            where, *field = problem["loc"]
            assert where in ("query", "path") and field and str(field[0]), problem
            assert problem["msg"], problem
    elif status in DOCUMENTED_5XX:
        assert response.json()["detail"], response.text


@FUZZ
@given(params=query_params)
def test_any_query_parameters(client: httpx.Client, params: list[tuple[str, Primitive]]) -> None:
    response = client.get("/search", params=httpx.QueryParams(params))

    check(response, {200})
    if response.status_code == 200:
        SearchPage.model_validate(response.json())


@FUZZ
@given(params=valid_looking)
def test_real_parameter_names_with_any_values(
    client: httpx.Client, params: list[tuple[str, Primitive]]
) -> None:
    response = client.get("/search", params=httpx.QueryParams(params))

    check(response, {200})
    if response.status_code == 200:
        page = SearchPage.model_validate(response.json())
        assert page.total >= len(page.hits)


@FUZZ
@given(query=raw_query)
def test_any_bytes_in_the_query_string(client: httpx.Client, query: str) -> None:
    check(client.get(f"/search?{query}"), {200})


@settings(max_examples=150, deadline=None, database=None)
@given(article_id=article_ids, size=st.one_of(st.none(), big_numbers, special))
def test_any_article_id(client: httpx.Client, article_id: str, size: str | None) -> None:
    path = quote(article_id, safe="")
    check(client.get(f"/articles/{path}"), {200, 404, REDIRECT})
    params: dict[str, Any] = {} if size is None else {"size": size}
    check(client.get(f"/articles/{path}/related", params=params), {200, 404, REDIRECT})
