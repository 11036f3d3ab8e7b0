"""What handlers see and return: plain values, so handlers are pure and testable without Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.dead_letter import FailureReason


@dataclass(frozen=True)
class Message:
    """One consumed Kafka record.

    Build it with :func:`message_from_record` from what a Kafka client returns: that never fails,
    whatever the record's headers hold.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes] = field(default_factory=dict)
    timestamp_ms: int | None = None
    #: Every header in record order, repeated names included (``headers`` keeps the last of each).
    header_pairs: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> str | None:
        raw = self.headers.get(name)
        return raw.decode("utf-8", "replace") if raw is not None else None


@dataclass(frozen=True)
class Emit:
    """A record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Emitted:
    """The message was processed; produce these records (possibly none) before committing it."""

    records: tuple[Emit, ...]
    article_id: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class Rejected:
    """Quarantine: the message can never succeed as it is; dead-letter it and move on."""

    reason: FailureReason
    detail: str
    article_id: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class Dropped:
    """Nothing to do (for example an exact duplicate); logged and committed."""

    reason: str
    article_id: str | None = None


Outcome = Emitted | Rejected | Dropped


class TransientError(Exception):
    """Retry later: a dependency is down or overloaded. The batch is retried with capped backoff and
    its offsets stay uncommitted until it succeeds."""


TRACE_HEADER = "newswire-trace-id"
ARTICLE_HEADER = "newswire-article-id"


def message_from_record(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: object,
    timestamp_ms: int | None,
) -> Message:
    """A :class:`Message` from a client's record fields; ``headers`` as the client gives them.

    Headers may come as pairs or a mapping, names as text or bytes, values as bytes or None: every
    pair is kept in order, a None value becomes empty, and a name that is not text is decoded.
    """
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    pairs: list[tuple[str, bytes]] = []
    for name, header_value in items:  # type: ignore[attr-defined]
        text = name if isinstance(name, str) else bytes(name).decode("utf-8", "surrogateescape")
        pairs.append((text, bytes(header_value) if header_value is not None else b""))
    return Message(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        headers=dict(pairs),
        timestamp_ms=timestamp_ms,
        header_pairs=tuple(pairs),
    )


def message_from_consumer_record(record: Any) -> Message:
    """A :class:`Message` from a kafka-python ``ConsumerRecord`` (timestamp already in ms)."""
    return message_from_record(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        record.headers,
        record.timestamp,
    )
