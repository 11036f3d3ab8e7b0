"""Publishing while things break: the publisher, the service killer, broker and Elasticsearch outages.

Each runs in its own thread so faults overlap as they would in production (a service killed while
Elasticsearch is down, a broker restart in the middle of a retry). A supervisor notices services
that die on their own (a crash, not one of our kills), records it with the log tail and restarts
them so the run can still finish and report.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import KafkaError

from services.runtime.kafka import make_producer
from services.stack import pipeline
from services.stack.process import StackError, pid_alive, stop_pids, tail
from tests.faults.conftest import FaultStack
from tests.faults.workload import Outgoing


@dataclass
class ChaosLog:
    """What was done to the system, for the printed figures."""

    kills: Counter[str] = field(default_factory=Counter)
    broker_restarts: int = 0
    broker_down_s: list[float] = field(default_factory=list)
    es_outages_s: list[float] = field(default_factory=list)
    es_stopped_s: list[float] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:7.1f}s  {text}")


class Services:
    """The three pipeline processes of the private stack, restarted by us or by the supervisor."""

    def __init__(self, stack: FaultStack, log: ChaosLog) -> None:
        self.stack = stack
        self.log = log
        self.lock = threading.Lock()
        self.killed: set[str] = set()

    def start(self, names: tuple[str, ...] = pipeline.SERVICES) -> None:
        pipeline.start(self.stack.state_dir, names, env=self.stack.service_env())

    def pid(self, name: str) -> int | None:
        (proc,) = pipeline.status(self.stack.state_dir, [name])
        return proc.pid

    def kill(self, name: str, down_s: float) -> None:
        with self.lock:
            self.killed.add(name)
            pid = self.pid(name)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait(lambda: not pid_alive(pid), 10)
            self.log.kills[name] += 1
            self.log.note(f"SIGKILL {name} (pid {pid}); restart in {down_s:.1f}s")
        time.sleep(down_s)
        with self.lock:
            self.start((name,))
            self.killed.discard(name)

    def supervise(self, stop: threading.Event) -> None:
        while not stop.wait(2.0):
            with self.lock:
                for proc in pipeline.status(self.stack.state_dir):
                    if proc.running or proc.name in self.killed:
                        continue
                    self.log.unexpected_exits.append(f"{proc.name}:\n{tail(proc.log_path, 30)}")
                    self.log.note(f"{proc.name} exited on its own: restarting it")
                    self.start((proc.name,))

    def stop(self) -> dict[str, bool]:
        return pipeline.stop(self.stack.state_dir)


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@dataclass
class PublishResult:
    acknowledged: int = 0
    resends: int = 0
    refused: list[str] = field(default_factory=list)


def publish(
    stack: FaultStack, messages: list[Outgoing], duration_s: float, deadline_s: float
) -> PublishResult:
    """Send every message, paced over ``duration_s``; resend whatever Kafka did not acknowledge.

    That is the publisher's side of at-least-once: a send is only done when the broker acked it.
    """
    result = PublishResult()
    producer = make_producer(stack.kafka, "faults-publisher", max_block_ms=10_000, request_timeout_ms=15_000)
    pending: dict[int, Any] = {}
    failed: list[int] = []
    interval = duration_s / max(1, len(messages))
    started = time.monotonic()

    def send(position: int) -> None:
        message = messages[position]
        try:
            pending[position] = producer.send(
                message.topic, key=message.key, value=message.value, headers=list(message.headers)
            )
        except KafkaError:
            failed.append(position)

    try:
        for position in range(len(messages)):
            send(position)
            time.sleep(max(0.0, started + (position + 1) * interval - time.monotonic()))
        end = time.monotonic() + deadline_s
        while True:
            with contextlib.suppress(KafkaError):
                producer.flush(timeout=30)
            for position, future in list(pending.items()):
                if future.is_done:
                    del pending[position]
                    if future.failed():
                        failed.append(position)
                    else:
                        result.acknowledged += 1
            if not pending and not failed:
                break
            if time.monotonic() > end:
                result.refused = [messages[p].trace_id for p in [*failed, *pending]]
                break
            retry, failed[:] = list(failed), []
            result.resends += len(retry)
            time.sleep(1.0)
            for position in retry:
                send(position)
    finally:
        producer.close(timeout=10)
    return result


def kill_services(services: Services, schedule: list[tuple[float, str, float]], started: float) -> None:
    for at, name, down_s in schedule:
        time.sleep(max(0.0, started + at - time.monotonic()))
        try:
            services.kill(name, down_s)
        except Exception as exc:  # the run goes on; the failure is reported
            services.log.errors.append(f"kill {name}: {exc!r}")


def break_infrastructure(
    stack: FaultStack, schedule: list[tuple[float, str]], log: ChaosLog, started: float
) -> None:
    for at, what in schedule:
        time.sleep(max(0.0, started + at - time.monotonic()))
        try:
            if what == "broker":
                restart_broker(stack, log)
            else:
                stop_elasticsearch(stack, log, stack.faults.es_outage_s)
        except Exception as exc:
            log.errors.append(f"{what}: {exc!r}")


def restart_broker(stack: FaultStack, log: ChaosLog) -> None:
    """SIGKILL the broker (a crash, not a clean shutdown) and start it again."""
    kafka = stack.kafka_process()
    pid = kafka.managed_pid()
    if pid is None:
        raise RuntimeError("no managed Kafka pid to kill")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: not pid_alive(pid), 30)
    log.note(f"SIGKILL Kafka broker (pid {pid})")
    time.sleep(random.uniform(2, 5))
    _start_with_retries(kafka.ensure_running, "Kafka", log)
    log.broker_restarts += 1
    log.broker_down_s.append(time.monotonic() - t0)
    log.note(f"Kafka broker back after {time.monotonic() - t0:.1f}s")


def stop_elasticsearch(stack: FaultStack, log: ChaosLog, outage_s: float) -> None:
    """Stop Elasticsearch for real (SIGTERM, the node leaves), keep it down, start it again."""
    es = stack.es_process()
    pid = es.managed_pid()
    if pid is None:
        raise RuntimeError("no managed Elasticsearch pid to stop")
    t0 = time.monotonic()
    stop_pids({"elasticsearch": pid}, timeout=60)
    log.note(f"stopped Elasticsearch (pid {pid}) for {outage_s:.0f}s")
    time.sleep(max(0.0, t0 + outage_s - time.monotonic()))
    log.es_stopped_s.append(time.monotonic() - t0)
    log.note("starting Elasticsearch again")
    _start_with_retries(lambda: es.ensure_running({}), "Elasticsearch", log)
    log.es_outages_s.append(time.monotonic() - t0)
    log.note(f"Elasticsearch healthy again after {time.monotonic() - t0:.1f}s")


def _start_with_retries(start: Any, what: str, log: ChaosLog, attempts: int = 3) -> None:
    """Start a component again; a start that times out under load is retried, and reported."""
    for attempt in range(1, attempts + 1):
        try:
            start()
            return
        except StackError as exc:
            log.note(f"{what} start attempt {attempt} failed: {str(exc).splitlines()[0]}")
            if attempt == attempts:
                raise
