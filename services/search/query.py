"""The Elasticsearch request behind ``newswire search``, as a pure function of the query and filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.search.ranking import (
    RANKING,
    Ranking,
    phrase_clause,
    phrase_multipliers,
    text_clauses,
    words_of,
)

SOURCE_FIELDS = (
    "id",
    "title",
    "section",
    "source",
    "url",
    "canonical_url",
    "published_at",
    "language",
    "summary",
    "duplicate_of",
    "dateline",
)
HIGHLIGHT_FRAGMENT_CHARS = 160
HIGHLIGHT_FRAGMENTS = 2
#: Values shown per facet.
FACET_SIZE = 5
#: Facet name -> the keyword field it counts.
FACETS = {
    "people": "people",
    "organizations": "organizations",
    "places": "place_names",
    "countries": "countries",
    "sections": "section",
    "sources": "source",
    "datelines": "dateline.name",
}
#: The facet counting articles per month of publication, newest month first; its values ("2024-07")
#: filter as a whole month (:func:`month_bounds`).
DATE_FACET = "months"
#: Months shown in the date facet.
DATE_FACET_SIZE = 12
#: Matching quotes shown per article.
QUOTES_PER_HIT = 3
#: Deepest hit a search may page to (offset + size): deep paging costs Elasticsearch memory and time
#: on every shard, and nobody reads page 500 of a news search.
MAX_RESULT_WINDOW = 1_000
#: Most hits in one page.
MAX_PAGE_SIZE = 100
#: How results are ordered: by relevance (newest first among equals) or newest first.
SORTS = ("relevance", "date")
#: Fields "more like this" compares.
RELATED_FIELDS = ("title", "body")


@dataclass(frozen=True)
class SearchFilters:
    """Exact-value filters; ``None`` or empty means not filtered. A date without time covers that whole day.

    Several people (organisations, places, countries) must all be named in an article. ``dateline``
    is the city a story was filed from, in any letter case ("martinsville" finds "Martinsville"), and
    ``dateline_country`` its ISO code. Articles that nearly copy an earlier one (``duplicate_of`` set)
    are left out unless ``include_duplicates``.
    """

    section: str | None = None
    source: str | None = None
    language: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    people: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    dateline: str | None = None
    dateline_country: str | None = None
    include_duplicates: bool = False

    def is_empty(self) -> bool:
        return self == SearchFilters(include_duplicates=self.include_duplicates)


@dataclass(frozen=True)
class QuoteQuery:
    """Quotes to look for: words of the quote, its speaker (canonical name), or both."""

    text: str | None = None
    speaker: str | None = None


class PageOutOfRange(ValueError):
    """``offset + size`` beyond :data:`MAX_RESULT_WINDOW`, or a size outside 1..:data:`MAX_PAGE_SIZE`."""


def build_query(
    text: str,
    filters: SearchFilters | None = None,
    size: int = 10,
    quotes: QuoteQuery | None = None,
    offset: int = 0,
    sort: str = "relevance",
    relaxed: bool = False,
    ranking: Ranking = RANKING,
) -> dict[str, Any]:
    """The ``_search`` body: relevance over title, caption and body, filters, quotes, facets, highlights.

    An empty ``text`` with filters or ``quotes`` lists what matches them, newest first after the
    best quote matches. ``sort="date"`` orders every search newest first. ``relaxed`` asks for any
    of the words (and the quoted phrases as words): the request to send when the strict one found
    nothing (:func:`can_relax`), so that no search comes back empty while an article holds one of
    its words. Raises
    :class:`PageOutOfRange` for a page past :data:`MAX_RESULT_WINDOW` and ``ValueError`` for an
    unknown sort.
    """
    check_page(offset, size)
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    filters = filters or SearchFilters()
    text = text.strip()
    words = words_of(text)
    must: list[dict[str, Any]] = []
    should: list[dict[str, Any]] = []
    word_filters: list[dict[str, Any]] = []
    if words:
        clauses = text_clauses(text, ranking, relaxed=relaxed)
        must.extend(clauses.must)
        should.extend(clauses.should)
        word_filters = clauses.filter
    if quotes is not None and (quotes.text or quotes.speaker):
        must.append(quote_clause(quotes))
    relevance: dict[str, Any] = {"bool": {"must": must or [{"match_all": {}}]}}
    if should:
        relevance["bool"]["should"] = should
    filter_clauses = [*word_filters, *filter_clauses_for(filters)]
    if filter_clauses:
        relevance["bool"]["filter"] = filter_clauses
    if not filters.include_duplicates:
        relevance["bool"]["must_not"] = [{"exists": {"field": "duplicate_of"}}]
    query: dict[str, Any] = relevance
    if phrase_multipliers(text, ranking):
        query = {
            "function_score": {
                "query": relevance,
                "functions": [
                    {"filter": phrase_clause(phrase, fields=ranking.phrase_fields), "weight": weight}
                    for phrase, weight in phrase_multipliers(text, ranking).items()
                ],
                "boost_mode": "multiply",
            }
        }
    body: dict[str, Any] = {
        "query": query,
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "_source": list(SOURCE_FIELDS),
        "aggs": {
            **{name: {"terms": {"field": field, "size": FACET_SIZE}} for name, field in FACETS.items()},
            DATE_FACET: {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": "month",
                    "format": "yyyy-MM",
                    "min_doc_count": 1,
                    "order": {"_key": "desc"},
                }
            },
        },
        "highlight": {
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "fields": {
                # The whole title, with its matching words marked.
                "title": {"number_of_fragments": 0},
                "caption": {
                    "fragment_size": HIGHLIGHT_FRAGMENT_CHARS,
                    "number_of_fragments": HIGHLIGHT_FRAGMENTS,
                },
                "body": {
                    "fragment_size": HIGHLIGHT_FRAGMENT_CHARS,
                    "number_of_fragments": HIGHLIGHT_FRAGMENTS,
                },
            },
        },
    }
    newest_first = {"published_at": {"order": "desc", "missing": "_last"}}
    if sort == "date":
        body["sort"] = [newest_first, "_score"]
    elif not text:
        body["sort"] = ["_score", newest_first]
    return body


def check_page(offset: int, size: int) -> None:
    """Refuse a page Elasticsearch would refuse or struggle with, naming the limit."""
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise PageOutOfRange(f"size must be between 1 and {MAX_PAGE_SIZE}, not {size}")
    if offset < 0:
        raise PageOutOfRange(f"offset must not be negative, not {offset}")
    if offset + size > MAX_RESULT_WINDOW:
        raise PageOutOfRange(f"offset + size must be at most {MAX_RESULT_WINDOW}, not {offset + size}")


def near_copies_query(article_id: str, size: int = 10) -> dict[str, Any]:
    """The ``_search`` body for the articles that nearly copy ``article_id`` (their ``duplicate_of``
    is its id, set by enrich), earliest first."""
    check_page(0, size)
    return {
        "query": {"bool": {"filter": [{"term": {"duplicate_of": article_id}}]}},
        "size": size,
        "sort": [{"published_at": {"order": "asc", "missing": "_last"}}],
        "_source": list(SOURCE_FIELDS),
    }


def related_query(
    article_id: str, index: str, size: int = 5, include_duplicates: bool = False
) -> dict[str, Any]:
    """The ``_search`` body for articles like ``article_id`` (Elasticsearch's ``more_like_this`` on
    title and body): the article itself is never among them, near-copies only if asked."""
    check_page(0, size)
    like: dict[str, Any] = {
        "more_like_this": {
            "fields": list(RELATED_FIELDS),
            "like": [{"_index": index, "_id": article_id}],
            "min_term_freq": 1,
            "min_doc_freq": 2,
            "max_query_terms": 40,
            "minimum_should_match": "20%",
        }
    }
    must_not: list[dict[str, Any]] = [{"ids": {"values": [article_id]}}]
    if not include_duplicates:
        must_not.append({"exists": {"field": "duplicate_of"}})
        must_not.append({"term": {"duplicate_of": article_id}})
    return {
        "query": {"bool": {"must": [like], "must_not": must_not}},
        "size": size,
        "_source": list(SOURCE_FIELDS),
    }


def quote_clause(quotes: QuoteQuery) -> dict[str, Any]:
    """A nested query on ``quotes``: each quote is matched on its own, so the words and the speaker
    must belong to the same quote; ``inner_hits`` returns the quotes that matched."""
    must: list[dict[str, Any]] = []
    if quotes.text:
        must.append({"match": {"quotes.text": {"query": quotes.text}}})
    if quotes.speaker:
        must.append({"term": {"quotes.speaker": quotes.speaker}})
    return {
        "nested": {
            "path": "quotes",
            "query": {"bool": {"must": must}},
            "score_mode": "max",
            "inner_hits": {
                "size": QUOTES_PER_HIT,
                "_source": ["quotes.text", "quotes.speaker"],
                "highlight": {
                    "pre_tags": ["<em>"],
                    "post_tags": ["</em>"],
                    "fields": {"quotes.text": {"number_of_fragments": 0}},
                },
            },
        }
    }


def filter_clauses_for(filters: SearchFilters) -> list[dict[str, Any]]:
    """Term filters for the keyword fields (one per value: all must match) and a range on ``published_at``.

    The dateline city is matched in any letter case: it is stored as the gazetteer writes it
    ("Martinsville") and shown that way in the facet, while people type "martinsville" or "MARTINSVILLE".
    """
    clauses: list[dict[str, Any]] = [
        {"term": {field: value}}
        for field, value in (
            ("section", filters.section),
            ("source", filters.source),
            ("language", filters.language),
        )
        if value is not None
    ]
    for field, values in (
        ("people", filters.people),
        ("organizations", filters.organizations),
        ("place_names", filters.places),
        ("countries", tuple(code.upper() for code in filters.countries)),
    ):
        clauses.extend({"term": {field: value}} for value in values)
    if filters.dateline is not None:
        clauses.append({"term": {"dateline.name": {"value": filters.dateline, "case_insensitive": True}}})
    if filters.dateline_country is not None:
        clauses.append({"term": {"dateline.country": filters.dateline_country.upper()}})
    published: dict[str, str] = {}
    if filters.since is not None:
        published["gte"] = _date_bound(filters.since)
    if filters.until is not None:
        published["lte"] = _date_bound(filters.until)
    if published:
        clauses.append({"range": {"published_at": published}})
    return clauses


def _date_bound(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    # Date math rounding: "gte" rounds down to the day's start, "lte" up to its last millisecond.
    return f"{value.isoformat()}||/d"


def facets_from(aggregations: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """``{"people": [{"value": "Xi Jinping", "count": 3}, ...], ..., "months": [{"value": "2024-07",
    "count": 5}, ...]}`` from the response's aggregations."""
    aggregations = aggregations or {}
    facets = {
        name: [
            {"value": bucket["key"], "count": bucket["doc_count"]}
            for bucket in (aggregations.get(name) or {}).get("buckets", [])
        ]
        for name in FACETS
    }
    months = (aggregations.get(DATE_FACET) or {}).get("buckets", [])
    facets[DATE_FACET] = [
        {"value": bucket["key_as_string"], "count": bucket["doc_count"]}
        for bucket in months[:DATE_FACET_SIZE]
    ]
    return facets


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``2024-07`` (a value of the date facet), for ``since``/``until``."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def parse_date(value: str) -> date | datetime:
    """``2024-07-03`` (a whole day) or an ISO 8601 timestamp such as ``2024-07-03T10:00:00Z``."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value)
