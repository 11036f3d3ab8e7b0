"""Watches (saved searches that alert) and the alert event they produce on ``articles.alerts``.

A watch's :class:`WatchSearch` has the same parameters, names and meaning as ``newswire search``
and ``GET /search`` (words, filters, quote conditions), without paging and sort: the alert service
turns it into the search service's own request, so a watch matches exactly what that search finds.
It lives here, not in the search service, because the contract is the only thing services share
about data; ``services.watches.matching`` converts it into the search service's ``SearchParams``
(a unit test keeps the two field lists in step).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

from schemas.articles import ArticleId
from schemas.envelope import EventEnvelope

#: Longest query text, filter value and number of values of one filter: the search API's limits.
MAX_QUERY_CHARS = 500
MAX_VALUE_CHARS = 200
MAX_VALUES = 20
#: A watch id: lower-case letters, digits and single hyphens, as :func:`watch_id_for` makes them.
WATCH_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MAX_WATCH_ID_CHARS = 64
#: Shortest webhook secret: an HMAC key guessable by brute force protects nothing.
MIN_SECRET_CHARS = 16

QueryText = Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS)]
FilterValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_VALUE_CHARS)
]
CountryCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{2}$")]
WatchId = Annotated[
    str, StringConstraints(pattern=WATCH_ID_PATTERN, min_length=1, max_length=MAX_WATCH_ID_CHARS)
]


class WatchSearch(BaseModel):
    """What a watch looks for: the parameters of ``newswire search`` that choose articles.

    Repeatable filters must all match, as in a search. At least one condition is required: a watch
    on nothing would alert on every article.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    q: QueryText = Field(default="", description="Words or a phrase in title, caption or body.")
    person: list[FilterValue] = Field(default_factory=list, max_length=MAX_VALUES)
    org: list[FilterValue] = Field(default_factory=list, max_length=MAX_VALUES)
    place: list[FilterValue] = Field(default_factory=list, max_length=MAX_VALUES)
    country: list[CountryCode] = Field(
        default_factory=list, max_length=MAX_VALUES, description="ISO 3166 alpha-2 codes."
    )
    dateline: FilterValue | None = Field(default=None, description="City the story was filed from.")
    dateline_country: CountryCode | None = None
    section: FilterValue | None = None
    source: FilterValue | None = Field(default=None, description="Publisher (exact value).")
    language: FilterValue | None = None
    since: datetime | date | None = Field(default=None, description="Published on or after.")
    until: datetime | date | None = Field(default=None, description="Published on or before.")
    quote: QueryText | None = Field(default=None, description="Words someone is quoted saying.")
    speaker: FilterValue | None = Field(default=None, description="Who is quoted (canonical name).")
    include_duplicates: bool = Field(
        default=False, description="Also alert on near-copies of earlier articles."
    )

    @model_validator(mode="after")
    def _has_a_condition(self) -> WatchSearch:
        conditions = [getattr(self, name) for name in type(self).model_fields if name != "include_duplicates"]
        if not any(value.strip() if isinstance(value, str) else value for value in conditions):
            raise ValueError("a watch needs words, a filter or a quote condition (it would match everything)")
        return self


class Webhook(BaseModel):
    """Where a watch's alerts are POSTed, and the key that signs them (``X-Newswire-Signature``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: AnyHttpUrl
    secret: SecretStr = Field(
        min_length=MIN_SECRET_CHARS,
        description="HMAC-SHA256 key of the signature; never logged nor shown (dumps as '**********').",
    )


class Watch(BaseModel):
    """A saved search that alerts: what it looks for, who owns it, where its alerts go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: WatchId = Field(description="Slug of the name unless given: lower-case letters, digits, hyphens.")
    name: str = Field(min_length=1, max_length=200, examples=["Xi Jinping quoted"])
    owner: str = Field(min_length=1, max_length=200, description="Who to ask about it (a label).")
    search: WatchSearch
    webhook: Webhook | None = Field(default=None, description="Also POST each alert here.")
    alert_on_revisions: bool = Field(
        default=False,
        description="Alert again when a new revision of an article that already alerted still matches.",
    )
    created_at: datetime


def watch_id_for(name: str) -> str:
    """The slug of a watch name: ``"Xi Jinping quoted!"`` -> ``"xi-jinping-quoted"`` (accents folded).

    Raises ``ValueError`` when nothing of the name is left (a name of punctuation only).
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:MAX_WATCH_ID_CHARS].strip("-")
    if not slug:
        raise ValueError(f"cannot make a watch id from the name {name!r}: give one")
    return slug


class MatchedQuote(BaseModel):
    """The quote that made an article match a watch's quote condition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str | None
    speaker: str | None = Field(description="Canonical name; None when unattributed.")
    highlight: str | None = Field(default=None, description="The quote with the matched words in <em> tags.")


class AlertEvent(EventEnvelope):
    """An article matched a watch, on ``articles.alerts`` (key ``<watch id>:<article id>``).

    One per (watch, article), or per (watch, article, revision) when the watch asks for revisions;
    the same event is POSTed to the watch's webhook, if it has one.
    """

    event_type: ClassVar[str] = "watch.alert"
    type: Literal["watch.alert"] = "watch.alert"
    watch_id: WatchId
    watch_name: str
    watch_owner: str
    article_id: ArticleId
    title: str
    url: str | None = Field(description="The article's URL (canonical when known).")
    snippet: str | None = Field(
        description="A fragment of title, body or caption with the matched words in <em> tags "
        "(the rest is not HTML-escaped); the title when nothing was highlighted."
    )
    quote: MatchedQuote | None = Field(default=None, description="The matching quote, for a quote watch.")
    revision: int = Field(ge=0, description="The article revision that matched (Article.revision).")
    published_at: datetime | None = None
    matched_at: datetime = Field(description="When the alert service found the match (UTC).")

    def key(self) -> str:
        """The record key: every alert of one watch about one article lands in one partition."""
        return alert_key(self.watch_id, self.article_id)


def alert_key(watch_id: str, article_id: str) -> str:
    return f"{watch_id}:{article_id}"
