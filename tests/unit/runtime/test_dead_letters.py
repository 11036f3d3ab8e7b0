"""Building a dead letter never fails, whatever the record carried, and says what it changed."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.dead_letter import DeadLetter, FailureReason, FailureStage
from services.runtime import dead_letters
from services.runtime.dead_letters import (
    MAX_HEADER_VALUE_CHARS,
    MAX_KEY_BYTES,
    dead_letter_record,
    minimal_dead_letter,
    usable_trace_id,
)
from services.runtime.messages import TRACE_HEADER, Message, Rejected, message_from_record

REASONS = st.sampled_from(list(FailureReason))
# Header names as a client may hand them: text (with lone surrogates from a non-UTF-8 name), or bytes.
NAMES = st.one_of(st.text(max_size=300), st.binary(max_size=300))
VALUES = st.one_of(st.none(), st.binary(max_size=20_000))
TEXT = st.text(max_size=20_000)


def build(message: Message, rejection: Rejected, max_payload: int = 1024) -> DeadLetter:
    record = dead_letter_record(message, rejection, FailureStage.INDEX, "index", max_payload)
    assert record.topic == "articles.dlq"
    letter = DeadLetter.model_validate_json(record.value)
    # What goes to Kafka must be encodable by the client: text headers, bytes values.
    for name, value in record.headers:
        name.encode("utf-8")
        assert isinstance(value, bytes)
    return letter


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    key=st.one_of(st.none(), st.binary(max_size=40_000)),
    value=st.one_of(st.none(), st.binary(max_size=5000)),
    headers=st.lists(st.tuples(NAMES, VALUES), max_size=120),
    reason=REASONS,
    detail=TEXT,
    article_id=st.one_of(st.none(), TEXT),
    trace_id=st.one_of(st.none(), TEXT),
    topic=st.text(max_size=400),
    timestamp=st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
)
def test_any_record_makes_a_valid_dead_letter(
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str | bytes, bytes | None]],
    reason: FailureReason,
    detail: str,
    article_id: str | None,
    trace_id: str | None,
    topic: str,
    timestamp: int | None,
) -> None:
    message = message_from_record(topic, 3, 42, key, value, headers, timestamp)
    letter = build(message, Rejected(reason, detail, article_id, trace_id))
    assert letter.reason is reason
    assert letter.payload() == (value or b"")[:1024]
    assert letter.payload_size == len(value or b"")
    assert (letter.source_record.partition, letter.source_record.offset) == (3, 42)
    assert len(letter.detail) <= 10_000
    if trace_id and usable_trace_id(trace_id):
        assert letter.trace_id == trace_id


def test_the_reported_crash_a_200_character_trace_header_gets_a_fresh_id_and_says_so() -> None:
    message = message_from_record(
        "articles.enriched", 0, 7, None, b"not json at all {", [(TRACE_HEADER, b"t" * 200)], None
    )
    letter = build(message, Rejected(FailureReason.INVALID_JSON, "not JSON", trace_id="t" * 200))
    assert letter.trace_id != "t" * 200
    assert len(letter.trace_id) <= 128
    assert "trace id unusable (200 characters)" in letter.detail
    assert letter.source_record.headers[TRACE_HEADER] == "t" * 200, "the original header is kept"


@pytest.mark.parametrize("trace_id", ["", " ", "a b", "x" * 129, "tr\x00ce", "tracé", "\udcff", "ok\n"])
def test_unusable_trace_ids_are_replaced(trace_id: str) -> None:
    assert usable_trace_id(trace_id) is None
    message = message_from_record(
        "t", 0, 0, None, b"", [(TRACE_HEADER, trace_id.encode("utf-8", "replace"))], None
    )
    letter = build(message, Rejected(FailureReason.EMPTY_MESSAGE, "empty", trace_id=trace_id))
    assert 1 <= len(letter.trace_id) <= 128 and letter.trace_id != trace_id


def test_duplicate_headers_are_all_kept_in_order() -> None:
    pairs = [("a", b"1"), ("b", b"x"), ("a", b"2"), ("a", None)]
    message = message_from_record("t", 0, 0, None, b"v", pairs, None)
    assert message.headers == {"a": b"", "b": b"x"}
    letter = build(message, Rejected(FailureReason.VALIDATION_FAILED, "bad"))
    assert letter.source_record.header_pairs == [("a", "1"), ("b", "x"), ("a", "2"), ("a", "")]
    assert "header names repeat" in letter.detail


def test_headers_without_repeats_keep_the_compact_form() -> None:
    message = message_from_record("t", 0, 0, None, b"v", [("a", b"1")], None)
    letter = build(message, Rejected(FailureReason.VALIDATION_FAILED, "bad"))
    assert letter.source_record.headers == {"a": "1"}
    assert letter.source_record.header_pairs is None
    assert "[dead letter" not in letter.detail, "nothing changed, nothing to say"


def test_non_utf8_header_names_and_values_are_replaced_with_a_note() -> None:
    message = message_from_record("t", 0, 0, None, b"v", [(b"\xff\xfename", b"\xc3\x28")], None)
    letter = build(message, Rejected(FailureReason.VALIDATION_FAILED, "bad"))
    [(name, value)] = letter.source_record.headers.items()
    assert name.endswith("name") and "\ufffd" in name
    assert "\ufffd" in value
    assert "not UTF-8" in letter.detail


def test_huge_header_values_and_keys_are_cut_with_a_marker() -> None:
    key = b"k" * (MAX_KEY_BYTES + 10)
    message = message_from_record("t", 0, 0, key, b"v", [("big", b"x" * 10_240)], None)
    record = dead_letter_record(
        message, Rejected(FailureReason.INVALID_JSON, "x"), FailureStage.INDEX, "i", 10
    )
    letter = DeadLetter.model_validate_json(record.value)
    assert len(letter.source_record.headers["big"]) == MAX_HEADER_VALUE_CHARS
    assert letter.source_record.headers["big"].endswith("more chars]")
    assert letter.source_record.key is not None and letter.source_record.key.endswith("[10 more bytes]")
    assert record.key is not None and record.key.startswith(b"sha256:"), "a huge key is not copied to the DLQ"
    assert "key of" in letter.detail


def test_a_letter_that_cannot_be_built_falls_back_to_a_minimal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("schema bug")

    monkeypatch.setattr(dead_letters, "_full_letter", broken)
    message = message_from_record("t", 1, 2, b"k", b"payload", [(TRACE_HEADER, b"abc")], None)
    letter = build(message, Rejected(FailureReason.ES_REJECTED, "refused"))
    assert letter.reason is FailureReason.ES_REJECTED
    assert "minimal dead letter" in letter.detail and "schema bug" in letter.detail
    assert letter.payload() == b"payload"


@given(reason=st.text(max_size=50), detail=TEXT, topic=st.text(max_size=1000))
def test_the_minimal_letter_is_valid_even_with_a_reason_outside_the_vocabulary(
    reason: str, detail: str, topic: str
) -> None:
    message = message_from_record(topic, 0, 0, None, None, None, None)
    record = minimal_dead_letter(message, Rejected(reason, detail), FailureStage.ENRICH, "enrich", 10)  # type: ignore[arg-type]
    letter = DeadLetter.model_validate(orjson.loads(record.value))
    assert letter.reason in set(FailureReason)
