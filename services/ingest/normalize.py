"""Turning a recognised submission into the ``Article`` that ingest publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.articles import MAX_BODY_CHARS, MAX_TITLE_CHARS, Article, ContentFormat, RawArticle
from schemas.dead_letter import FailureReason
from services.ingest.extracted import Extracted, as_utc, clean_inline
from services.ingest.html_page import extract_from_html
from services.ingest.identity import article_id, canonicalize_url, content_hash
from services.ingest.page_text import extract_from_text, split_units
from services.ingest.parsing import (
    HtmlSubmission,
    IngestRejection,
    JsonSubmission,
    Submission,
    describe_validation_error,
)


class ArticleLimits(BaseSettings):
    """How big and how dated an accepted article may be, from ``NEWSWIRE_INGEST_*``.

    The contract's own maxima (``MAX_TITLE_CHARS``, ``MAX_BODY_CHARS``) are the ceiling; these can
    only tighten them. Dates outside the window are rejected because a far-future ``updated_at``
    would pin an article's revision so that no later correction could ever replace it.
    """

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_INGEST_", frozen=True, extra="ignore")

    max_title_chars: int = Field(default=MAX_TITLE_CHARS, ge=1, le=MAX_TITLE_CHARS)
    max_body_chars: int = Field(default=MAX_BODY_CHARS, ge=1, le=MAX_BODY_CHARS)
    max_paragraphs: int = Field(default=5_000, ge=1)
    earliest_date: datetime = Field(
        default=datetime(1800, 1, 1, tzinfo=UTC), description="Older published_at/updated_at are rejected."
    )
    max_future_skew_s: float = Field(
        default=86_400.0, ge=0, description="How far past the ingest clock a date may lie (time zones, skew)."
    )


def normalize(
    submission: Submission,
    ingested_at: datetime | None = None,
    received_at_ms: int | None = None,
    limits: ArticleLimits | None = None,
) -> Article:
    """The normalized article, or :class:`IngestRejection` (``missing_title``, ``too_long``...).

    ``received_at_ms`` is the Kafka timestamp of the raw record: the article's revision unless the
    publisher said when it last updated the article.
    """
    ingested_at = ingested_at or datetime.now(UTC)
    limits = limits or ArticleLimits()
    updated_at: datetime | None = None
    if isinstance(submission, JsonSubmission):
        found, content_format = from_raw_article(submission.article), ContentFormat.JSON
        updated_at = submission.article.updated_at
    elif isinstance(submission, HtmlSubmission):
        found, content_format = extract_from_html(submission.html), ContentFormat.HTML
    else:
        found, content_format = extract_from_text(submission.text), ContentFormat.TEXT
    check_dates(found.published_at, updated_at, ingested_at, limits)
    revision = revision_of(updated_at, received_at_ms, ingested_at)
    article = build_article(found, content_format, ingested_at, revision)
    check_sizes(article, limits)
    return article


def check_dates(
    published_at: datetime | None, updated_at: datetime | None, now: datetime, limits: ArticleLimits
) -> None:
    latest = as_utc(now) + timedelta(seconds=limits.max_future_skew_s)
    for name, moment in (("published_at", published_at), ("updated_at", updated_at)):
        if moment is None:
            continue
        if not limits.earliest_date <= as_utc(moment) <= latest:
            raise IngestRejection(
                FailureReason.IMPLAUSIBLE_DATE,
                f"{name} {moment.isoformat()} is outside {limits.earliest_date.date()}..{latest.isoformat()}",
            )


def check_sizes(article: Article, limits: ArticleLimits) -> None:
    if len(article.title) > limits.max_title_chars:
        raise IngestRejection(
            FailureReason.TOO_LONG,
            f"title has {len(article.title)} characters; the limit is {limits.max_title_chars}",
        )
    if len(article.paragraphs) > limits.max_paragraphs:
        raise IngestRejection(
            FailureReason.TOO_LONG,
            f"{len(article.paragraphs)} paragraphs; the limit is {limits.max_paragraphs}",
        )
    body_chars = sum(len(paragraph) for paragraph in article.paragraphs)
    if body_chars > limits.max_body_chars:
        raise IngestRejection(
            FailureReason.TOO_LONG, f"body has {body_chars} characters; the limit is {limits.max_body_chars}"
        )


def revision_of(updated_at: datetime | None, received_at_ms: int | None, ingested_at: datetime) -> int:
    """Milliseconds that order this version of the article against others with the same id.

    The publisher's ``updated_at`` wins; else the Kafka timestamp, which a replay of the same record
    keeps, so a redelivery is the same revision and never counts as newer. Elasticsearch versions
    cannot be negative: every revision before 1970 is 0.
    """
    if updated_at is not None:
        return max(0, _epoch_ms(updated_at))
    if received_at_ms is not None and received_at_ms >= 0:
        return received_at_ms
    return _epoch_ms(ingested_at)


def _epoch_ms(moment: datetime) -> int:
    return int(as_utc(moment).timestamp() * 1000)


def from_raw_article(raw: RawArticle) -> Extracted:
    """A JSON submission's fields; ``text`` or ``html`` (when there is no ``body``) is mined for the rest.

    Fields the publisher set explicitly win over anything found in the text or markup.
    """
    if raw.body:
        found = Extracted(paragraphs=split_units(raw.body))
    elif raw.text:
        found = extract_from_text(raw.text, title_hint=raw.title)
    else:
        found = extract_from_html(raw.html or "")
    return Extracted(
        title=raw.title or found.title,
        paragraphs=found.paragraphs,
        caption=raw.caption or found.caption,
        section=raw.section or found.section,
        breadcrumb=found.breadcrumb,
        source=raw.source or found.source,
        url=str(raw.url) if raw.url else found.url,
        published_at=raw.published_at or found.published_at,
        authors=list(raw.authors) or found.authors,
        language=raw.language or found.language,
    )


def build_article(
    found: Extracted, content_format: ContentFormat, ingested_at: datetime, revision: int = 0
) -> Article:
    """Whitespace-normalized, id'd and hashed; rejects articles without a title or body."""
    title = clean_inline(found.title or "")
    if not title:
        raise IngestRejection(
            FailureReason.MISSING_TITLE, "no headline found: send 'title' or put it on the first line"
        )
    paragraphs = [text for paragraph in found.paragraphs if (text := clean_inline(paragraph))]
    if not paragraphs:
        raise IngestRejection(FailureReason.MISSING_BODY, "no body text found after the headline")
    body = "\n\n".join(paragraphs)
    canonical_url = canonicalize_url(found.url) if found.url else None
    identifier, basis = article_id(canonical_url, title, body)
    try:
        return Article(
            id=identifier,
            id_basis=basis,
            url=found.url if canonical_url else None,
            canonical_url=canonical_url,
            source=_optional(found.source),
            title=title,
            section=_optional(found.section),
            breadcrumb=[crumb for crumb in map(clean_inline, found.breadcrumb) if crumb],
            paragraphs=paragraphs,
            caption=_optional(found.caption),
            published_at=as_utc(found.published_at) if found.published_at else None,
            authors=[name for name in map(clean_inline, found.authors) if name],
            language_hint=_optional(found.language),
            content_format=content_format,
            content_hash=content_hash(title, body),
            revision=revision,
            ingested_at=as_utc(ingested_at),
        )
    except ValidationError as exc:
        raise IngestRejection(FailureReason.VALIDATION_FAILED, describe_validation_error(exc)) from None


def _optional(value: str | None) -> str | None:
    return clean_inline(value) or None if value else None
