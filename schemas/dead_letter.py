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
    ALERT = "alert"


class FailureReason(StrEnum):
    """Why a record was dead-lettered: the stable codes of ``DeadLetter.reason``, for every stage.

    Each code's one-line meaning is in :data:`FAILURE_REASON_MEANINGS`. README's table of reasons is
    generated from it (``python3 -m schemas.readme``) and a unit test keeps the two
    in step.
    """

    # Any stage: the record itself.
    EMPTY = "empty"
    EMPTY_MESSAGE = "empty_message"
    TOO_LARGE = "too_large"
    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    VALIDATION_FAILED = "validation_failed"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    # Ingest: a submission that parses but cannot become an article.
    MISSING_TITLE = "missing_title"
    MISSING_BODY = "missing_body"
    TOO_LONG = "too_long"
    IMPLAUSIBLE_DATE = "implausible_date"
    # Enrich and index: processing a valid event failed for good.
    ENRICH_FAILED = "enrich_failed"
    OUTPUT_TOO_LARGE = "output_too_large"
    ES_REJECTED = "es_rejected"
    UNHANDLED_ERROR = "unhandled_error"
    # Alert: a watch's webhook did not take an alert.
    WEBHOOK_FAILED = "webhook_failed"
    # Operators.
    SKIPPED_BY_OPERATOR = "skipped_by_operator"

    @property
    def meaning(self) -> str:
        return FAILURE_REASON_MEANINGS[self]


#: One line per reason: what it means, for the docs and ``newswire dlq``.
FAILURE_REASON_MEANINGS: dict[FailureReason, str] = {
    FailureReason.EMPTY: "ingest: the submission has no content, or only whitespace and control characters",
    FailureReason.EMPTY_MESSAGE: "enrich/index: the record has no value (a tombstone) or an empty one",
    FailureReason.TOO_LARGE: "ingest: the submission is over the configured message size limit",
    FailureReason.INVALID_ENCODING: "ingest: the bytes are not valid in the declared (or an unknown) charset",
    FailureReason.INVALID_JSON: "the value is not JSON (or JSON nested too deep to parse)",
    FailureReason.NOT_AN_OBJECT: "ingest: the JSON is not an object (an array, a string, a number...)",
    FailureReason.VALIDATION_FAILED: (
        "the JSON does not match the contract: a missing or invalid field, a limit broken, "
        "not an object, or an event of another type than the topic carries"
    ),
    FailureReason.UNSUPPORTED_SCHEMA_VERSION: "the schema_version has a major this service cannot read",
    FailureReason.MISSING_TITLE: "ingest: no headline found",
    FailureReason.MISSING_BODY: "ingest: no body text found after the headline",
    FailureReason.TOO_LONG: "title, paragraphs or body over ingest's limits (enrich enforces the body's too)",
    FailureReason.IMPLAUSIBLE_DATE: "ingest: published_at or updated_at too far in the past or the future",
    FailureReason.ENRICH_FAILED: "enrich: an enricher raised on this article",
    FailureReason.OUTPUT_TOO_LARGE: "enrich: the enriched event is larger than the broker accepts",
    FailureReason.ES_REJECTED: "index: Elasticsearch refused the document for good (a mapping or size error)",
    FailureReason.UNHANDLED_ERROR: "a bug: the service raised on this record; quarantined, not retried",
    FailureReason.WEBHOOK_FAILED: (
        "alert: a watch's webhook refused or did not answer the alert on every try (the alert is the payload)"
    ),
    FailureReason.SKIPPED_BY_OPERATOR: "an operator dead-lettered the record a consumer group was stuck on",
}


class SourceRecord(BaseModel):
    """Where the failed message was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int
    key: str | None = None
    timestamp_ms: int | None = None
    headers: dict[str, str] = Field(
        default_factory=dict, description="The record's headers by name (the last value of a repeated name)."
    )
    header_pairs: list[tuple[str, str]] | None = Field(
        default=None,
        description="Every header in record order, set only when a header name repeats.",
    )


class DeadLetter(EventEnvelope):
    """A message a stage could not process, on ``articles.dlq``.

    ``reason`` is a stable machine-readable code (:class:`FailureReason`); ``detail`` is for humans.
    ``payload_b64`` holds the original message value, cut to ``payload_max_bytes``
    (``payload_truncated`` says so), so the event can be replayed.
    """

    event_type: ClassVar[str] = "article.dead_lettered"
    type: Literal["article.dead_lettered"] = "article.dead_lettered"
    stage: FailureStage
    reason: FailureReason = Field(
        description="Why the record was dead-lettered, a stable code: "
        + "; ".join(f"{reason}: {meaning}" for reason, meaning in FAILURE_REASON_MEANINGS.items())
    )
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


README_MARKERS = ("<!-- failure-reasons:start -->", "<!-- failure-reasons:end -->")


def failure_reasons_markdown() -> str:
    """The Markdown table of every :class:`FailureReason` and its meaning, as README shows it."""
    rows = [f"| `{reason}` | {FAILURE_REASON_MEANINGS[reason]} |" for reason in FailureReason]
    return "\n".join(["| reason | meaning |", "| --- | --- |", *rows])


def with_failure_reasons(document: str) -> str:
    """``document`` with the text between :data:`README_MARKERS` replaced by the current table."""
    start, end = README_MARKERS
    head, found_start, rest = document.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found_start and found_end):
        raise ValueError(f"the document has no {start} ... {end} block")
    return f"{head}{start}\n{failure_reasons_markdown()}\n{end}{tail}"
