"""Enriched-article events and Kafka messages for index tests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.articles import ContentFormat, EnrichedArticle, EnricherRun
from schemas.envelope import ArticleEnriched, new_envelope_fields
from schemas.topics import TOPICS
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Message


def enriched_article(article_id: str | None = None, **overrides: Any) -> EnrichedArticle:
    """A valid enriched article with a fresh id; ``overrides`` replace any field."""
    paragraphs = overrides.pop("paragraphs", ["Leaders met in Astana.", "They discussed trade and security."])
    title = overrides.pop("title", "Summit in Astana")
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": article_id or uuid.uuid4().hex,
        "id_basis": "content",
        "title": title,
        "paragraphs": paragraphs,
        "content_format": ContentFormat.TEXT,
        "content_hash": hashlib.sha256("\n".join([title, *paragraphs]).encode()).hexdigest(),
        "ingested_at": now,
        "language": "en",
        "word_count": sum(len(p.split()) for p in paragraphs),
        "reading_time_minutes": 0.1,
        "enrichers": [EnricherRun(name="language", version="1")],
        "enriched_at": now,
    }
    fields.update(overrides)
    return EnrichedArticle(**fields)


def enriched_event(article: EnrichedArticle | None = None, trace_id: str | None = None) -> ArticleEnriched:
    return ArticleEnriched(**new_envelope_fields("enrich", trace_id), article=article or enriched_article())


def event_bytes(event: ArticleEnriched) -> bytes:
    return orjson.dumps(event.model_dump(mode="json"))


def message(value: bytes | ArticleEnriched | dict[str, Any], offset: int = 0, partition: int = 0) -> Message:
    """A consumed ``articles.enriched`` record holding ``value`` (an event is serialized as services do)."""
    headers: dict[str, bytes] = {}
    key = None
    if isinstance(value, ArticleEnriched):
        headers = {TRACE_HEADER: value.trace_id.encode(), ARTICLE_HEADER: value.article.id.encode()}
        key = value.article.id.encode()
        value = event_bytes(value)
    elif isinstance(value, dict):
        value = orjson.dumps(value)
    return Message(TOPICS.enriched, partition, offset, key, value, headers)
