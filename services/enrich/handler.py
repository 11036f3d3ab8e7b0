"""The per-event logic of the enrich agent, free of faust and Kafka so it can be tested as is.

:func:`handle` decides what one consumed record becomes (an enriched event or a rejection);
:func:`process_event` turns that into the records to produce, dead letters included. The faust
agent only converts its event to a :class:`Message` and sends what comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from schemas.articles import MAX_BODY_CHARS, Article, EnrichedArticle
from schemas.dead_letter import FailureReason, FailureStage
from schemas.envelope import (
    ArticleEnriched,
    ArticleIngested,
    new_envelope_fields,
)
from schemas.topics import TOPICS
from services.enrich.pipeline import enrich
from services.runtime.dead_letters import dead_letter_record, usable_trace_id
from services.runtime.events import decode_event
from services.runtime.messages import (
    ARTICLE_HEADER,
    TRACE_HEADER,
    Dropped,
    Emit,
    Emitted,
    Message,
    Outcome,
    Rejected,
)

log = logging.getLogger(__name__)

PRODUCER = "enrich"


Enrich = Callable[[Article], EnrichedArticle]


def handle(message: Message, enrich_article: Enrich = enrich) -> Outcome:
    """Validate one ``articles.ingested`` record and enrich its article."""
    event = decode_event(message, ArticleIngested)
    if isinstance(event, Rejected):
        return event
    article_id, trace_id = event.article.id, event.trace_id
    body_chars = sum(len(paragraph) for paragraph in event.article.paragraphs)
    if body_chars > MAX_BODY_CHARS:
        # Not from ingest, which never emits more; enriching megabytes would hold the event loop
        # (and the partition) for minutes.
        return Rejected(
            FailureReason.TOO_LONG,
            f"body has {body_chars} characters; ingest's limit, enforced here too, is {MAX_BODY_CHARS}",
            article_id,
            trace_id,
        )
    try:
        enriched = enrich_article(event.article)
    except Exception as exc:
        log.exception("enrichment failed", extra={"article_id": article_id, "trace_id": trace_id})
        return Rejected(FailureReason.ENRICH_FAILED, f"{type(exc).__name__}: {exc}", article_id, trace_id)
    output = ArticleEnriched(**new_envelope_fields(PRODUCER, trace_id), article=enriched)
    record = Emit(
        TOPICS.enriched,
        article_id.encode(),
        orjson.dumps(output.model_dump(mode="json")),
        ((TRACE_HEADER, trace_id.encode()), (ARTICLE_HEADER, article_id.encode())),
    )
    return Emitted((record,), article_id, trace_id)


def process_event(
    message: Message, dlq_payload_max_bytes: int, enrich_article: Enrich = enrich
) -> list[Emit]:
    """The records to produce for one consumed record; never raises on bad input."""
    started = time.process_time()
    try:
        outcome = handle(message, enrich_article)
    except Exception as exc:  # a bug in handle() must not stop the stream: quarantine the record
        log.exception("handler failed", extra=_position(message))
        outcome = Rejected(
            FailureReason.UNHANDLED_ERROR,
            f"{type(exc).__name__}: {exc}",
            trace_id=usable_trace_id(message.header(TRACE_HEADER)),
        )
    cpu_ms = round((time.process_time() - started) * 1000, 2)
    if isinstance(outcome, Emitted):
        log.info(
            "enriched",
            extra={"article_id": outcome.article_id, "trace_id": outcome.trace_id, "cpu_ms": cpu_ms},
        )
        return list(outcome.records)
    if isinstance(outcome, Rejected):
        log.warning(
            "dead-lettered",
            extra={
                "reason": outcome.reason,
                "detail": outcome.detail[:500],
                "article_id": outcome.article_id,
                "trace_id": outcome.trace_id,
                **_position(message),
            },
        )
        return [dead_letter_record(message, outcome, FailureStage.ENRICH, PRODUCER, dlq_payload_max_bytes)]
    if isinstance(outcome, Dropped):
        log.info("dropped", extra={"reason": outcome.reason, "article_id": outcome.article_id})
    return []


def output_too_large(message: Message, record: Emit, error: str, payload_max_bytes: int) -> Emit:
    """The dead letter sent instead of a ``record`` the broker refused as too large.

    ``payload_max_bytes`` should be small enough for any broker's limit, or this one is refused too.
    """
    rejection = Rejected(
        FailureReason.OUTPUT_TOO_LARGE,
        f"{len(record.value)} byte record for {record.topic} refused: {error}",
        message.header(ARTICLE_HEADER) or (record.key.decode("utf-8", "replace") if record.key else None),
        usable_trace_id(dict(record.headers).get(TRACE_HEADER, b"").decode("utf-8", "replace")),
    )
    return dead_letter_record(message, rejection, FailureStage.ENRICH, PRODUCER, payload_max_bytes)


def _position(message: Message) -> dict[str, Any]:
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}
