"""Publishing while things break: the publisher, the service killer, broker and Elasticsearch outages.

Each runs in its own thread so faults overlap as they would in production (a service killed while
Elasticsearch is down, a broker restart in the middle of a retry).

The services run as ``make up`` runs them: each under its supervisor (``services.stack.supervise``),
which restarts a service that exits unexpectedly and probes its ``/healthz``. The suite never
restarts a service itself. A planned kill pauses the service's supervisor (SIGSTOP), SIGKILLs the
service and resumes the supervisor (SIGCONT) after the planned down time: the service stays down
for as long as the schedule says (an outage long enough for work to pile up and partitions to
move, not a 1 s blip), and the restart is still the supervisor's own, after its own backoff,
counted in its status file. Whether a service died on its own is not guessed by polling (a crash
restarted within a second slips through any poll): it is read from the supervisors' records after
the round. Each supervisor logs every unexpected exit with its exit code right after the run's
pid, and its status file counts the restarts; every exit must be one of the suite's SIGKILLs
(exit -9 of a pid the suite killed) and the restarts must equal the suite's kills.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kafka.errors import KafkaError

from services.runtime.kafka import make_producer
from services.runtime.settings import KafkaSettings
from services.stack import pipeline
from services.stack.process import StackError, pid_alive, stop_pids
from services.stack.supervise import LOGGER_NAME as SUPERVISOR_LOGGER
from services.stack.supervise import ServiceFiles
from tests.faults.conftest import FaultStack
from tests.faults.workload import Outgoing

#: How long a supervisor may take to start a killed service again once resumed (its backoff is
#: 1 s doubling up to 60 s for a service killed again within 30 s of its restart).
RESTART_TIMEOUT_S = 120.0
#: A service stopped right after a member was SIGKILLed may wait out LeaveGroup (about 30 s)
#: while the group rebalances; faust's shutdown adds its own.
STOP_TIMEOUT_S = 120.0


class PrivateStack(Protocol):
    """What the publisher and the services need of a suite's private stack (single node or cluster)."""

    @property
    def state_dir(self) -> Path: ...

    @property
    def kafka(self) -> KafkaSettings: ...

    def service_env(self) -> dict[str, str]: ...


@dataclass
class ChaosLog:
    """What was done to the system, for the printed figures."""

    kills: Counter[str] = field(default_factory=Counter)
    #: seconds from a SIGKILL until the supervisor had started the service again, per service
    restart_after_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    broker_restarts: int = 0
    broker_down_s: list[float] = field(default_factory=list)
    es_outages_s: list[float] = field(default_factory=list)
    es_stopped_s: list[float] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:7.1f}s  {text}")


@dataclass(frozen=True)
class RecordedExit:
    """One unexpected exit as the service's supervisor logged it."""

    service: str
    at: str
    pid: int | None
    exit_code: int | None
    last_error: str | None

    def describe(self) -> str:
        return (
            f"{self.service} pid {self.pid} exit {self.exit_code} at {self.at}, "
            f"last error: {self.last_error or '(none recorded)'}"
        )


class Services:
    """The three pipeline processes of the private stack, each under its supervisor."""

    def __init__(self, stack: PrivateStack, log: ChaosLog) -> None:
        self.stack = stack
        self.log = log
        #: the supervised processes whose records are checked (the cluster suite: every worker)
        self.names: Sequence[str] = pipeline.SERVICES
        #: the pids the suite SIGKILLed, per service
        self.killed_pids: dict[str, set[int]] = defaultdict(set)
        #: where each service's log stood when this round started its supervisor
        self.log_offsets: dict[str, int] = {}

    def start(self) -> list[pipeline.ServiceProcess]:
        for name in self.names:
            path = ServiceFiles(name, self.stack.state_dir).log
            self.log_offsets[name] = path.stat().st_size if path.exists() else 0
        return pipeline.start(self.stack.state_dir, pipeline.SERVICES, env=self.stack.service_env())

    def status(self, name: str) -> pipeline.ServiceProcess:
        (proc,) = pipeline.status(self.stack.state_dir, [name])
        return proc

    def kill(self, name: str, down_s: float) -> None:
        """SIGKILL the service; its supervisor, paused meanwhile, restarts it after ``down_s``."""
        proc = self.status(name)
        if proc.supervisor_pid is None:
            raise RuntimeError(f"{name} has no supervisor (state {proc.state})")
        if proc.pid is None:
            # restarting after an exit of its own: the supervisors' records will tell
            self.log.note(f"{name} not running ({proc.state}): kill skipped")
            return
        supervisor, pid = proc.supervisor_pid, proc.pid
        os.kill(supervisor, signal.SIGSTOP)
        try:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            self.killed_pids[name].add(pid)
            self.log.kills[name] += 1
            _wait(lambda: not pid_alive(pid), 10)
            self.log.note(f"SIGKILL {name} (pid {pid}); its supervisor paused for {down_s:.1f}s")
            time.sleep(down_s)
        finally:
            os.kill(supervisor, signal.SIGCONT)
        restarted = _wait(lambda: self.status(name).pid not in (None, pid), RESTART_TIMEOUT_S)
        now = self.status(name)
        if not restarted:
            raise RuntimeError(
                f"{name}: its supervisor did not start it again within {RESTART_TIMEOUT_S:.0f}s "
                f"of the SIGKILL (state {now.state}, last exit {now.last_exit})"
            )
        after_s = time.monotonic() - killed_at
        self.log.restart_after_s[name].append(after_s)
        self.log.note(
            f"{name} started again by its supervisor (pid {now.pid}, restart {now.restarts}) "
            f"{after_s:.1f}s after the kill"
        )

    def recorded_exits(self) -> list[RecordedExit]:
        """Every unexpected exit the supervisors logged since this round started them."""
        exits = []
        for name in self.names:
            path = ServiceFiles(name, self.stack.state_dir).log
            run_pid: int | None = None
            for entry in _supervisor_lines(path, self.log_offsets.get(name, 0)):
                message = str(entry.get("msg", ""))
                if message.startswith(("service started", "supervising a service")):
                    run_pid = entry.get("pid")
                elif message.startswith("service exited unexpectedly"):
                    exits.append(
                        RecordedExit(
                            name,
                            str(entry.get("ts")),
                            run_pid,
                            entry.get("exit_code"),
                            entry.get("last_error"),
                        )
                    )
        return exits

    def supervision_problems(self, statuses: list[pipeline.ServiceProcess]) -> list[str]:
        """Anything the supervisors recorded beyond the suite's own kills."""
        problems = []
        for exit_ in self.recorded_exits():
            if exit_.exit_code != -signal.SIGKILL or exit_.pid not in self.killed_pids[exit_.service]:
                problems.append(f"service exited on its own: {exit_.describe()}")
        exits = Counter(exit_.service for exit_ in self.recorded_exits())
        for proc in statuses:
            kills = self.log.kills[proc.name]
            if proc.restarts != kills or exits[proc.name] != kills:
                problems.append(
                    f"{proc.name}: its supervisor restarted it {proc.restarts} times and logged "
                    f"{exits[proc.name]} unexpected exits for {kills} kills by the suite "
                    f"(last exit {proc.last_exit}: {proc.last_error})"
                )
            if proc.state != "running" or proc.pid is None:
                problems.append(f"{proc.name} is not running at the end of the round: {proc.state}")
        return problems

    def stop(self) -> dict[str, bool]:
        return pipeline.stop(self.stack.state_dir, timeout=STOP_TIMEOUT_S)


def _supervisor_lines(path: Path, offset: int) -> list[dict[str, Any]]:
    """The supervisor's JSON log lines in ``path`` from ``offset`` on (the service writes there too)."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return []
    entries = []
    for line in data.splitlines():
        if SUPERVISOR_LOGGER.encode() not in line:
            continue
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("logger") == SUPERVISOR_LOGGER:
                entries.append(entry)
    return entries


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
    stack: PrivateStack,
    messages: list[Outgoing],
    duration_s: float,
    deadline_s: float,
    pace: Callable[[int], None] | None = None,
) -> PublishResult:
    """Send every message, paced over ``duration_s``; resend whatever Kafka did not acknowledge.

    That is the publisher's side of at-least-once: a send is only done when the broker acked it.
    ``pace(position)``, when given, is called after each send instead of the even pacing.
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
            if pace is not None:
                pace(position)
                continue
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
