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
    ingested_at: datetime

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


class EnricherRun(BaseModel):
    """One enricher that contributed to an enriched article (lineage)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str


class EnrichedArticle(Article):
    """An article with the enrich service's additions, as published on ``articles.enriched``."""

    language: str | None = Field(default=None, description="ISO 639-1 code, None when undetectable.")
    word_count: int = Field(ge=0)
    reading_time_minutes: float = Field(ge=0, description="At 230 words per minute.")
    enrichers: list[EnricherRun] = Field(default_factory=list)
    enriched_at: datetime
