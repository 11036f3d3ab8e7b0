"""The worker's ``on_acknowledged`` hook: told each batch once Kafka has its output, before the commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer

from schemas.dead_letter import FailureStage
from services.runtime.kafka import committed_offsets, ensure_topics, make_consumer, make_producer
from services.runtime.messages import Emit, Emitted, Message, Outcome
from services.runtime.settings import KafkaSettings
from services.runtime.worker import Worker


class _Upper:
    def __init__(self, out_topic: str) -> None:
        self.out_topic = out_topic

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        return [Emitted((Emit(self.out_topic, m.key, (m.value or b"").upper()),)) for m in messages]


def _read_all(bootstrap: str, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=3000
    )
    try:
        return [record.value for record in consumer]
    finally:
        consumer.close()


def test_the_hook_sees_the_output_on_kafka_and_the_offsets_not_yet_committed(endpoints) -> None:  # type: ignore[no-untyped-def]
    settings = KafkaSettings()
    run = uuid.uuid4().hex[:10]
    source, out, group = f"test.ack.in.{run}", f"test.ack.out.{run}", f"test-ack-{run}"
    ensure_topics(settings, {source: 1, out: 1})
    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    for value in (b"a", b"b"):
        producer.send(source, key=value, value=value)
    producer.flush()
    producer.close()
    seen: list[tuple[list[bytes], list[bytes], int]] = []

    def acknowledged(messages: Sequence[Message], outcomes: Sequence[Outcome]) -> None:
        on_kafka = _read_all(endpoints.kafka_bootstrap, out)
        committed = sum(committed_offsets(settings, group, source).values())
        seen.append(([m.value or b"" for m in messages], on_kafka, committed))

    worker = Worker(
        name="test-ack",
        stage=FailureStage.ALERT,
        handler=_Upper(out),
        consumer=make_consumer(settings, group, [source], "test-ack"),
        producer=make_producer(settings, "test-ack"),
        on_acknowledged=acknowledged,
    )
    try:
        processed = 0
        for _ in range(60):
            processed += worker.run_once()
            if processed == 2:
                break
    finally:
        worker.close()
    assert [values for values, _, _ in seen] in ([[b"a", b"b"]], [[b"a"], [b"b"]])
    _, on_kafka, committed_before = seen[-1]
    assert sorted(on_kafka) == [b"A", b"B"]
    assert committed_before < 2, "the hook runs before the batch's commit"
    assert sum(committed_offsets(settings, group, source).values()) == 2
