"""The one place where Kafka I/O, commits, retries and dead-lettering happen.

A worker polls a batch, hands it to a handler (a pure function of messages to outcomes), produces
what the handler emitted plus DLQ records for what it rejected, waits for Kafka to acknowledge all
of it, and only then commits the batch's offsets. A crash anywhere before the commit means the
batch is read again after restart: at-least-once delivery, made exactly-once in the index by
idempotent writes keyed on the article id.

A handler whose work splits into preparing (CPU) and writing (I/O, see :class:`StagedBatchHandler`)
can be pipelined: the worker polls and prepares the next batch while earlier ones are being
written, so the sink never waits for the consumer. Batches still finish, produce and commit
strictly in order, each only after its own write was acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import (
    CommitFailedError,
    KafkaError,
    MessageSizeTooLargeError,
    RebalanceInProgressError,
    RecordListTooLargeError,
)
from kafka.future import Future as KafkaFuture
from kafka.structs import OffsetAndMetadata, TopicPartition

from schemas.dead_letter import FailureReason, FailureStage
from services.runtime import metrics
from services.runtime.dead_letters import SHRUNK_PAYLOAD_BYTES, dead_letter_record, minimal_dead_letter
from services.runtime.header_names import tolerate_in_kafka_python
from services.runtime.messages import (
    Dropped,
    Emit,
    Emitted,
    Message,
    Outcome,
    Rejected,
    TransientError,
    message_from_consumer_record,
)
from services.runtime.watchdog import Assignment

log = logging.getLogger(__name__)


class BatchHandler(Protocol):
    """Turns a batch of messages into one outcome per message, in order."""

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]: ...


class MessageHandler:
    """Base for handlers that treat each message on its own: override :meth:`handle`.

    An unexpected exception in :meth:`handle` dead-letters that one message with reason
    ``unhandled_error`` instead of stopping the service; :class:`TransientError` propagates so
    the worker retries the batch.
    """

    def handle(self, message: Message) -> Outcome:
        raise NotImplementedError

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        outcomes: list[Outcome] = []
        for message in messages:
            try:
                outcomes.append(self.handle(message))
            except TransientError:
                raise
            except Exception as exc:
                log.exception(
                    "handler failed on a message",
                    extra={"topic": message.topic, "partition": message.partition, "offset": message.offset},
                )
                outcomes.append(Rejected(FailureReason.UNHANDLED_ERROR, f"{type(exc).__name__}: {exc}"))
        return outcomes


class StagedBatchHandler(BatchHandler, Protocol):
    """A batch handler in two steps, which the worker can overlap across batches.

    ``prepare`` is CPU work only (parse, validate, shape): no I/O, and it deals with bad messages
    itself. ``write`` does the I/O and returns one outcome per message; it may raise
    :class:`TransientError`, and must be safe to call again with the same prepared batch.
    """

    def prepare(self, messages: Sequence[Message]) -> Any: ...

    def write(self, prepared: Any) -> Sequence[Outcome]: ...


@dataclass
class _InFlight:
    """A polled batch whose write has been started and whose offsets are not committed yet."""

    messages: list[Message]
    prepared: Any
    written: Future[Sequence[Outcome]]


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter."""

    initial_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_s, self.initial_s * (2 ** max(0, attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class WorkerStats:
    consumed: int = 0
    emitted: int = 0
    dead_lettered: int = 0
    dropped: int = 0
    retries: int = 0
    commits: int = 0


class Worker:
    """Runs one handler over one consumer group until asked to stop."""

    def __init__(
        self,
        *,
        name: str,
        stage: FailureStage,
        handler: BatchHandler,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        max_batch: int = 500,
        poll_timeout_ms: int = 500,
        dlq_payload_max_bytes: int = 1_048_576,
        retry: RetryPolicy | None = None,
        pipeline_depth: int = 0,
        lag_observer: Callable[[int | None], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        on_acknowledged: Callable[[Sequence[Message], Sequence[Outcome]], None] | None = None,
    ) -> None:
        """``pipeline_depth`` > 0 (a :class:`StagedBatchHandler` only): batches written at once while
        the next one is polled and prepared; 0 handles one batch at a time. ``lag_observer`` is told,
        after every poll that returned records, how many messages of the assigned partitions are
        left to read (None while no partition's end is known). ``on_stop`` runs once the last
        batch is committed, before the clients close. ``on_acknowledged`` is told each batch and its
        outcomes once Kafka acknowledged every record produced for it, before its commit (the alert
        service marks its alerts delivered then); its failure is logged, never retried."""
        if pipeline_depth and not (hasattr(handler, "prepare") and hasattr(handler, "write")):
            raise TypeError("pipelining needs a handler with prepare() and write()")
        # The same handler, seen through its two steps when the worker pipelines.
        self._staged = cast(StagedBatchHandler, handler) if pipeline_depth else None
        self.name = name
        self.stage = stage
        self.handler = handler
        self.consumer = consumer
        self.producer = producer
        self.max_batch = max_batch
        self.poll_timeout_ms = poll_timeout_ms
        self.dlq_payload_max_bytes = dlq_payload_max_bytes
        self.retry = retry or RetryPolicy()
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self.pipeline_depth = pipeline_depth
        self._in_flight: deque[_InFlight] = deque()
        self._writer = ThreadPoolExecutor(pipeline_depth, f"{name}-write") if pipeline_depth else None
        # Highest offset this worker committed per partition: a batch re-read after a rebalance
        # must not move the group's offset back behind a later batch's commit.
        self._committed: dict[TopicPartition, int] = {}
        self.lag_observer = lag_observer
        self.on_stop = on_stop
        self.on_acknowledged = on_acknowledged
        self._next_offsets: dict[TopicPartition, int] = {}
        # What the stall watchdog watches (services/runtime/watchdog.py), published after each poll.
        self.assignment = Assignment()
        # Records the broker refused as too large, by source position: an output becomes an
        # output_too_large dead letter, a dead letter is sent again smaller (see _produce).
        self._too_large: dict[tuple[str, int, int], int] = {}
        self._sent: list[tuple[Any, Message, bool]] = []
        # A record whose header name is not UTF-8 must not stop the consumer (header_names.py); a
        # consumer built from KafkaSettings has this already, one built otherwise gets it here. The
        # worker's clients are kafka-python's: aiokafka's parser (enrich's) is left as it is.
        tolerate_in_kafka_python()

    def stop(self, *_: Any) -> None:
        """Finish the batch in hand, commit it, then leave (safe to call from a signal handler)."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        log.info("worker started", extra={"worker": self.name})
        metrics.HEALTH.set_ready(True)
        broker_failures = 0
        try:
            while not self._stop.is_set():
                try:
                    self.run_once()
                    if broker_failures:
                        metrics.HEALTH.set_ready(True)
                    broker_failures = 0
                except KafkaError as exc:
                    if not getattr(exc, "retriable", False):
                        raise
                    # The broker went away under a client call (a restart): the batch in hand was
                    # sought back in run_once, so waiting and polling again loses nothing.
                    broker_failures += 1
                    delay = self.retry.delay(broker_failures)
                    log.warning(
                        "Kafka unavailable, retrying",
                        extra={"attempt": broker_failures, "delay_s": round(delay, 2), "error": repr(exc)},
                    )
                    metrics.HEALTH.set_retrying(f"Kafka unavailable, retrying: {exc!r}"[:300])
                    self._stop.wait(delay)
            self._finish_in_flight()
        finally:
            metrics.HEALTH.set_ready(False, "stopping")
            if self.on_stop is not None:
                try:
                    self.on_stop()
                except Exception:
                    log.exception("on_stop failed")
            self.close()

    def run_once(self) -> int:
        """Poll, process, produce, commit one batch; return how many messages it held.

        Pipelined, the batch polled now is prepared and its write started, and earlier batches
        are finished (produced, committed) once written or to make room.
        """
        if self.pipeline_depth:
            return self._run_once_pipelined()
        polled = self.consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_batch)
        self._beat()
        messages = [message_from_consumer_record(r) for records in polled.values() for r in records]
        if not messages:
            return 0
        self._observe_lag(messages)
        self.stats.consumed += len(messages)
        metrics.record_consumed(messages)
        try:
            outcomes = self._process_with_retry(messages, lambda: self.handler.process(messages))
            if outcomes is None:
                return 0  # stopping while a dependency was down: nothing committed, re-read after restart
            with metrics.PRODUCE_SECONDS.time():
                if not self._produce_until_acknowledged(messages, outcomes):
                    return 0  # stopping while Kafka refused our records: nothing committed
            self._tell_acknowledged(messages, outcomes)
            with metrics.COMMIT_SECONDS.time():
                self._commit(messages)
        except KafkaError:
            # Not committed: read the batch again, or the next batch's commit would skip it.
            self._seek_to_start_of(messages)
            raise
        return len(messages)

    def _run_once_pipelined(self) -> int:
        # While writes are running, poll briefly: finishing them must not wait for new records.
        timeout_ms = min(self.poll_timeout_ms, 50) if self._in_flight else self.poll_timeout_ms
        messages: list[Message] = []
        try:
            polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_batch)
            self._beat()
            messages = [message_from_consumer_record(r) for records in polled.values() for r in records]
            if messages:
                self._observe_lag(messages)
                self.stats.consumed += len(messages)
                metrics.record_consumed(messages)
                with metrics.PROCESS_SECONDS.time():
                    prepared = self._stages().prepare(messages)
                # Make room first: at most pipeline_depth batches are written at once.
                while len(self._in_flight) >= self.pipeline_depth:
                    if not self._finish_oldest():
                        self._abandon_in_flight(messages)
                        return 0
                self._start_write(messages, prepared)
                while self._in_flight and self._in_flight[0].written.done():
                    if not self._finish_oldest():
                        self._abandon_in_flight([])
                        return 0
            elif self._in_flight and not self._finish_oldest():
                # Nothing new to read: wait for the oldest write instead.
                self._abandon_in_flight([])
                return 0
        except KafkaError:
            self._abandon_in_flight(messages)
            raise
        return len(messages)

    def _tell_acknowledged(self, messages: Sequence[Message], outcomes: Sequence[Outcome]) -> None:
        if self.on_acknowledged is None:
            return
        try:
            self.on_acknowledged(messages, outcomes)
        except Exception:
            log.exception("on_acknowledged failed")

    def _beat(self) -> None:
        """After a poll: the loop is alive, and holds what the consumer is assigned now."""
        metrics.HEALTH.beat()
        self.assignment.publish(self.consumer.assignment())

    def _observe_lag(self, messages: Sequence[Message]) -> None:
        """Tell ``lag_observer`` how far behind the partition ends this worker reads now.

        From the high watermarks of the last fetch responses (no request is made) and the offsets
        just polled.
        """
        if self.lag_observer is None:
            return
        for message in messages:
            tp = TopicPartition(message.topic, message.partition)
            self._next_offsets[tp] = max(self._next_offsets.get(tp, 0), message.offset + 1)
        lag: int | None = None
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            next_offset = self._next_offsets.get(tp)
            if highwater is not None and next_offset is not None:
                lag = (lag or 0) + max(0, highwater - next_offset)
        try:
            self.lag_observer(lag)
        except Exception:
            log.exception("lag observer failed")

    def _stages(self) -> StagedBatchHandler:
        assert self._staged is not None, "not a pipelined worker"
        return self._staged

    def _start_write(self, messages: list[Message], prepared: Any) -> None:
        assert self._writer is not None
        written = self._writer.submit(self._stages().write, prepared)
        self._in_flight.append(_InFlight(messages, prepared, written))

    def _finish_oldest(self) -> bool:
        """Wait for the oldest batch's write, retry it if it failed transiently, produce, commit.

        False when asked to stop before it was committed; the caller then abandons the pipeline
        (nothing after the last commit is lost: it is read again after a restart).
        """
        batch = self._in_flight[0]
        write = self._stages().write
        outcomes = self._process_with_retry(
            batch.messages, lambda: write(batch.prepared), first_attempt=batch.written.result
        )
        if outcomes is None:
            return False
        with metrics.PRODUCE_SECONDS.time():
            if not self._produce_until_acknowledged(batch.messages, outcomes):
                return False
        self._tell_acknowledged(batch.messages, outcomes)
        with metrics.COMMIT_SECONDS.time():
            self._commit(batch.messages)
        self._in_flight.popleft()
        return True

    def _finish_in_flight(self) -> None:
        """On the way out: commit what has been written, so that a clean stop re-reads nothing."""
        try:
            while self._in_flight:
                if not self._finish_oldest():
                    break
        except KafkaError as exc:
            log.warning("could not finish the batches in flight", extra={"error": repr(exc)})
        self._abandon_in_flight([])

    def _abandon_in_flight(self, polled: Sequence[Message]) -> None:
        """Give up the uncommitted batches: wait for their writes, then seek back to their start."""
        pending = [message for batch in self._in_flight for message in batch.messages] + list(polled)
        for batch in self._in_flight:
            with contextlib.suppress(Exception):
                batch.written.result()  # its outcome no longer matters: it is read and written again
        self._in_flight.clear()
        if pending:
            try:
                self._seek_to_start_of(pending)
            except KafkaError as exc:
                log.warning(
                    "could not seek back; the committed offsets still hold", extra={"error": repr(exc)}
                )

    def _seek_to_start_of(self, messages: Sequence[Message]) -> None:
        first: dict[TopicPartition, int] = {}
        for message in messages:
            tp = TopicPartition(message.topic, message.partition)
            first[tp] = min(first.get(tp, message.offset), message.offset)
        assigned = self.consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)

    def _produce_until_acknowledged(self, messages: list[Message], outcomes: Sequence[Outcome]) -> bool:
        """Produce the batch's records until Kafka has acknowledged every one; False if asked to stop.

        ``flush`` returns once every send has *completed*, which includes failing (a broker restart
        outlasting the producer's retries): committing then would lose those records, so the whole
        batch's output is sent again (downstream writes are idempotent).
        """
        attempt = 0
        while True:
            futures = self._produce(messages, outcomes)
            self.producer.flush()
            failures = [future.exception for future in futures if future.failed()]
            if failures and self._note_too_large():
                continue  # sent again at once, smaller: waiting would not make them fit
            if not failures:
                for message in messages:
                    self._too_large.pop((message.topic, message.partition, message.offset), None)
                if attempt:
                    metrics.HEALTH.set_ready(True)
                return True
            attempt += 1
            self.stats.retries += 1
            metrics.EVENTS_FAILED.labels("produce").inc()
            delay = self.retry.delay(attempt)
            log.warning(
                "produce failed, sending the batch's records again",
                extra={"attempt": attempt, "failed": len(failures), "error": repr(failures[0])},
            )
            metrics.HEALTH.set_retrying(f"produce failed, sending again: {failures[0]!r}"[:300])
            self.consumer.pause(*self.consumer.assignment())
            if self._sleep_polling(delay):
                return False
            self.consumer.resume(*self.consumer.assignment())

    def _process_with_retry(
        self,
        messages: list[Message],
        process: Callable[[], Sequence[Outcome]],
        *,
        first_attempt: Callable[[], Sequence[Outcome]] | None = None,
    ) -> Sequence[Outcome] | None:
        """``process()`` until it does not raise TransientError; None if asked to stop meanwhile.

        ``first_attempt`` stands for the first call when that already ran elsewhere (a pipelined
        write: its result is collected here, the retries call ``process``).
        """
        attempt = 0
        while True:
            try:
                if attempt == 0 and first_attempt is not None:
                    outcomes = first_attempt()
                else:
                    with metrics.PROCESS_SECONDS.time():
                        outcomes = process()
                if len(outcomes) != len(messages):
                    raise RuntimeError(
                        f"handler returned {len(outcomes)} outcomes for {len(messages)} messages"
                    )
                if attempt:
                    self.consumer.resume(*self.consumer.assignment())
                    metrics.HEALTH.set_ready(True)
                return outcomes
            except TransientError as exc:
                attempt += 1
                self.stats.retries += 1
                metrics.EVENTS_FAILED.labels("transient").inc()
                metrics.HEALTH.set_retrying(f"retrying after a transient failure: {exc}"[:300])
                delay = self.retry.delay(attempt)
                first = messages[0]
                log.warning(
                    "transient failure, retrying batch",
                    extra={
                        "attempt": attempt,
                        "delay_s": round(delay, 2),
                        "error": str(exc),
                        "topic": first.topic,
                        "partition": first.partition,
                        "offset": first.offset,
                        "batch": len(messages),
                    },
                )
                # Paused partitions return nothing, but polling keeps this member in the group
                # (max.poll.interval.ms) while the dependency recovers.
                self.consumer.pause(*self.consumer.assignment())
                if self._sleep_polling(delay):
                    return None

    def _sleep_polling(self, seconds: float) -> bool:
        """Wait ``seconds`` while keeping group membership; True when asked to stop meanwhile.

        The partitions are paused, but a rebalance (say, after a broker restart) hands them back
        unpaused: whatever such a poll returns is not processed now, so the consumer is sought back
        to it, or the next batch would start after it and its commit would skip it for good.
        """
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.is_set():
                return True
            self.consumer.pause(*self.consumer.assignment())
            polled = self.consumer.poll(timeout_ms=int(min(left, 1.0) * 1000), max_records=1)
            for tp, records in polled.items():
                if records:
                    self.consumer.seek(tp, min(record.offset for record in records))
            self._beat()
        return self._stop.is_set()

    def _note_too_large(self) -> bool:
        """Remember the sends just refused as too large; True if each can be sent again smaller."""
        too_large = (MessageSizeTooLargeError, RecordListTooLargeError)
        refused = [(m, dlq) for f, m, dlq in self._sent if f.failed() and isinstance(f.exception, too_large)]
        for message, dead_letter in refused:
            position = (message.topic, message.partition, message.offset)
            self._too_large[position] = self._too_large.get(position, 0) + (2 if dead_letter else 1)
            log.warning(
                "record refused as too large, sending a smaller one",
                extra={"topic": message.topic, "partition": message.partition, "offset": message.offset},
            )
        # A minimal dead letter (level 3) is a few hundred bytes: past that, retry like any failure.
        return bool(refused) and all(level <= 3 for level in self._too_large.values())

    def _produce(self, messages: Sequence[Message], outcomes: Sequence[Outcome]) -> list[Any]:
        """Send the batch's records; the futures of the sends."""
        futures = []
        self._sent = []
        for message, outcome in zip(messages, outcomes, strict=True):
            shrink = self._too_large.get((message.topic, message.partition, message.offset), 0)
            if isinstance(outcome, Emitted) and shrink:
                # The broker refused this output as too large: dead-letter the input instead.
                outcome = Rejected(
                    FailureReason.OUTPUT_TOO_LARGE,
                    f"output of {sum(len(r.value) for r in outcome.records)} bytes refused by the broker",
                    outcome.article_id,
                    outcome.trace_id,
                )
            if isinstance(outcome, Emitted):
                for record in outcome.records:
                    futures.append(self._send(record))
                    self._sent.append((futures[-1], message, False))
                    metrics.EVENTS_PRODUCED.labels(record.topic).inc()
                self.stats.emitted += len(outcome.records)
            elif isinstance(outcome, Rejected):
                if shrink <= 1:
                    letter = dead_letter_record(
                        message, outcome, self.stage, self.name, self.dlq_payload_max_bytes
                    )
                elif shrink == 2:
                    letter = dead_letter_record(
                        message,
                        outcome,
                        self.stage,
                        self.name,
                        min(SHRUNK_PAYLOAD_BYTES, self.dlq_payload_max_bytes),
                    )
                else:
                    letter = minimal_dead_letter(message, outcome, self.stage, self.name, 0)
                futures.append(self._send(letter))
                self._sent.append((futures[-1], message, True))
                self.stats.dead_lettered += 1
                metrics.EVENTS_DEAD_LETTERED.labels(outcome.reason).inc()
                log.warning(
                    "dead-lettered",
                    extra={
                        "reason": outcome.reason,
                        "detail": outcome.detail[:500],
                        "article_id": outcome.article_id,
                        "trace_id": outcome.trace_id,
                        "topic": message.topic,
                        "partition": message.partition,
                        "offset": message.offset,
                    },
                )
            elif isinstance(outcome, Dropped):
                self.stats.dropped += 1
                metrics.EVENTS_DROPPED.labels(outcome.reason).inc()
                log.info(
                    "dropped",
                    extra={
                        "reason": outcome.reason,
                        "article_id": outcome.article_id,
                        "offset": message.offset,
                    },
                )
        return futures

    def _send(self, record: Emit) -> Any:
        try:
            return self.producer.send(
                record.topic, key=record.key, value=record.value, headers=list(record.headers)
            )
        except (MessageSizeTooLargeError, RecordListTooLargeError) as exc:
            # Refused before sending (over max_request_size): a failed send like the broker's refusal.
            refused: KafkaFuture = KafkaFuture()
            refused.failure(exc)
            return refused

    def _commit(self, messages: Sequence[Message]) -> None:
        next_offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for message in messages:
            tp = TopicPartition(message.topic, message.partition)
            current = next_offsets.get(tp)
            if current is None or message.offset + 1 > current.offset:
                next_offsets[tp] = OffsetAndMetadata(message.offset + 1, "", -1)
        next_offsets = {
            tp: meta for tp, meta in next_offsets.items() if meta.offset > self._committed.get(tp, -1)
        }
        if not next_offsets:
            return  # a re-read batch behind what is already committed
        try:
            self.consumer.commit(next_offsets)
            self.stats.commits += 1
            for tp, meta in next_offsets.items():
                self._committed[tp] = meta.offset
        except (CommitFailedError, RebalanceInProgressError) as exc:
            metrics.EVENTS_FAILED.labels("commit").inc()
            # The partitions moved to another member, which re-reads from the last commit; the
            # duplicates it produces are absorbed by idempotent writes downstream.
            log.warning("commit failed after a rebalance; batch will be re-read", extra={"error": str(exc)})

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        try:
            self.producer.flush(timeout=30)
        finally:
            self.producer.close(timeout=30)
            self.consumer.close(autocommit=False)
        log.info("worker stopped", extra={"worker": self.name, **vars(self.stats)})


def run_forever(worker_factory: Callable[[], Worker]) -> None:
    """Build the worker, stop it cleanly on SIGTERM/SIGINT, and run it."""
    worker = worker_factory()
    worker.install_signal_handlers()
    worker.run()
