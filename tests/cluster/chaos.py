"""The cluster's faults, injected one after another while articles flow.

Each fault is aimed by what the cluster reports at that moment (``topology.py``): the broker that
leads the most partitions of the pipeline's topics, the Elasticsearch node with the index's
primary shard. Each is recorded as a :class:`~tests.cluster.pauses.FaultWindow` from the moment it
was injected until the cluster was whole again (the node back and healthy, every partition's ISR
full again, for Elasticsearch the cluster green, for workers the group's membership settled), so
that the pause it caused can be read from the articles' timestamps afterwards.

The services run under their supervisors as ``make up`` runs them (``tests/faults/chaos.py``):
no fault here kills a service except through ``pipeline.stop_worker``, so every unexpected exit
the supervisors record is a service that died on its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from elasticsearch import ApiError, Elasticsearch, TransportError
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from schemas.search_index import ALIAS
from services.stack import pipeline
from services.stack.process import pid_alive, stop_pids
from services.stack.supervise import ServiceFiles
from tests.cluster.conftest import STAGES, ClusterStack
from tests.cluster.pauses import FaultWindow
from tests.cluster.topology import busiest_leader, leader_counts, primary_node_of, under_replicated
from tests.faults.chaos import ChaosLog, Services
from tests.faults.test_faults import GROUPS

PIPELINE_TOPICS = tuple(topic for _, topic in GROUPS.values())


@dataclass
class FaultLog(ChaosLog):
    """The fault suite's chaos log plus each fault's window (wall clock, for the pauses)."""

    windows: list[FaultWindow] = field(default_factory=list)
    #: where each note is appended as it happens (``tail -f`` it to follow a run)
    timeline: Path | None = None

    def note(self, text: str) -> None:
        super().note(text)
        if self.timeline is not None:
            with self.timeline.open("a", encoding="utf-8") as out:
                out.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {self.events[-1].strip()}\n")

    @contextlib.contextmanager
    def fault(self, name: str) -> Iterator[dict[str, str]]:
        """Record the enclosed steps as one fault; ``detail["text"]`` says what exactly was hit."""
        detail = {"text": ""}
        started = time.time()
        self.note(f"{name}: begins")
        try:
            yield detail
        finally:
            ended = time.time()
            self.windows.append(FaultWindow(name, started, ended, detail["text"]))
            self.note(f"{name} ({detail['text']}): over after {ended - started:.1f}s")


# -- asking the cluster -------------------------------------------------------------------------------


def admin_client(stack: ClusterStack) -> KafkaAdminClient:
    return KafkaAdminClient(**stack.kafka.client_config(), client_id="cluster-suite-admin")


def cluster_topics(stack: ClusterStack) -> list[dict[str, Any]]:
    admin = admin_client(stack)
    try:
        return list(admin.describe_topics())
    finally:
        admin.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 1.0) -> float:
    """Poll ``condition`` until it holds; the seconds it took. Errors while asking count as "not yet"."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except (KafkaError, TransportError, ApiError, OSError):
            pass
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)


def wait_isr_full(stack: ClusterStack, timeout: float) -> float:
    """Until no partition of any topic is under-replicated or without a leader."""
    last: list[str] = []

    def full() -> bool:
        nonlocal last
        topics = cluster_topics(stack)
        last = under_replicated(topics)
        return bool(topics) and not last

    try:
        return wait_until(full, timeout, "every partition's ISR full again")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; still under-replicated: {last[:10]}") from None


def wait_green(es: Elasticsearch, timeout: float) -> float:
    def green() -> bool:
        health = es.cluster.health(wait_for_status="green", timeout="5s")
        return health.get("status") == "green" and not health.get("timed_out")

    return wait_until(green, timeout, "Elasticsearch cluster green")


def group_members(stack: ClusterStack) -> dict[str, int]:
    """Members of each pipeline consumer group, by service."""
    admin = admin_client(stack)
    try:
        described = admin.describe_groups([group for group, _ in GROUPS.values()])
    finally:
        admin.close()
    counts = {}
    for service, (group, _) in GROUPS.items():
        entry = described.get(group) or {}
        # a rebalancing group's member list is not the final one yet
        settled = str(entry.get("group_state", "")).lower() == "stable"
        counts[service] = len(entry.get("members") or ()) if settled else -1
    return counts


def wait_members(stack: ClusterStack, expected: int, timeout: float) -> float:
    """Until every pipeline group has ``expected`` members and is stable (not rebalancing)."""
    return wait_until(
        lambda: all(count == expected for count in group_members(stack).values()),
        timeout,
        f"every pipeline group stable with {expected} members",
    )


# -- the faults -----------------------------------------------------------------------------------------


def _sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _bring_back_broker(stack: ClusterStack, node: int, log: FaultLog) -> None:
    broker = stack.nodes().broker(node)
    t0 = time.monotonic()
    pid = broker.start()
    broker.wait_healthy(pid, stack.options.node_timeout_s)
    log.note(f"broker {node} healthy again (pid {pid}) after {time.monotonic() - t0:.1f}s")
    took = wait_isr_full(stack, stack.options.node_timeout_s)
    log.note(f"every ISR full again {took:.1f}s later")


def _busiest_broker(stack: ClusterStack) -> tuple[int, dict[int, int], int]:
    """The broker leading the most pipeline partitions, every broker's count of them, and its pid."""
    topics = cluster_topics(stack)
    node = busiest_leader(topics, PIPELINE_TOPICS)
    pid = stack.nodes().broker(node).managed_pid()
    if pid is None:
        raise RuntimeError(f"broker {node} has no managed pid")
    return node, leader_counts(topics, PIPELINE_TOPICS), pid


def kill_busiest_leader(stack: ClusterStack, log: FaultLog) -> None:
    """SIGKILL the broker that leads the most pipeline partitions; start it again after a while."""
    with log.fault("SIGKILL the busiest leader broker") as detail:
        node, led, pid = _busiest_broker(stack)
        detail["text"] = f"broker {node}, leader of {led[node]} of {sum(led.values())} pipeline partitions"
        _sigkill(pid)
        log.note(f"SIGKILL broker {node} (pid {pid}); down for {stack.options.broker_down_s:.0f}s")
        time.sleep(stack.options.broker_down_s)
        _bring_back_broker(stack, node, log)


def freeze_broker(stack: ClusterStack, log: FaultLog) -> None:
    """SIGSTOP the busiest leader for ``freeze_s`` (a frozen node, not a dead one), then SIGCONT."""
    with log.fault("SIGSTOP a broker") as detail:
        node, led, pid = _busiest_broker(stack)
        freeze_s = stack.options.freeze_s
        detail["text"] = f"broker {node} for {freeze_s:.0f} s, leader of {led[node]} pipeline partitions"
        os.kill(pid, signal.SIGSTOP)
        try:
            log.note(f"SIGSTOP broker {node} (pid {pid})")
            time.sleep(freeze_s)
        finally:
            os.kill(pid, signal.SIGCONT)
        log.note(f"SIGCONT broker {node}")
        took = wait_isr_full(stack, stack.options.node_timeout_s)
        log.note(f"every ISR full again {took:.1f}s after the SIGCONT")


def kill_primary_es_node(stack: ClusterStack, es: Elasticsearch, log: FaultLog) -> None:
    """SIGKILL the Elasticsearch node holding the index's primary shard; start it again."""
    with log.fault("SIGKILL the ES node with the primary") as detail:
        index = next(iter(es.indices.get_alias(name=ALIAS)))
        name = primary_node_of(es, index)
        node = next((n for n in stack.nodes().es_nodes if n.node_name == name), None)
        if node is None:
            raise RuntimeError(f"the primary of {index} is on {name}, not one of our nodes")
        pid = node.managed_pid()
        if pid is None:
            raise RuntimeError(f"{name} has no managed pid")
        master = _master_name(es)
        detail["text"] = f"{name}{', the elected master' if master == name else ''}"
        _sigkill(pid)
        log.note(f"SIGKILL {name} (pid {pid}, primary of {index}); down for {stack.options.es_down_s:.0f}s")
        time.sleep(stack.options.es_down_s)
        t0 = time.monotonic()
        new_pid = node.start()
        node.wait_healthy(new_pid, stack.options.node_timeout_s)
        log.note(f"{name} back in the cluster (pid {new_pid}) after {time.monotonic() - t0:.1f}s")
        took = wait_green(es, stack.options.node_timeout_s)
        log.note(f"Elasticsearch green again {took:.1f}s later")


def _master_name(es: Elasticsearch) -> str | None:
    with contextlib.suppress(TransportError, ApiError, IndexError, KeyError):
        rows = cast(list[dict[str, Any]], es.cat.master(format="json").body)
        return str(rows[0]["node"])
    return None


def rolling_restart(stack: ClusterStack, log: FaultLog) -> None:
    """Restart every broker in turn (SIGTERM: a controlled shutdown); each back with full ISRs first."""
    for broker in stack.nodes().brokers:
        with log.fault("rolling restart") as detail:
            detail["text"] = f"broker {broker.node}"
            pid = broker.managed_pid()
            if pid is None:
                raise RuntimeError(f"broker {broker.node} has no managed pid")
            t0 = time.monotonic()
            clean = stop_pids({f"kafka-{broker.node}": pid}, stack.settings.stop_timeout)
            log.note(
                f"stopped broker {broker.node} (pid {pid}) in {time.monotonic() - t0:.1f}s"
                f"{'' if all(clean.values()) else ', killed after the stop timeout'}"
            )
            _bring_back_broker(stack, broker.node, log)


def admin_topics(stack: ClusterStack) -> set[str]:
    return {str(topic["name"]) for topic in cluster_topics(stack) if topic.get("partitions")}


class ClusterServices(Services):
    """The pipeline's stages, ``workers`` workers each, every worker under its own supervisor."""

    def __init__(self, stack: ClusterStack, log: ChaosLog, workers: int) -> None:
        super().__init__(stack, log)
        self.cluster = stack
        self.workers = {stage: workers for stage in STAGES}
        #: every worker the suite stopped (cleanly or SIGKILLed): not expected to run at the end
        self.removed: set[str] = set()
        self.names = [
            pipeline.worker_name(stage, number)
            for stage in STAGES
            for number in range(1, pipeline.MAX_WORKERS + 1)
        ]

    def start(self) -> list[pipeline.ServiceProcess]:
        for name in self.names:
            path = ServiceFiles(name, self.stack.state_dir).log
            self.log_offsets[name] = path.stat().st_size if path.exists() else 0
        return pipeline.start(
            self.stack.state_dir, STAGES, env=self.cluster.service_env(), workers=self.workers
        )

    def running(self) -> list[pipeline.ServiceProcess]:
        """The statuses of the workers that should be running now."""
        return [
            proc for proc in pipeline.status(self.stack.state_dir, STAGES) if proc.name not in self.removed
        ]

    def add_worker(self, stage: str) -> pipeline.ServiceProcess:
        self.workers[stage] += 1
        wanted = {stage: self.workers[stage]}
        env = self.cluster.service_env()
        started = pipeline.start(self.stack.state_dir, [stage], env=env, workers=wanted)
        return started[-1]

    def remove_worker(self, name: str, kill: bool) -> bool:
        self.removed.add(name)
        self.workers[pipeline.service_of(name)] -= 1
        return pipeline.stop_worker(self.stack.state_dir, name, kill=kill, timeout=120)


def churn_workers(stack: ClusterStack, services: ClusterServices, log: FaultLog, round_number: int) -> None:
    """A worker joins each service's group mid-flow; then one leaves each: cleanly or SIGKILLed."""
    timeout = stack.options.node_timeout_s
    with log.fault("add a worker to each service") as detail:
        added = [services.add_worker(stage) for stage in STAGES]
        detail["text"] = ", ".join(proc.name for proc in added)
        log.note(f"started {detail['text']} (pids {[proc.pid for proc in added]})")
        took = wait_members(stack, services.workers["ingest"], timeout)
        log.note(f"every group stable with {services.workers['ingest']} members {took:.1f}s later")
    # Each service loses its second worker; which one is SIGKILLed alternates between rounds, so
    # that over two rounds each service loses a worker both ways.
    kills = {stage: (position + round_number) % 2 == 0 for position, stage in enumerate(STAGES)}
    with log.fault("remove a worker from each service") as detail:
        removed = []
        for stage in STAGES:
            name = pipeline.worker_name(stage, 2)
            clean = services.remove_worker(name, kill=kills[stage])
            how = "SIGKILL" if kills[stage] else ("clean stop" if clean else "stop, killed after the timeout")
            removed.append(f"{name} {how}")
            log.note(f"{name}: {how}")
        detail["text"] = ", ".join(removed)
        took = wait_members(stack, services.workers["ingest"], timeout)
        log.note(f"every group stable with {services.workers['ingest']} members {took:.1f}s later")


FAULTS: Sequence[str] = ("leader", "freeze", "es_primary", "rolling", "workers")


def inject_all(
    stack: ClusterStack,
    services: ClusterServices,
    es: Elasticsearch,
    log: FaultLog,
    round_number: int,
    done: Any,
) -> None:
    """Every fault in turn, ``steady_s`` of undisturbed flow before each; ``done.set()`` at the end."""
    steps: dict[str, Callable[[], None]] = {
        "leader": lambda: kill_busiest_leader(stack, log),
        "freeze": lambda: freeze_broker(stack, log),
        "es_primary": lambda: kill_primary_es_node(stack, es, log),
        "rolling": lambda: rolling_restart(stack, log),
        "workers": lambda: churn_workers(stack, services, log, round_number),
    }
    try:
        for name in FAULTS:
            time.sleep(stack.options.steady_s)
            try:
                steps[name]()
            except Exception as exc:  # the run goes on; the failure is reported
                log.errors.append(f"{name}: {exc!r}")
                log.note(f"{name} failed: {exc!r}")
    finally:
        done.set()
