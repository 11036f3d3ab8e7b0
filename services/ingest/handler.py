"""The ingest handler: one raw submission in, one ``article.ingested`` event (or a rejection) out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from schemas.envelope import ArticleIngested, new_envelope_fields
from schemas.topics import TOPICS
from services.ingest.normalize import ArticleLimits, normalize
from services.ingest.parsing import DEFAULT_MAX_MESSAGE_BYTES, IngestRejection, parse_submission
from services.runtime.messages import (
    ARTICLE_HEADER,
    TRACE_HEADER,
    Emit,
    Emitted,
    Message,
    Rejected,
)
from services.runtime.worker import MessageHandler

PRODUCER = "ingest"
# Publishers may already carry a trace id of their own; the first of these found is kept.
TRACE_HEADER_NAMES = (TRACE_HEADER, "trace-id", "traceparent")
_TRACE_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace_id>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}", re.IGNORECASE)


class IngestHandler(MessageHandler):
    """Validates and normalizes each ``articles.raw`` message; bad input is rejected, never raised."""

    def __init__(
        self,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        limits: ArticleLimits | None = None,
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.clock = clock
        self.limits = limits or ArticleLimits()

    def handle(self, message: Message) -> Emitted | Rejected:
        trace_id = incoming_trace_id(message)
        try:
            content_type = header(message, "content-type")
            submission = parse_submission(message.value, content_type, self.max_message_bytes)
            article = normalize(
                submission, ingested_at=self.clock(), received_at_ms=message.timestamp_ms, limits=self.limits
            )
        except IngestRejection as rejection:
            return Rejected(rejection.reason, rejection.detail, trace_id=trace_id)
        event = ArticleIngested(**new_envelope_fields(PRODUCER, trace_id), article=article)
        record = Emit(
            topic=TOPICS.ingested,
            key=article.id.encode(),
            value=orjson.dumps(event.model_dump(mode="json")),
            headers=((TRACE_HEADER, event.trace_id.encode()), (ARTICLE_HEADER, article.id.encode())),
        )
        return Emitted(records=(record,), article_id=article.id, trace_id=event.trace_id)


def header(message: Message, name: str) -> str | None:
    """A header's value whatever case the publisher wrote its name in."""
    wanted = name.lower()
    for key, value in message.headers.items():
        if key.lower() == wanted:
            return value.decode("utf-8", "replace").strip()
    return None


def incoming_trace_id(message: Message) -> str | None:
    """The publisher's trace id (W3C ``traceparent`` reduced to its trace-id part), if usable."""
    for name in TRACE_HEADER_NAMES:
        value = header(message, name)
        if not value:
            continue
        if name == "traceparent":
            match = _TRACEPARENT.match(value)
            value = match.group("trace_id").lower() if match else ""
        if _TRACE_ID.match(value):
            return value
    return None
