"""The web page's pure parts: highlights rendered safely, filter links, paging, labels."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import ValidationError

from schemas.articles import Dateline
from services.search.models import FacetValue, Hit, SearchPage, SearchParams
from services.search.web import (
    country_name,
    highlight,
    nice_date,
    nice_month,
    page_numbers,
    paragraphs_of,
    params_data,
    places_of,
    problems,
    query_pairs,
    search_response,
    value_label,
    with_page,
    with_value,
    without_value,
)


def pairs_of(link: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(link).query)


def test_highlight_marks_the_em_pairs_and_escapes_everything_else() -> None:
    fragment = 'The <em>summit</em> <script>alert("x")</script> & <b>more</b> <em>Astana</em>'

    html = str(highlight(fragment))

    assert html == (
        "The <mark>summit</mark> &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; "
        "&lt;b&gt;more&lt;/b&gt; <mark>Astana</mark>"
    )


def test_highlight_escapes_markup_inside_a_mark_and_an_unclosed_em() -> None:
    assert str(highlight("<em><img src=x onerror=1></em> and <em>open")) == (
        "<mark>&lt;img src=x onerror=1&gt;</mark> and &lt;em&gt;open"
    )
    assert str(highlight(None)) == ""


def test_empty_form_fields_and_unknown_parameters_are_dropped() -> None:
    query = [("q", " summit "), ("quote", ""), ("since", " "), ("person", "Xi Jinping"), ("utm_source", "x")]

    assert query_pairs(query) == [("q", "summit"), ("person", "Xi Jinping")]


def test_repeatable_filters_add_and_single_ones_replace_back_to_page_one() -> None:
    pairs = [("q", "summit"), ("person", "Xi Jinping"), ("section", "World"), ("page", "3")]

    assert pairs_of(with_value(pairs, "person", "Vladimir Putin")) == [
        ("q", "summit"),
        ("person", "Xi Jinping"),
        ("section", "World"),
        ("person", "Vladimir Putin"),
    ]
    assert pairs_of(with_value(pairs, "section", "Russia")) == [
        ("q", "summit"),
        ("person", "Xi Jinping"),
        ("section", "Russia"),
    ]
    assert pairs_of(without_value(pairs, "person", "Xi Jinping")) == [("q", "summit"), ("section", "World")]
    assert without_value([("person", "Xi Jinping")], "person") == "/"


def test_page_links_keep_the_search_and_page_one_has_no_page_parameter() -> None:
    pairs = [("q", "summit"), ("page", "2")]

    assert pairs_of(with_page(pairs, 3)) == [("q", "summit"), ("page", "3")]
    assert pairs_of(with_page(pairs, 1)) == [("q", "summit")]


@pytest.mark.parametrize(
    ("page", "last", "expected"),
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 20, [1, 2, 3, 4, None, 20]),
        (10, 20, [1, None, 7, 8, 9, 10, 11, 12, 13, None, 20]),
        (20, 20, [1, None, 17, 18, 19, 20]),
    ],
)
def test_page_numbers_show_a_window_with_first_and_last(
    page: int, last: int, expected: list[int | None]
) -> None:
    assert page_numbers(page, last) == expected


def test_the_query_string_validates_as_search_params() -> None:
    pairs = query_pairs(
        [("q", "summit"), ("person", "Xi Jinping"), ("person", "Vladimir Putin"), ("page", "2")]
    )

    params = SearchParams.model_validate(params_data(pairs))

    assert params.person == ["Xi Jinping", "Vladimir Putin"]
    assert params.page == 2


def test_invalid_parameters_are_named_in_plain_sentences() -> None:
    with pytest.raises(ValidationError) as error:
        SearchParams.model_validate(params_data([("since", "last week"), ("size", "500")]))

    messages = problems(error.value)

    assert messages[0] == "since: must be a date (2024-07-03) or an ISO 8601 timestamp"
    assert messages[1].startswith("size: ")


def test_labels_for_countries_months_and_dates() -> None:
    assert country_name("kz") == "Kazakhstan"
    assert country_name("RU") == "Russia"
    assert country_name("IR") == "Iran"
    assert country_name("XX") == "XX"
    assert nice_month("2024-07") == "July 2024"
    assert nice_date("2024-07-03T09:30:00Z") == "3 July 2024"
    assert nice_date("not a date") == "not a date"


def test_paragraphs_come_from_the_stored_body() -> None:
    assert paragraphs_of({"body": "First.\n\nSecond.\n\n\n\nThird."}) == ["First.", "Second.", "Third."]


def test_places_list_resolved_places_then_other_place_entities_once() -> None:
    document = {
        "places": [
            {"name": "Astana", "kind": "city", "country_codes": ["KZ"]},
            {"name": "Kazakhstan", "kind": "country", "country_codes": ["KZ"]},
        ],
        "entities": [
            {"name": "Astana", "type": "LOC"},
            {"name": "Central Asia", "type": "LOC"},
            {"name": "Xi Jinping", "type": "PER"},
        ],
    }

    assert places_of(document) == [
        {"name": "Astana", "countries": ["KZ"]},
        {"name": "Kazakhstan", "countries": []},
        {"name": "Central Asia", "countries": []},
    ]


def dateline_page() -> SearchPage:
    """A page with one hit filed from Martinsville, Virginia, and the dateline facet."""
    hit = Hit(
        id="a" * 32,
        score=None,
        title="Tultex sees higher earnings",
        section=None,
        source="Reuters",
        url=None,
        published_at="1987-02-26T00:00:00Z",
        summary=None,
        duplicate_of=None,
        dateline=Dateline(name="Martinsville", region="Virginia", country="US", text="MARTINSVILLE, Va."),
    )
    facets = {
        "datelines": [FacetValue(value="Martinsville", count=1), FacetValue(value="Milwaukee", count=1)]
    }
    return SearchPage(total=1, page=1, size=10, took_ms=1, hits=[hit], facets=facets)


def rendered(pairs: list[tuple[str, str]]) -> str:
    """The search page's HTML for ``pairs`` over :func:`dateline_page`."""
    return bytes(search_response(pairs, params_data(pairs), dateline_page(), []).body).decode()


def test_a_dateline_chosen_in_another_case_is_shown_chosen_and_removable() -> None:
    pairs = [("q", "earnings"), ("dateline", "martinsville"), ("dateline_country", "us")]

    html = rendered(pairs)

    chosen = html.split('class="facet__link is-active"')
    assert len(chosen) == 2, "one facet value chosen"
    assert 'href="/?q=earnings&amp;dateline_country=us"' in chosen[0].rsplit("<a ", 1)[1]
    assert "Martinsville" in chosen[1].split("</a>")[0]
    assert (
        'href="/?q=earnings&amp;dateline=martinsville&amp;dateline_country=us&amp;dateline=Milwaukee"'
        not in html
    )
    assert 'href="/?q=earnings&amp;dateline_country=us&amp;dateline=Milwaukee"' in html, (
        "a city replaces the other"
    )
    assert 'aria-label="Remove filter Dateline: martinsville"' in html
    assert 'aria-label="Remove filter Dateline country: United States"' in html


def test_a_hit_shows_where_it_was_filed_with_links_that_filter() -> None:
    html = rendered([])

    filed = html.split('class="hit__dateline"')[1].split("</span>")[0]
    assert filed.startswith('>Filed in <a href="/?dateline=Martinsville"')
    assert '>Martinsville</a>, Virginia, <a href="/?dateline_country=US"' in filed
    assert filed.endswith(">United States</a>")
    assert value_label("dateline_country", "us") == "United States"
