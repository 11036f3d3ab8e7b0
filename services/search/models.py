"""What the search API reads and answers: query-string parameters, hits, facets and a page of results.

The API and the web page take the same query-string parameters (:class:`SearchParams`), so a link
copied from one works in the other; the request behind them is built by
:func:`services.search.query.build_query` from :meth:`SearchParams.filters`, :meth:`SearchParams.quotes`
and :meth:`SearchParams.offset`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from schemas.articles import Dateline
from services.search.query import (
    MAX_PAGE_SIZE,
    MAX_RESULT_WINDOW,
    QuoteQuery,
    SearchFilters,
    month_bounds,
    parse_date,
)

#: Longest query text (characters): a search box, not a document; longer text makes a request with
#: thousands of clauses that Elasticsearch may refuse.
MAX_QUERY_CHARS = 500
#: Longest filter value (people, places, sections ... are short keywords).
MAX_VALUE_CHARS = 200
#: Most values of one repeatable filter (every one must match, so more find nothing anyway).
MAX_VALUES = 20

QueryText = Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS)]
FilterValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_VALUE_CHARS)
]
CountryCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{2}$")]
#: The widest UTC offset Elasticsearch reads in a timestamp.
MAX_UTC_OFFSET = timedelta(hours=18)
#: ``2024-07``: a value of the ``months`` facet.
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class SearchParams(BaseModel):
    """The query string of ``GET /search`` (and of the web page): words, filters, quotes, paging, sort.

    Repeatable filters (``person``, ``org``, ``place``, ``country``) are given once per value and must
    all match. Every parameter is optional: with no words, what matches the filters is listed
    newest first (with nothing at all, the newest articles).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    q: QueryText = Field(
        default="",
        description="Words or a phrase to look for in title, caption and body (an exact phrase ranks first).",
        examples=["Shanghai Cooperation Organization"],
    )
    person: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_VALUES,
        description="Only articles naming this person (canonical name); repeat for several, all must match.",
        examples=[["Xi Jinping"]],
    )
    org: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_VALUES,
        description="Only articles naming this organisation; repeatable.",
        examples=[["Shanghai Cooperation Organization"]],
    )
    place: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_VALUES,
        description="Only articles naming this place; repeatable.",
        examples=[["Astana"]],
    )
    country: list[CountryCode] = Field(
        default_factory=list,
        max_length=MAX_VALUES,
        description="Only articles about this country (ISO 3166 alpha-2 code, either case); repeatable.",
        examples=[["KZ"]],
    )
    dateline: FilterValue | None = Field(
        default=None,
        description="Only articles filed from this city (their dateline), in any letter case.",
        examples=["Martinsville"],
    )
    dateline_country: CountryCode | None = Field(
        default=None,
        description="Only articles filed from this country (the dateline's ISO 3166 alpha-2 code, any case).",
        examples=["US"],
    )
    section: FilterValue | None = Field(
        default=None, description="Only this section (exact value).", examples=["World"]
    )
    source: FilterValue | None = Field(
        default=None, description="Only this publisher (exact value).", examples=["Press TV"]
    )
    language: FilterValue | None = Field(
        default=None, description="Only this language code.", examples=["en"]
    )
    since: datetime | date | None = Field(
        default=None,
        description="Published on or after: a date (its whole day) or an ISO 8601 timestamp.",
        examples=["2024-07-01"],
    )
    until: datetime | date | None = Field(
        default=None,
        description="Published on or before: a date (its whole day) or an ISO 8601 timestamp.",
        examples=["2024-07-31T23:59:59Z"],
    )
    month: str | None = Field(
        default=None,
        pattern=MONTH_PATTERN,
        description="Only this month of publication (a value of the ``months`` facet); narrows since/until.",
        examples=["2024-07"],
    )
    quote: QueryText | None = Field(
        default=None,
        description="Only articles quoting someone saying these words (with ``speaker``: that speaker).",
        examples=["friendship"],
    )
    speaker: FilterValue | None = Field(
        default=None,
        description="Only articles quoting this speaker (canonical name).",
        examples=["Xi Jinping"],
    )
    include_duplicates: bool = Field(
        default=False, description="Also list near-copies of earlier articles (``duplicate_of`` set)."
    )
    sort: Literal["relevance", "date"] = Field(
        default="relevance", description="Best matches first, or newest first."
    )
    # ``size`` comes before ``page``: the page depth check reads it.
    size: int = Field(default=10, ge=1, le=MAX_PAGE_SIZE, description="Hits per page.")
    page: int = Field(
        default=1,
        ge=1,
        le=MAX_RESULT_WINDOW,
        description=f"Page number, from 1; ``page * size`` may be at most {MAX_RESULT_WINDOW}.",
    )

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date_or_timestamp(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            raise ValueError("must be a date (2024-07-03) or an ISO 8601 timestamp") from None
        offset = parsed.utcoffset() if isinstance(parsed, datetime) else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValueError("the timestamp's UTC offset must be within ±18:00")
        return parsed

    @field_validator("month", mode="after")
    @classmethod
    def _real_month(cls, month: str | None) -> str | None:
        if month is not None:
            try:
                month_bounds(month)
            except ValueError:
                raise ValueError("must be a month such as 2024-07") from None
        return month

    @field_validator("q", "quote", mode="after")
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        # A NUL or other control character is never typed; dropping it keeps the request well formed.
        if value is None:
            return None
        return "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in value)

    @field_validator("page", mode="after")
    @classmethod
    def _within_result_window(cls, page: int, info: ValidationInfo) -> int:
        size = info.data.get("size")
        if isinstance(size, int) and page * size > MAX_RESULT_WINDOW:
            raise ValueError(
                f"page * size must be at most {MAX_RESULT_WINDOW} (deepest page at size {size}: "
                f"{MAX_RESULT_WINDOW // size})"
            )
        return page

    def filters(self) -> SearchFilters:
        """The exact-value filters for :func:`~services.search.query.build_query`; ``month`` narrows
        the dates."""
        since, until = self.since, self.until
        if self.month is not None:
            first, last = month_bounds(self.month)
            since = first if since is None or _start(since) < _start(first) else since
            until = last if until is None or _end(until) > _end(last) else until
        return SearchFilters(
            section=self.section,
            source=self.source,
            language=self.language,
            since=since,
            until=until,
            people=tuple(self.person),
            organizations=tuple(self.org),
            places=tuple(self.place),
            countries=tuple(code.upper() for code in self.country),
            dateline=self.dateline,
            dateline_country=self.dateline_country.upper() if self.dateline_country else None,
            include_duplicates=self.include_duplicates,
        )

    def quotes(self) -> QuoteQuery | None:
        """The quote search, or None when neither ``quote`` nor ``speaker`` is given."""
        text = (self.quote or "").strip() or None
        if text is None and self.speaker is None:
            return None
        return QuoteQuery(text=text, speaker=self.speaker)

    def offset(self) -> int:
        """Hits before this page."""
        return (self.page - 1) * self.size

    def query_items(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string as ``(name, value)`` pairs, defaults left out, with ``changes`` applied:
        for links (``urlencode(params.query_items(page=2))``); a list value repeats the name."""
        values = {**self.model_dump(), **changes}
        items: list[tuple[str, str]] = []
        for name, field in type(self).model_fields.items():
            value = values.get(name)
            default = field.get_default(call_default_factory=True)
            if value is None or value == default:
                continue
            for one in value if isinstance(value, list | tuple) else [value]:
                items.append((name, _query_value(one)))
        return items


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _start(value: date | datetime) -> datetime:
    """The first moment ``value`` covers, comparable across dates and naive or aware timestamps."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def _end(value: date | datetime) -> datetime:
    """The last moment ``value`` covers (a date: its whole day)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.max, tzinfo=UTC)


class QuoteHit(BaseModel):
    """A quote that matched the quote search, with the matching words marked ``<em>``."""

    text: str | None = Field(description="The quote as stored.")
    speaker: str | None = Field(description="Its speaker (canonical name), None when unattributed.")
    highlight: str = Field(
        description="The quote with the matched words in ``<em>`` tags (the rest is not HTML-escaped)."
    )


class Hit(BaseModel):
    """One article in the results."""

    id: str = Field(description="The article id (``GET /articles/{id}``).", examples=["a" * 32])
    score: float | None = Field(description="Relevance score (None when sorted by date only).")
    title: str | None
    section: str | None
    source: str | None = Field(description="Publisher.")
    url: str | None = Field(description="The article's URL (its canonical URL when known).")
    published_at: str | None = Field(description="ISO 8601 timestamp as stored.")
    summary: str | None = Field(description="The enrichment's extractive summary.")
    duplicate_of: str | None = Field(description="The earlier article this nearly copies, if any.")
    dateline: Dateline | None = Field(
        default=None, description="Where the story was filed (city, region, country, as written)."
    )
    highlights: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Fragments of title, caption and body with the matching words in ``<em>`` tags; the "
        "rest of the text is not HTML-escaped.",
    )
    quotes: list[QuoteHit] = Field(default_factory=list, description="Quotes matched by a quote search.")


class FacetValue(BaseModel):
    """One value of a facet and how many matching articles have it."""

    value: str = Field(examples=["Xi Jinping"])
    count: int = Field(examples=[3])


class SearchPage(BaseModel):
    """One page of results."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "page": 1,
                    "size": 10,
                    "took_ms": 4,
                    "hits": [
                        {
                            "id": "23b504e2d0be1053511819a769e181ad",
                            "score": 12.99,
                            "title": "Putin, Xi meet at Central Asian summit",
                            "section": "Russia",
                            "source": "Press TV",
                            "url": "https://www.presstv.ir/Detail/2024/07/03/729348",
                            "published_at": "2024-07-03T10:00:00Z",
                            "summary": "Putin and Xi met at a Central Asian summit in Kazakhstan.",
                            "duplicate_of": None,
                            "dateline": {
                                "name": "Astana",
                                "region": None,
                                "country": "KZ",
                                "location": {"lat": 51.18, "lon": 71.45},
                                "text": "ASTANA, July 3 (Reuters)",
                            },
                            "highlights": {"body": ["Putin and Xi convened in the capital <em>Astana</em>"]},
                            "quotes": [
                                {
                                    "text": "friendship for generations to come",
                                    "speaker": "Xi Jinping",
                                    "highlight": "<em>friendship</em> for generations to come",
                                }
                            ],
                        }
                    ],
                    "facets": {
                        "people": [{"value": "Xi Jinping", "count": 1}],
                        "datelines": [{"value": "Astana", "count": 1}],
                        "months": [{"value": "2024-07", "count": 1}],
                    },
                }
            ]
        }
    )

    total: int = Field(description="Articles matching in all (not only this page).")
    page: int
    size: int
    took_ms: int = Field(description="Time Elasticsearch spent on the search.")
    relaxed: bool = Field(
        default=False,
        description="No article had enough of the query's words, so these have at least one of them.",
    )
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = Field(
        description="people, organizations, places, countries, sections, sources, datelines (the cities "
        "stories were filed from) and months (``2024-07``, newest first): the most frequent values among "
        "all matching articles. A value filters as the parameter person, org, place, country, section, "
        "source, dateline or month."
    )


#: Facet name -> the :class:`SearchParams` parameter its values filter by.
FACET_PARAMS = {
    "people": "person",
    "organizations": "org",
    "places": "place",
    "countries": "country",
    "sections": "section",
    "sources": "source",
    "datelines": "dateline",
    "months": "month",
}
