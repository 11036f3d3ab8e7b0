"""Turning a rejected message into a DLQ record that keeps the original bytes for replay."""

from __future__ import annotations

import orjson

from schemas.dead_letter import DeadLetter, FailureStage, SourceRecord
from schemas.envelope import new_envelope_fields
from schemas.topics import TOPICS
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Emit, Message, Rejected


def dead_letter_record(
    message: Message, rejection: Rejected, stage: FailureStage, producer: str, max_payload_bytes: int
) -> Emit:
    """The ``articles.dlq`` record for ``message``, keyed like the original so replays keep order."""
    payload_b64, size, truncated = DeadLetter.encode_payload(message.value or b"", max_payload_bytes)
    trace_id = rejection.trace_id or message.header(TRACE_HEADER)
    letter = DeadLetter(
        **new_envelope_fields(producer, trace_id),
        stage=stage,
        reason=rejection.reason,
        detail=rejection.detail[:10_000],
        article_id=rejection.article_id,
        source_record=SourceRecord(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key.decode("utf-8", "replace") if message.key is not None else None,
            timestamp_ms=message.timestamp_ms,
            headers={k: v.decode("utf-8", "replace") for k, v in message.headers.items()},
        ),
        payload_b64=payload_b64,
        payload_size=size,
        payload_truncated=truncated,
    )
    headers: list[tuple[str, bytes]] = [(TRACE_HEADER, letter.trace_id.encode())]
    if rejection.article_id:
        headers.append((ARTICLE_HEADER, rejection.article_id.encode()))
    key = rejection.article_id.encode() if rejection.article_id else message.key
    return Emit(TOPICS.dlq, key, orjson.dumps(letter.model_dump(mode="json")), tuple(headers))
