"""Ingested articles, events and Kafka records for enrich tests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.articles import Article, ContentFormat
from schemas.envelope import ArticleIngested, new_envelope_fields
from schemas.topics import TOPICS
from services.runtime.messages import Message

ENGLISH_PARAGRAPHS = [
    "The leaders of the regional bloc gathered in the capital on Wednesday for a two-day summit.",
    "They discussed trade, energy and security, and agreed to meet again before the end of the year.",
]
FRENCH_PARAGRAPH = (
    "Les dirigeants se sont réunis mercredi dans la capitale pour un sommet de deux jours. "
    "Ils ont parlé du commerce, de l'énergie et de la sécurité de la région."
)
GERMAN_PARAGRAPH = (
    "Die Regierungschefs trafen sich am Mittwoch in der Hauptstadt zu einem zweitägigen Gipfel. "
    "Sie sprachen über Handel, Energie und die Sicherheit der ganzen Region."
)


def article(**overrides: Any) -> Article:
    """A valid ingested article with a fresh id; ``overrides`` replace any field."""
    title = overrides.pop("title", "Regional summit ends with a promise to meet again")
    paragraphs = overrides.pop("paragraphs", ENGLISH_PARAGRAPHS)
    fields: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "id_basis": "url",
        "url": "https://news.example/summit?utm_source=x",
        "canonical_url": "https://news.example/summit",
        "source": "Example News",
        "title": title,
        "section": "World",
        "breadcrumb": ["News", "World"],
        "paragraphs": paragraphs,
        "caption": "Leaders at the summit. (Photo by Example)",
        "published_at": datetime(2024, 7, 3, 9, 30, tzinfo=UTC),
        "authors": ["A. Reporter"],
        "language_hint": None,
        "content_format": ContentFormat.JSON,
        "content_hash": hashlib.sha256("\n".join([title, *paragraphs]).encode()).hexdigest(),
        "ingested_at": datetime(2024, 7, 3, 10, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return Article(**fields)


def ingested_event(source: Article | None = None, trace_id: str | None = None) -> ArticleIngested:
    return ArticleIngested(**new_envelope_fields("ingest", trace_id), article=source or article())


def event_dict(event: ArticleIngested) -> dict[str, Any]:
    return event.model_dump(mode="json")


def record(value: bytes | None, headers: dict[str, bytes] | None = None, offset: int = 7) -> Message:
    """A consumed ``articles.ingested`` record."""
    return Message(
        topic=TOPICS.ingested,
        partition=2,
        offset=offset,
        key=b"k",
        value=value,
        headers=headers or {},
        timestamp_ms=1_720_000_000_000,
    )


def record_of(data: ArticleIngested | dict[str, Any]) -> Message:
    payload = event_dict(data) if isinstance(data, ArticleIngested) else data
    return record(orjson.dumps(payload))
