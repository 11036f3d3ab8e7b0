"""The shared worker loop against a real broker: commit only after output is acknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.dead_letter import DeadLetter, FailureStage
from services.runtime.kafka import committed_offsets, ensure_topics, make_consumer, make_producer
from services.runtime.messages import Emit, Emitted, Message, Outcome, Rejected, TransientError
from services.runtime.settings import KafkaSettings
from services.runtime.worker import RetryPolicy, Worker


class _Script:
    """Fails the first ``transient_failures`` batches, then upper-cases values; 'bad' is rejected."""

    def __init__(self, out_topic: str, transient_failures: int) -> None:
        self.out_topic = out_topic
        self.transient_failures = transient_failures
        self.calls = 0

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        self.calls += 1
        if self.calls <= self.transient_failures:
            raise TransientError("elasticsearch is down")
        return [
            Rejected("bad_value", "value was 'bad'")
            if m.value == b"bad"
            else Emitted((Emit(self.out_topic, m.key, (m.value or b"").upper()),))
            for m in messages
        ]


def _read_all(bootstrap: str, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        enable_auto_commit=False,
    )
    try:
        return [record.value for record in consumer]
    finally:
        consumer.close()


def _committed(bootstrap: str, group: str, topic: str) -> int:
    return sum(committed_offsets(KafkaSettings(bootstrap_servers=bootstrap), group, topic).values())


def test_worker_retries_transient_failures_then_emits_dead_letters_and_commits(endpoints) -> None:  # type: ignore[no-untyped-def]
    settings = KafkaSettings()
    run = uuid.uuid4().hex[:10]
    source, out = f"test.worker.in.{run}", f"test.worker.out.{run}"
    ensure_topics(settings, {source: 1, out: 1, "articles.dlq": 4})
    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    for value in (b"a", b"bad", b"c"):
        producer.send(source, key=value, value=value)
    producer.flush()
    producer.close()

    group = f"test-worker-{run}"
    handler = _Script(out, transient_failures=2)
    worker = Worker(
        name="test-worker",
        stage=FailureStage.INGEST,
        handler=handler,
        consumer=make_consumer(settings, group, [source], "test-worker"),
        producer=make_producer(settings, "test-worker"),
        retry=RetryPolicy(initial_s=0.1, max_s=0.2),
    )
    try:
        processed = 0
        for _ in range(60):
            processed += worker.run_once()
            if processed == 3:
                break
        assert processed == 3
        assert handler.calls == 3  # two transient failures, one success
        assert worker.stats.retries == 2
        assert _committed(endpoints.kafka_bootstrap, group, source) == 3
    finally:
        worker.close()

    assert sorted(_read_all(endpoints.kafka_bootstrap, out)) == [b"A", b"C"]
    dlq = KafkaConsumer(bootstrap_servers=endpoints.kafka_bootstrap, consumer_timeout_ms=3000)
    partitions = [TopicPartition("articles.dlq", p) for p in dlq.partitions_for_topic("articles.dlq") or ()]
    dlq.assign(partitions)
    dlq.seek_to_beginning()
    letters = [DeadLetter.model_validate_json(r.value) for r in dlq]
    dlq.close()
    mine = [letter for letter in letters if letter.source_record.topic == source]
    assert len(mine) == 1
    assert mine[0].reason == "bad_value" and mine[0].payload() == b"bad"


def test_uncommitted_batch_is_read_again_after_a_crash(endpoints) -> None:  # type: ignore[no-untyped-def]
    """A worker that dies before committing leaves its batch to the next one: nothing is lost."""
    settings = KafkaSettings()
    run = uuid.uuid4().hex[:10]
    source, out = f"test.worker.in.{run}", f"test.worker.out.{run}"
    ensure_topics(settings, {source: 1, out: 1})
    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    for value in (b"x", b"y"):
        producer.send(source, value=value)
    producer.flush()
    producer.close()
    group = f"test-worker-{run}"

    class _Crash(Exception):
        pass

    class _CrashAfterProcessing(_Script):
        def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
            raise _Crash("process died mid-batch")

    first = Worker(
        name="w1",
        stage=FailureStage.INGEST,
        handler=_CrashAfterProcessing(out, 0),
        consumer=make_consumer(settings, group, [source], "w1"),
        producer=make_producer(settings, "w1"),
    )
    try:
        for _ in range(20):
            try:
                if first.run_once():
                    break
            except _Crash:
                break
    finally:
        first.close()
    assert _committed(endpoints.kafka_bootstrap, group, source) <= 0

    second = Worker(
        name="w2",
        stage=FailureStage.INGEST,
        handler=_Script(out, 0),
        consumer=make_consumer(settings, group, [source], "w2"),
        producer=make_producer(settings, "w2"),
    )
    try:
        processed = 0
        for _ in range(60):
            processed += second.run_once()
            if processed == 2:
                break
    finally:
        second.close()
    assert sorted(_read_all(endpoints.kafka_bootstrap, out)) == [b"X", b"Y"]
    assert _committed(endpoints.kafka_bootstrap, group, source) == 2
