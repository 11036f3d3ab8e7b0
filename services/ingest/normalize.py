"""Turning a recognised submission into the ``Article`` that ingest publishes."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError

from schemas.articles import Article, ContentFormat, RawArticle
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


def normalize(submission: Submission, ingested_at: datetime | None = None) -> Article:
    """The normalized article, or :class:`IngestRejection` (``missing_title``, ``missing_body``...)."""
    if isinstance(submission, JsonSubmission):
        found, content_format = from_raw_article(submission.article), ContentFormat.JSON
    elif isinstance(submission, HtmlSubmission):
        found, content_format = extract_from_html(submission.html), ContentFormat.HTML
    else:
        found, content_format = extract_from_text(submission.text), ContentFormat.TEXT
    return build_article(found, content_format, ingested_at or datetime.now(UTC))


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


def build_article(found: Extracted, content_format: ContentFormat, ingested_at: datetime) -> Article:
    """Whitespace-normalized, id'd and hashed; rejects articles without a title or body."""
    title = clean_inline(found.title or "")
    if not title:
        raise IngestRejection("missing_title", "no headline found: send 'title' or put it on the first line")
    paragraphs = [text for paragraph in found.paragraphs if (text := clean_inline(paragraph))]
    if not paragraphs:
        raise IngestRejection("missing_body", "no body text found after the headline")
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
            ingested_at=as_utc(ingested_at),
        )
    except ValidationError as exc:
        raise IngestRejection("validation_failed", describe_validation_error(exc)) from None


def _optional(value: str | None) -> str | None:
    return clean_inline(value) or None if value else None
