"""What handlers see and return: plain values, so handlers are pure and testable without Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.dead_letter import FailureReason


@dataclass(frozen=True)
class Message:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes] = field(default_factory=dict)
    timestamp_ms: int | None = None

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
