"""The worker's read and write path on hostile records: every header kept, nothing too large stalls."""

from __future__ import annotations

from typing import Any

from kafka.errors import MessageSizeTooLargeError
from kafka.future import Future

from schemas.dead_letter import DeadLetter, FailureReason, FailureStage
from services.runtime.messages import Emit, Emitted, Outcome, Rejected, message_from_consumer_record
from services.runtime.worker import RetryPolicy, Worker
from tests.unit.runtime.test_metrics import FakeConsumer, FakeRecord


class LimitedProducer:
    """Acknowledges records up to ``limit`` bytes and refuses bigger ones, as a broker would."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.accepted: list[tuple[str, bytes]] = []
        self.refused = 0

    def send(self, topic: str, *, key: bytes | None, value: bytes, headers: list[Any]) -> Future:
        future: Future = Future()
        if len(value) > self.limit:
            self.refused += 1
            future.failure(MessageSizeTooLargeError(f"{len(value)} bytes"))
        else:
            self.accepted.append((topic, value))
            future.success(None)
        return future

    def flush(self, **_: Any) -> None: ...


class Reject:
    def process(self, messages: Any) -> list[Outcome]:
        return [Rejected(FailureReason.INVALID_JSON, "not JSON") for _ in messages]


class EmitHuge:
    def process(self, messages: Any) -> list[Outcome]:
        return [Emitted((Emit("test.out", None, b"x" * 500_000),), "a-1", "t-1") for _ in messages]


def worker(handler: Any, producer: LimitedProducer, value: bytes) -> Worker:
    return Worker(
        name="test",
        stage=FailureStage.INDEX,
        handler=handler,
        consumer=FakeConsumer([FakeRecord(0, value)]),  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        retry=RetryPolicy(initial_s=0.001, max_s=0.001),
    )


def test_a_dead_letter_the_broker_refuses_is_sent_again_smaller_not_skipped() -> None:
    producer = LimitedProducer(limit=200_000)
    assert worker(Reject(), producer, b"{" * 900_000).run_once() == 1
    assert producer.refused == 1
    [(topic, value)] = producer.accepted
    letter = DeadLetter.model_validate_json(value)
    assert topic == "articles.dlq" and letter.reason is FailureReason.INVALID_JSON
    assert letter.payload_truncated and letter.payload_size == 900_000 and 0 < len(letter.payload()) < 900_000


def test_a_refused_smaller_letter_becomes_a_minimal_one() -> None:
    producer = LimitedProducer(limit=5_000)
    assert worker(Reject(), producer, b"{" * 900_000).run_once() == 1
    [(_, value)] = producer.accepted
    letter = DeadLetter.model_validate_json(value)
    assert "minimal dead letter" in letter.detail and letter.payload_size == 900_000


def test_an_output_the_broker_refuses_is_dead_lettered_as_output_too_large() -> None:
    producer = LimitedProducer(limit=100_000)
    assert worker(EmitHuge(), producer, b"input").run_once() == 1
    [(topic, value)] = producer.accepted
    letter = DeadLetter.model_validate_json(value)
    assert (topic, letter.reason, letter.article_id) == (
        "articles.dlq",
        FailureReason.OUTPUT_TOO_LARGE,
        "a-1",
    )
    assert letter.payload() == b"input"


def test_every_header_is_kept_with_none_values_and_repeated_names() -> None:
    record = FakeRecord(3, b"v")
    record.headers = [("a", b"1"), ("a", None), ("b", b"2")]  # type: ignore[list-item]
    message = message_from_consumer_record(record)
    assert message.header_pairs == (("a", b"1"), ("a", b""), ("b", b"2"))
    assert message.headers == {"a": b"", "b": b"2"}
