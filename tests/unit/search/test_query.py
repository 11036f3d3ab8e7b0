"""The Elasticsearch request built for ``newswire search``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.search.query import (
    DATE_FACET,
    FACETS,
    MAX_PAGE_SIZE,
    PageOutOfRange,
    QuoteQuery,
    SearchFilters,
    build_query,
    facets_from,
    month_bounds,
    near_copies_query,
    parse_date,
    related_query,
)


def bool_query(body: dict) -> dict:
    query = body["query"]
    return query["function_score"]["query"]["bool"] if "function_score" in query else query["bool"]


def test_filters_become_term_and_range_filters() -> None:
    filters = SearchFilters(
        section="World",
        source="Press TV",
        language="en",
        since=date(2024, 7, 1),
        until=datetime(2024, 7, 31, 12, 0, tzinfo=UTC),
    )

    clauses = bool_query(build_query("Astana", filters))["filter"]

    assert {"term": {"section": "World"}} in clauses
    assert {"term": {"source": "Press TV"}} in clauses
    assert {"term": {"language": "en"}} in clauses
    assert {
        "range": {"published_at": {"gte": "2024-07-01||/d", "lte": "2024-07-31T12:00:00+00:00"}}
    } in clauses
    assert len(clauses) == 4


def test_only_given_filters_are_used() -> None:
    clauses = bool_query(build_query("Astana", SearchFilters(until=date(2024, 7, 3))))["filter"]

    assert clauses == [{"range": {"published_at": {"lte": "2024-07-03||/d"}}}]


def test_size_source_fields_and_highlighting() -> None:
    body = build_query("Astana", size=3)

    assert body["size"] == 3
    assert {"id", "title", "source", "section", "url", "published_at"} <= set(body["_source"])
    highlight = body["highlight"]
    assert highlight["pre_tags"] == ["<em>"] and highlight["post_tags"] == ["</em>"]
    assert set(highlight["fields"]) == {"title", "caption", "body"}
    assert highlight["fields"]["body"]["number_of_fragments"] == 2
    assert 100 <= highlight["fields"]["body"]["fragment_size"] <= 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-07-03", date(2024, 7, 3)),
        ("2024-07-03T10:30:00Z", datetime(2024, 7, 3, 10, 30, tzinfo=UTC)),
        ("2024-07-03T10:30", datetime(2024, 7, 3, 10, 30)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected
    assert type(parse_date(text)) is type(expected)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "03/07/2024"])
def test_parse_date_rejects_other_formats(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_name_filters_are_one_term_per_value_and_countries_are_upper_case() -> None:
    filters = SearchFilters(
        people=("Xi Jinping", "Vladimir Putin"),
        organizations=("Shanghai Cooperation Organization",),
        places=("Astana",),
        countries=("kz",),
    )

    clauses = bool_query(build_query("summit", filters))["filter"]

    assert clauses == [
        {"term": {"people": "Xi Jinping"}},
        {"term": {"people": "Vladimir Putin"}},
        {"term": {"organizations": "Shanghai Cooperation Organization"}},
        {"term": {"place_names": "Astana"}},
        {"term": {"countries": "KZ"}},
    ]


def test_dateline_city_matches_in_any_case_and_its_country_is_upper_case() -> None:
    filters = SearchFilters(dateline="martinsville", dateline_country="us", countries=("kz",))

    clauses = bool_query(build_query("earnings", filters))["filter"]

    assert clauses == [
        {"term": {"countries": "KZ"}},
        {"term": {"dateline.name": {"value": "martinsville", "case_insensitive": True}}},
        {"term": {"dateline.country": "US"}},
    ]
    assert not SearchFilters(dateline="Martinsville").is_empty()
    assert not SearchFilters(dateline_country="US").is_empty()


def test_hits_carry_the_dateline() -> None:
    assert "dateline" in build_query("earnings")["_source"]
    assert "dateline" in near_copies_query("a" * 32)["_source"]
    assert "dateline" in related_query("a" * 32, index="articles")["_source"]


def test_near_duplicates_are_excluded_unless_included() -> None:
    assert bool_query(build_query("summit"))["must_not"] == [{"exists": {"field": "duplicate_of"}}]
    assert "must_not" not in bool_query(build_query("summit", SearchFilters(include_duplicates=True)))


def test_facets_are_terms_aggregations_of_the_keyword_fields() -> None:
    aggs = build_query("summit")["aggs"]

    terms = {name: agg for name, agg in aggs.items() if name != DATE_FACET}
    assert set(terms) == {
        "people",
        "organizations",
        "places",
        "countries",
        "sections",
        "sources",
        "datelines",
    }
    assert aggs["places"]["terms"]["field"] == "place_names"
    assert aggs["datelines"]["terms"]["field"] == "dateline.name"
    assert all(1 <= agg["terms"]["size"] <= 10 for agg in terms.values())


def test_facets_from_response_keeps_order_and_lists_every_facet() -> None:
    facets = facets_from(
        {
            "people": {
                "buckets": [{"key": "Xi Jinping", "doc_count": 3}, {"key": "Vladimir Putin", "doc_count": 2}]
            }
        }
    )

    assert facets["people"] == [{"value": "Xi Jinping", "count": 3}, {"value": "Vladimir Putin", "count": 2}]
    assert set(facets) == {*FACETS, DATE_FACET} and facets["countries"] == []
    assert facets_from(None)["sources"] == []


def test_quotes_are_a_nested_query_on_text_and_speaker_with_inner_hits() -> None:
    body = build_query("", quotes=QuoteQuery(text="friendship", speaker="Xi Jinping"))

    [nested_clause] = body["query"]["bool"]["must"]
    nested = nested_clause["nested"]
    assert nested["path"] == "quotes"
    assert nested["query"]["bool"]["must"] == [
        {"match": {"quotes.text": {"query": "friendship"}}},
        {"term": {"quotes.speaker": "Xi Jinping"}},
    ]
    assert nested["inner_hits"]["size"] >= 1
    assert "quotes.text" in nested["inner_hits"]["highlight"]["fields"]
    assert "function_score" not in body["query"]  # no words: nothing to boost


def test_quotes_and_words_must_both_match() -> None:
    body = build_query("summit", quotes=QuoteQuery(speaker="Xi Jinping"))

    must = bool_query(body)["must"]
    assert must[0]["bool"]["should"][0]["combined_fields"]["query"] == "summit"
    assert must[1]["nested"]["query"]["bool"]["must"] == [{"term": {"quotes.speaker": "Xi Jinping"}}]


def test_filters_alone_list_matching_articles_newest_first() -> None:
    body = build_query("  ", SearchFilters(people=("Xi Jinping",)))

    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["query"]["bool"]["filter"] == [{"term": {"people": "Xi Jinping"}}]
    assert body["sort"][1] == {"published_at": {"order": "desc", "missing": "_last"}}


def test_filters_know_when_they_are_empty() -> None:
    assert SearchFilters().is_empty() and SearchFilters(include_duplicates=True).is_empty()
    assert not SearchFilters(countries=("CN",)).is_empty()


def test_date_facet_counts_months_newest_first_and_a_month_filters_as_whole_days() -> None:
    aggregation = build_query("summit")["aggs"][DATE_FACET]["date_histogram"]
    assert aggregation["calendar_interval"] == "month" and aggregation["order"] == {"_key": "desc"}

    facets = facets_from({DATE_FACET: {"buckets": [{"key_as_string": "2024-07", "key": 1, "doc_count": 4}]}})

    assert facets[DATE_FACET] == [{"value": "2024-07", "count": 4}]
    assert month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_bounds("2023-12") == (date(2023, 12, 1), date(2023, 12, 31))


def test_pages_past_the_window_and_unknown_sorts_are_refused() -> None:
    assert build_query("summit", size=10, offset=990)["from"] == 990
    assert build_query("summit", sort="date")["sort"][0] == {
        "published_at": {"order": "desc", "missing": "_last"}
    }
    for offset, size in ((991, 10), (0, 0), (0, MAX_PAGE_SIZE + 1), (-1, 10)):
        with pytest.raises(PageOutOfRange):
            build_query("summit", size=size, offset=offset)
    with pytest.raises(ValueError, match="sort"):
        build_query("summit", sort="oldest")


def test_related_articles_exclude_the_article_itself_and_near_copies() -> None:
    body = related_query("a" * 32, index="articles", size=5)

    like = body["query"]["bool"]["must"][0]["more_like_this"]
    assert like["like"] == [{"_index": "articles", "_id": "a" * 32}]
    assert {"ids": {"values": ["a" * 32]}} in body["query"]["bool"]["must_not"]
    assert {"term": {"duplicate_of": "a" * 32}} in body["query"]["bool"]["must_not"]


def test_near_copies_are_the_articles_naming_this_one_as_their_original() -> None:
    body = near_copies_query("a" * 32, size=3)

    assert body["query"]["bool"]["filter"] == [{"term": {"duplicate_of": "a" * 32}}]
    assert body["size"] == 3
    with pytest.raises(PageOutOfRange):
        near_copies_query("a" * 32, size=0)
