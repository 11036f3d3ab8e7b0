"""The shared worker loop against a real broker: commit only after output is acknowledged."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.dead_letter import DeadLetter, FailureReason, FailureStage
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
            Rejected(FailureReason.VALIDATION_FAILED, "value was 'bad'")
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
    assert mine[0].reason == "validation_failed" and mine[0].payload() == b"bad"


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


class _Staged:
    """A staged handler (prepare, then write) that upper-cases values; the first write can be held.

    With ``committed_probe``, the first write also waits (up to 10 s) for the worker to prepare
    the next batch, and records what was committed at that moment.
    """

    def __init__(
        self,
        out_topic: str,
        *,
        transient_failures: int = 0,
        committed_probe: Callable[[], int] | None = None,
    ) -> None:
        self.out_topic = out_topic
        self.transient_failures = transient_failures
        self.committed_probe = committed_probe
        self.prepared: list[list[int]] = []
        self.writes = 0
        self.hold_first_write_until = threading.Event()
        self.first_write_started = threading.Event()
        self.prepared_during_first_write = False
        self.committed_during_first_write: int | None = None
        self._lock = threading.Lock()

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        return self.write(self.prepare(messages))

    def prepare(self, messages: Sequence[Message]) -> list[Message]:
        self.prepared.append([m.offset for m in messages])
        return list(messages)

    def write(self, messages: list[Message]) -> Sequence[Outcome]:
        with self._lock:
            self.writes += 1
            first = self.writes == 1
            if self.writes <= self.transient_failures:
                raise TransientError("elasticsearch is down")
        if first:
            self.first_write_started.set()
            if self.committed_probe is not None:
                deadline = time.monotonic() + 10
                while len(self.prepared) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.prepared_during_first_write = len(self.prepared) >= 2
                self.committed_during_first_write = self.committed_probe()
            self.hold_first_write_until.wait(10)
        return [Emitted((Emit(self.out_topic, m.key, (m.value or b"").upper()),)) for m in messages]


@dataclass(frozen=True)
class _Pipe:
    """A fresh source topic holding ``values``, an output topic and a consumer group for one test."""

    settings: KafkaSettings
    bootstrap: str
    source: str
    out: str
    group: str
    values: list[bytes]

    def worker(self, handler: _Staged, *, max_batch: int) -> Worker:
        return Worker(
            name="test-pipelined",
            stage=FailureStage.INDEX,
            handler=handler,
            consumer=make_consumer(
                self.settings, self.group, [self.source], "test-pipelined", max_poll_records=max_batch
            ),
            producer=make_producer(self.settings, "test-pipelined"),
            max_batch=max_batch,
            retry=RetryPolicy(initial_s=0.1, max_s=0.2),
            pipeline_depth=2,
        )

    def committed(self) -> int:
        return _committed(self.bootstrap, self.group, self.source)

    def output(self) -> list[bytes]:
        return _read_all(self.bootstrap, self.out)


def _pipe(bootstrap: str, count: int) -> _Pipe:
    run = uuid.uuid4().hex[:10]
    settings = KafkaSettings()
    pipe = _Pipe(
        settings,
        bootstrap,
        f"test.pipe.in.{run}",
        f"test.pipe.out.{run}",
        f"test-pipe-{run}",
        [f"m{i}".encode() for i in range(count)],
    )
    ensure_topics(settings, {pipe.source: 1, pipe.out: 1})
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for value in pipe.values:
        producer.send(pipe.source, key=value, value=value)
    producer.flush()
    producer.close()
    return pipe


def _run_until_all_committed(worker: Worker, count: int) -> int:
    """``run_once`` until ``count`` messages were read and no batch is left in flight."""
    processed = 0
    for _ in range(100):
        processed += worker.run_once()
        if processed == count and not worker._in_flight:
            break
    return processed


def test_pipelined_worker_prepares_the_next_batch_during_a_write_and_commits_in_order(endpoints) -> None:  # type: ignore[no-untyped-def]
    pipe = _pipe(endpoints.kafka_bootstrap, 6)
    handler = _Staged(pipe.out, committed_probe=pipe.committed)
    handler.hold_first_write_until.set()  # held only until the next batch is prepared
    worker = pipe.worker(handler, max_batch=2)
    try:
        assert _run_until_all_committed(worker, 6) == 6
    finally:
        worker.close()

    assert handler.prepared_during_first_write, "the next batch was not prepared while the first was written"
    assert handler.committed_during_first_write == 0, "something was committed before its write finished"
    assert pipe.committed() == 6
    # Batches finish in order, so their output keeps the input order.
    assert pipe.output() == [v.upper() for v in pipe.values]


def test_pipelined_worker_retries_a_failed_write_before_committing(endpoints) -> None:  # type: ignore[no-untyped-def]
    pipe = _pipe(endpoints.kafka_bootstrap, 5)
    handler = _Staged(pipe.out, transient_failures=2)
    handler.hold_first_write_until.set()
    worker = pipe.worker(handler, max_batch=5)
    try:
        assert _run_until_all_committed(worker, 5) == 5
        assert worker.stats.retries == 2
    finally:
        worker.close()
    assert pipe.committed() == 5
    assert pipe.output() == [v.upper() for v in pipe.values]


def test_pipelined_worker_stopping_mid_write_commits_what_was_written(endpoints) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM while a write is running: the worker finishes and commits it, then leaves."""
    pipe = _pipe(endpoints.kafka_bootstrap, 4)
    handler = _Staged(pipe.out)
    worker = pipe.worker(handler, max_batch=4)
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    assert handler.first_write_started.wait(30), "the worker never started a write"
    worker.stop()
    handler.hold_first_write_until.set()
    runner.join(60)
    assert not runner.is_alive()
    assert pipe.committed() == 4
    assert pipe.output() == [v.upper() for v in pipe.values]
