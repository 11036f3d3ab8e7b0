"""Pure parts of the shared runtime: retry policy, per-message error isolation, DLQ records, settings."""

from __future__ import annotations

import logging

import orjson
import pytest

from schemas.dead_letter import DeadLetter, FailureReason, FailureStage
from services.runtime.dead_letters import dead_letter_record
from services.runtime.logging import JsonFormatter
from services.runtime.messages import Emitted, Message, Rejected, TransientError
from services.runtime.settings import ElasticsearchSettings, KafkaSettings
from services.runtime.worker import MessageHandler, RetryPolicy


def _message(value: bytes | None = b"x", **headers: bytes) -> Message:
    return Message("articles.raw", 2, 41, b"key-1", value, dict(headers), 1_700_000_000_000)


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(initial_s=0.5, max_s=4.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 4.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))


class _Flaky(MessageHandler):
    def handle(self, message: Message) -> Emitted | Rejected:
        if message.value == b"boom":
            raise ValueError("bug on this input")
        if message.value == b"later":
            raise TransientError("dependency down")
        return Emitted(())


def test_a_bug_on_one_message_dead_letters_only_that_message() -> None:
    outcomes = _Flaky().process([_message(b"ok"), _message(b"boom"), _message(b"ok")])
    assert isinstance(outcomes[0], Emitted) and isinstance(outcomes[2], Emitted)
    assert isinstance(outcomes[1], Rejected)
    assert outcomes[1].reason == "unhandled_error"
    assert "ValueError: bug on this input" in outcomes[1].detail


def test_transient_errors_propagate_so_the_batch_is_retried() -> None:
    with pytest.raises(TransientError):
        _Flaky().process([_message(b"ok"), _message(b"later")])


def test_dead_letter_record_keeps_origin_trace_and_capped_payload() -> None:
    message = _message(b"0123456789", **{"newswire-trace-id": b"trace-7"})
    record = dead_letter_record(
        message,
        Rejected(FailureReason.INVALID_JSON, "Expecting value"),
        FailureStage.INGEST,
        "ingest",
        max_payload_bytes=4,
    )
    letter = DeadLetter.model_validate(orjson.loads(record.value))
    assert record.topic == "articles.dlq"
    assert record.key == b"key-1"
    assert letter.trace_id == "trace-7"
    assert (letter.stage, letter.reason) == (FailureStage.INGEST, "invalid_json")
    assert letter.payload() == b"0123"
    assert (letter.payload_size, letter.payload_truncated) == (10, True)
    src = letter.source_record
    assert (src.topic, src.partition, src.offset, src.headers) == (
        "articles.raw",
        2,
        41,
        {"newswire-trace-id": "trace-7"},
    )


def test_dead_letter_of_an_empty_message_is_still_valid() -> None:
    record = dead_letter_record(
        _message(None), Rejected(FailureReason.EMPTY, "no bytes"), FailureStage.INGEST, "ingest", 10
    )
    letter = DeadLetter.model_validate_json(record.value)
    assert letter.payload() == b"" and letter.payload_size == 0


def test_secrets_reach_the_clients_but_not_their_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("NEWSWIRE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("NEWSWIRE_KAFKA_SASL_USERNAME", "pipeline")
    monkeypatch.setenv("NEWSWIRE_KAFKA_SASL_PASSWORD", "kafka-s3cret")
    monkeypatch.setenv("NEWSWIRE_ES_API_KEY", "es-s3cret")
    kafka, es = KafkaSettings(), ElasticsearchSettings()
    assert kafka.client_config()["sasl_plain_password"] == "kafka-s3cret"
    assert es.client_kwargs()["api_key"] == "es-s3cret"
    assert "s3cret" not in repr(kafka) + repr(es) + str(kafka.model_dump()) + str(es.model_dump())


def test_json_log_lines_carry_service_and_extra_fields() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "dead-lettered %s", ("now",), None)
    record.article_id = "abc"
    line = orjson.loads(JsonFormatter("ingest").format(record))
    assert line["service"] == "ingest" and line["msg"] == "dead-lettered now"
    assert line["article_id"] == "abc" and line["level"] == "warning"
