"""The Elasticsearch request behind ``newswire search``, as a pure function of the query and filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

SEARCH_FIELDS = ("title^3", "caption", "body")
# Articles containing the query as an exact phrase ("Shanghai Cooperation Organization") must rank
# above articles that only contain its words, even short ones with all of them in the title. An
# additive phrase boost cannot promise that (BM25 scores depend on the archive's statistics), so
# the phrase clause both adds to the score and multiplies it.
PHRASE_BOOST = 4.0
PHRASE_MULTIPLIER = 10.0
SOURCE_FIELDS = ("id", "title", "section", "source", "url", "canonical_url", "published_at", "language")
HIGHLIGHT_FRAGMENT_CHARS = 160
HIGHLIGHT_FRAGMENTS = 2


@dataclass(frozen=True)
class SearchFilters:
    """Exact-value filters; ``None`` means not filtered. A date without time covers that whole day."""

    section: str | None = None
    source: str | None = None
    language: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None


def build_query(text: str, filters: SearchFilters | None = None, size: int = 10) -> dict[str, Any]:
    """The ``_search`` body: full-text relevance over title, caption and body, with filters and highlights."""
    filters = filters or SearchFilters()
    phrase: dict[str, Any] = {"multi_match": {"query": text, "fields": list(SEARCH_FIELDS), "type": "phrase"}}
    relevance: dict[str, Any] = {
        "bool": {
            "must": [{"multi_match": {"query": text, "fields": list(SEARCH_FIELDS), "type": "best_fields"}}],
            "should": [{"multi_match": {**phrase["multi_match"], "boost": PHRASE_BOOST}}],
        }
    }
    filter_clauses = filter_clauses_for(filters)
    if filter_clauses:
        relevance["bool"]["filter"] = filter_clauses
    query = {
        "function_score": {
            "query": relevance,
            "functions": [{"filter": phrase, "weight": PHRASE_MULTIPLIER}],
            "boost_mode": "multiply",
        }
    }
    return {
        "query": query,
        "size": size,
        "track_total_hits": True,
        "_source": list(SOURCE_FIELDS),
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


def filter_clauses_for(filters: SearchFilters) -> list[dict[str, Any]]:
    """Term filters for the keyword fields and a range on ``published_at``."""
    clauses: list[dict[str, Any]] = [
        {"term": {field: value}}
        for field, value in (
            ("section", filters.section),
            ("source", filters.source),
            ("language", filters.language),
        )
        if value is not None
    ]
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


def parse_date(value: str) -> date | datetime:
    """``2024-07-03`` (a whole day) or an ISO 8601 timestamp such as ``2024-07-03T10:00:00Z``."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value)
