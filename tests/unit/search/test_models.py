"""The search API's query-string parameters and how they become the request (pure logic)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from services.search.archive import request_for
from services.search.models import (
    FACET_PARAMS,
    MAX_QUERY_CHARS,
    MAX_VALUES,
    SearchParams,
)
from services.search.query import (
    DATE_FACET,
    FACETS,
    MAX_PAGE_SIZE,
    MAX_RESULT_WINDOW,
    QuoteQuery,
    SearchFilters,
    build_query,
)


def invalid_fields(**params: object) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        SearchParams.model_validate(params)
    return {str(error["loc"][0]) for error in raised.value.errors()}


def test_defaults_search_everything_first_page_by_relevance() -> None:
    params = SearchParams()

    assert (params.q, params.page, params.size, params.sort) == ("", 1, 10, "relevance")
    assert params.filters() == SearchFilters()
    assert params.quotes() is None
    assert params.offset() == 0


def test_every_filter_reaches_search_filters() -> None:
    params = SearchParams.model_validate(
        {
            "person": ["Xi Jinping", "Vladimir Putin"],
            "org": ["Shanghai Cooperation Organization"],
            "place": ["Astana"],
            "country": ["kz", "CN"],
            "dateline": " Martinsville ",
            "dateline_country": "us",
            "section": "World",
            "source": "Press TV",
            "language": "en",
            "since": "2024-07-01",
            "until": "2024-07-03T10:00:00Z",
            "include_duplicates": "true",
        }
    )

    assert params.filters() == SearchFilters(
        section="World",
        source="Press TV",
        language="en",
        since=date(2024, 7, 1),
        until=datetime(2024, 7, 3, 10, tzinfo=UTC),
        people=("Xi Jinping", "Vladimir Putin"),
        organizations=("Shanghai Cooperation Organization",),
        places=("Astana",),
        countries=("KZ", "CN"),
        dateline="Martinsville",
        dateline_country="US",
        include_duplicates=True,
    )


def test_a_month_is_its_first_to_last_day_and_narrows_since_and_until() -> None:
    assert SearchParams(month="2024-02").filters() == SearchFilters(
        since=date(2024, 2, 1), until=date(2024, 2, 29)
    )
    narrowed = SearchParams.model_validate({"month": "2024-07", "since": "2024-07-10", "until": "2024-09-01"})
    assert (narrowed.filters().since, narrowed.filters().until) == (date(2024, 7, 10), date(2024, 7, 31))
    wider = SearchParams.model_validate({"month": "2024-07", "since": "2024-01-01T00:00:00+02:00"})
    assert wider.filters().since == date(2024, 7, 1)


def test_quote_words_and_speaker_make_one_quote_query() -> None:
    assert SearchParams(quote=" friendship ", speaker="Xi Jinping").quotes() == QuoteQuery(
        text="friendship", speaker="Xi Jinping"
    )
    assert SearchParams(speaker="Xi Jinping").quotes() == QuoteQuery(text=None, speaker="Xi Jinping")
    assert SearchParams(quote="   ").quotes() is None


@pytest.mark.parametrize(
    ("page", "size", "offset"), [(1, 10, 0), (3, 10, 20), (10, 100, 900), (1000, 1, 999)]
)
def test_pages_turn_into_offsets_within_the_result_window(page: int, size: int, offset: int) -> None:
    params = SearchParams(page=page, size=size)

    assert params.offset() == offset
    body = build_query(params.q, params.filters(), size=params.size, offset=params.offset())
    assert (body["from"], body["size"]) == (offset, size)


def test_params_feed_build_query_unchanged() -> None:
    params = SearchParams.model_validate(
        {"q": "summit", "person": ["Xi Jinping"], "quote": "friendship", "sort": "date", "page": 2, "size": 5}
    )

    body = request_for(params)

    assert body == build_query(
        "summit",
        SearchFilters(people=("Xi Jinping",)),
        size=5,
        quotes=QuoteQuery(text="friendship"),
        offset=5,
        sort="date",
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"page": MAX_RESULT_WINDOW // 10 + 1, "size": 10}, "page"),
        ({"size": 0}, "size"),
        ({"size": MAX_PAGE_SIZE + 1}, "size"),
        ({"sort": "oldest"}, "sort"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"since": "2024-07-03T10:00:00+19:00"}, "since"),
        ({"month": "2024-7"}, "month"),
        ({"month": "0000-01"}, "month"),
        ({"country": ["Kazakhstan"]}, "country"),
        ({"dateline_country": "USA"}, "dateline_country"),
        ({"dateline": " "}, "dateline"),
        ({"dateline": "x" * 201}, "dateline"),
        ({"person": [""]}, "person"),
        ({"person": ["x"] * (MAX_VALUES + 1)}, "person"),
        ({"section": "x" * 201}, "section"),
        ({"q": "x" * (MAX_QUERY_CHARS + 1)}, "q"),
        ({"include_duplicates": "perhaps"}, "include_duplicates"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(params: dict[str, object], field: str) -> None:
    assert invalid_fields(**params) == {field}


def test_control_characters_in_the_words_become_spaces() -> None:
    assert SearchParams(q="Xi\x00Jinping\x1b", quote="a\x07b").q == "Xi Jinping "
    assert SearchParams(quote="a\x07b").quote == "a b"


def test_query_items_round_trip_without_defaults() -> None:
    params = SearchParams.model_validate(
        {"q": "summit", "person": ["Xi Jinping", "Vladimir Putin"], "since": "2024-07-01", "page": 2}
    )

    items = params.query_items()
    assert items == [
        ("q", "summit"),
        ("person", "Xi Jinping"),
        ("person", "Vladimir Putin"),
        ("since", "2024-07-01"),
        ("page", "2"),
    ]
    repeated = {"person"}
    again: dict[str, object] = {name: value for name, value in items if name not in repeated}
    again["person"] = [value for name, value in items if name == "person"]
    assert SearchParams.model_validate(again) == params
    assert urlencode(params.query_items(page=1, person=["Xi Jinping"])) == (
        "q=summit&person=Xi+Jinping&since=2024-07-01"
    )


def test_every_facet_filters_through_a_parameter() -> None:
    assert set(FACET_PARAMS) == {*FACETS, DATE_FACET}
    assert set(FACET_PARAMS.values()) <= set(SearchParams.model_fields)
