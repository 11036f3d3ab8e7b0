"""Article models: what outside publishers send, what ingest emits, what enrich adds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

MAX_TITLE_CHARS = 1_000
MAX_BODY_CHARS = 2_000_000

ArticleId = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{32}$",
        description="Stable article id: hash of the canonical URL when the article has one, "
        "else of its normalized title and body. Also the Kafka key and the Elasticsearch _id.",
    ),
]


class ContentFormat(StrEnum):
    """How the submission was written."""

    JSON = "json"
    TEXT = "text"
    HTML = "html"


class RawArticle(BaseModel):
    """A structured submission on ``articles.raw`` (a JSON object; plain text and HTML are also accepted).

    Give at least one of ``body``, ``text`` or ``html``. Unknown fields are rejected so that a typo
    ("titel") is reported instead of silently losing data.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    body: str | None = Field(
        default=None,
        max_length=MAX_BODY_CHARS,
        description="Article text; paragraphs separated by blank lines.",
    )
    text: str | None = Field(
        default=None,
        max_length=MAX_BODY_CHARS,
        description="Raw page text as copied off a page (headline, breadcrumb, caption...); "
        "ingest finds the structure.",
    )
    html: str | None = Field(default=None, max_length=MAX_BODY_CHARS, description="A page's HTML.")
    url: AnyHttpUrl | None = Field(default=None, description="Where the article was published.")
    source: str | None = Field(default=None, max_length=200, description="Publisher, e.g. 'Press TV'.")
    section: str | None = Field(default=None, max_length=200)
    caption: str | None = Field(default=None, max_length=5_000)
    published_at: datetime | None = None
    updated_at: datetime | None = Field(
        default=None,
        description="When the publisher last changed the article; orders its revisions "
        "(without it, the time the submission reached Kafka does).",
    )
    authors: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)
    language: str | None = Field(default=None, max_length=16, description="Language hint, e.g. 'en'.")

    @model_validator(mode="after")
    def _has_content(self) -> RawArticle:
        if not any((self.body, self.text, self.html)):
            raise ValueError("one of 'body', 'text' or 'html' must be a non-empty string")
        return self


class Article(BaseModel):
    """A validated, normalized article as published on ``articles.ingested``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ArticleId
    id_basis: str = Field(pattern=r"^(url|content)$", description="What the id was derived from.")
    url: str | None = None
    canonical_url: str | None = Field(default=None, description="URL without tracking parameters.")
    source: str | None = None
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    section: str | None = None
    breadcrumb: list[str] = Field(default_factory=list, description="Section path, outermost first.")
    paragraphs: list[str] = Field(min_length=1, description="Body paragraphs, boilerplate removed.")
    caption: str | None = Field(default=None, description="Photo caption, kept out of the body.")
    published_at: datetime | None = None
    authors: list[str] = Field(default_factory=list)
    language_hint: str | None = None
    content_format: ContentFormat
    content_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the normalized title and body."
    )
    revision: int = Field(
        default=0,
        ge=0,
        description="Milliseconds since the epoch of this version of the article (the publisher's "
        "updated_at, else the Kafka timestamp of the raw record). The index keeps the highest "
        "revision per id, so an older one never overwrites a newer one.",
    )
    ingested_at: datetime

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


class EnricherRun(BaseModel):
    """One enricher that contributed to an enriched article (lineage)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str


class EntityType(StrEnum):
    PERSON = "PER"
    ORGANIZATION = "ORG"
    LOCATION = "LOC"


class Entity(BaseModel):
    """A person, organisation or place named in the article, resolved to one canonical name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=300, description="Canonical name, e.g. 'Vladimir Putin'.")
    type: EntityType
    mentions: int = Field(ge=1, description="How often any of its forms occurs in title, caption and body.")
    first_offset: int = Field(ge=0, description="Character offset of the first mention in the body text.")
    aliases: list[str] = Field(
        default_factory=list, description="Other forms seen in the article: surnames, titles, acronyms."
    )


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Place(BaseModel):
    """A place resolved to a country (ISO 3166-1 alpha-2) and, for known cities, coordinates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    kind: str = Field(pattern=r"^(country|city|region|other)$")
    country_codes: list[str] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2; a region like 'Central Asia' maps to several."
    )
    location: GeoPoint | None = None
    mentions: int = Field(default=1, ge=1)


class Dateline(BaseModel):
    """Where a wire story was filed, from its dateline ("MARTINSVILLE, Va., Feb 26 -")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=300, description="The city, e.g. 'Martinsville'.")
    region: str | None = Field(default=None, description="US state or Canadian province, e.g. 'Virginia'.")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2; None when unknown.")
    location: GeoPoint | None = Field(default=None, description="The city's coordinates when known.")
    text: str = Field(min_length=1, max_length=300, description="The dateline as written.")


class Quote(BaseModel):
    """A direct quote and who said it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=5_000)
    speaker: str | None = Field(default=None, description="Canonical entity name when resolved.")
    speaker_type: EntityType | None = None
    offset: int = Field(ge=0, description="Character offset of the quote in the body text.")


class EnrichedArticle(Article):
    """An article with the enrich service's additions, as published on ``articles.enriched``.

    Every addition has a default, so an enricher that is switched off or fails leaves its field
    empty instead of making the event invalid.
    """

    language: str | None = Field(default=None, description="ISO 639-1 code, None when undetectable.")
    word_count: int = Field(ge=0)
    reading_time_minutes: float = Field(ge=0, description="At 230 words per minute.")
    entities: list[Entity] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-2, most relevant first.")
    primary_country: str | None = Field(default=None, description="The country the story is mostly about.")
    dateline: Dateline | None = Field(default=None, description="Where the story was filed (its dateline).")
    quotes: list[Quote] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="A handful of key phrases, best first.")
    summary: str | None = Field(default=None, description="One or two sentences taken from the article.")
    duplicate_of: str | None = Field(
        default=None, description="Id of the first article seen that this one nearly copies."
    )
    enrichers: list[EnricherRun] = Field(default_factory=list)
    enriched_at: datetime
