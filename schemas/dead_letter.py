"""The dead-letter record: what failed, where, why, and the original bytes to replay."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import EventEnvelope


class FailureStage(StrEnum):
    INGEST = "ingest"
    ENRICH = "enrich"
    INDEX = "index"


class SourceRecord(BaseModel):
    """Where the failed message was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int
    key: str | None = None
    timestamp_ms: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class DeadLetter(EventEnvelope):
    """A message a stage could not process, on ``articles.dlq``.

    ``reason`` is a stable machine-readable code (e.g. ``invalid_json``, ``validation_failed``,
    ``es_rejected``); ``detail`` is for humans. ``payload_b64`` holds the original message value,
    cut to ``payload_max_bytes`` (``payload_truncated`` says so), so the event can be replayed.
    """

    event_type: ClassVar[str] = "article.dead_lettered"
    type: Literal["article.dead_lettered"] = "article.dead_lettered"
    stage: FailureStage
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    detail: str = Field(max_length=10_000)
    article_id: str | None = None
    source_record: SourceRecord
    payload_b64: str
    payload_size: int = Field(ge=0)
    payload_truncated: bool = False

    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)

    @staticmethod
    def encode_payload(raw: bytes, max_bytes: int) -> tuple[str, int, bool]:
        """Base64 of at most ``max_bytes`` of ``raw``, its full size, and whether it was cut."""
        kept = raw[:max_bytes]
        return base64.b64encode(kept).decode("ascii"), len(raw), len(kept) < len(raw)
