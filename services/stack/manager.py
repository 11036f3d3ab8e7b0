"""up / down / status for the whole native stack: every Kafka node and every Elasticsearch node."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from . import elasticsearch as es_module
from . import kafka as kafka_module
from . import secure_mode
from .artifacts import ensure_artifacts, ensure_es_unpacked
from .elasticsearch import Elasticsearch, ensure_user
from .kafka import Kafka
from .models import ComponentStatus, StackStatus
from .paths import StackPaths, effective_state_dir, read_topology, running_as_root, write_topology
from .process import StackError, port_open, stop_pids
from .settings import StackSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The fields of StackSettings that make up the topology recorded in the state dir.
TOPOLOGY_FIELDS = ("kafka_brokers", "es_nodes", "secure")
#: What a state dir recorded before a field existed had.
_TOPOLOGY_DEFAULTS: dict[str, object] = {"secure": False}


@contextlib.contextmanager
def _stack_lock(settings: StackSettings) -> Iterator[None]:
    """Serialise up/down across processes (parallel test workers, two shells) for these ports."""
    path = Path(tempfile.gettempdir()) / f"newswire-stack-{settings.kafka_port}-{settings.es_port}.lock"
    with path.open("a") as fh:
        with contextlib.suppress(OSError):
            path.chmod(0o666)  # so that root and an unprivileged developer can share it
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another stack up/down is running; waiting for it (%s)", path)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def effective_settings(settings: StackSettings, prefer_recorded: bool = False) -> StackSettings:
    """``settings`` with the topology recorded in its state dir where the caller did not choose one.

    So that ``stack status``, ``stack down`` and ``stack env`` without ``--brokers`` describe the
    cluster that ``stack up --brokers 3`` started there. Values set explicitly (arguments or
    ``NEWSWIRE_STACK_*``) are kept (``up`` refuses them if they differ from the recorded ones),
    unless ``prefer_recorded``: what runs there is what the recorded topology says.
    """
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    recorded = read_topology(paths) or {}
    update = {
        field: recorded[field]
        for field in TOPOLOGY_FIELDS
        if (prefer_recorded or field not in settings.model_fields_set)
        and isinstance(recorded.get(field), int)  # bool is an int too
        and recorded[field] != getattr(settings, field)
    }
    return settings.model_copy(update=update) if update else settings


def _check_topology(settings: StackSettings, paths: StackPaths) -> None:
    recorded = read_topology(paths)
    if recorded is None:
        return
    wanted = {field: getattr(settings, field) for field in TOPOLOGY_FIELDS}
    have = {field: recorded.get(field, _TOPOLOGY_DEFAULTS.get(field)) for field in TOPOLOGY_FIELDS}
    if have["secure"] != wanted["secure"]:
        mode = "secure" if have["secure"] else "plain"
        raise StackError(
            f"the state dir {paths.root} holds a {mode} stack: use another state dir "
            "(NEWSWIRE_STACK_STATE_DIR) for the other mode"
        )
    if have != wanted:
        raise StackError(
            f"the state dir {paths.root} holds a stack of {have['kafka_brokers']} Kafka broker(s) and "
            f"{have['es_nodes']} Elasticsearch node(s), not {wanted['kafka_brokers']} and "
            f"{wanted['es_nodes']}: "
            "use another state dir (NEWSWIRE_STACK_STATE_DIR) or wipe this one (`stack down`, then "
            f"remove {paths.root}/kafka*, {paths.root}/elasticsearch* and {paths.topology_file.name})"
        )


def _check_java(settings: StackSettings) -> None:
    for what, java in (("Kafka", settings.kafka_java), ("Elasticsearch", settings.es_java / "bin" / "java")):
        if not java.exists():
            raise StackError(f"no Java for {what} at {java} (set NEWSWIRE_STACK_JAVA_HOME)")


def _results(futures: list[Future[T]]) -> tuple[list[T], list[str]]:
    """Every future's result, and the messages of those that raised StackError."""
    results: list[T] = []
    errors: list[str] = []
    for future in futures:
        try:
            results.append(future.result())
        except StackError as exc:
            errors.append(str(exc))
    return results, errors


@dataclass
class Cluster:
    """The nodes of one stack: ``brokers[i]`` is Kafka node.id i+1, ``es_nodes[i]`` ES node i+1.

    Single nodes can be stopped (``managed_pid()`` + a signal) and brought back
    (``start()`` + ``wait_healthy(pid, timeout)``) while the rest keeps running.
    """

    settings: StackSettings
    paths: StackPaths
    brokers: list[Kafka]
    es_nodes: list[Elasticsearch]

    def broker(self, node: int) -> Kafka:
        return self.brokers[node - 1]

    def es_node(self, node: int) -> Elasticsearch:
        return self.es_nodes[node - 1]

    # -- status --------------------------------------------------------------------------------
    def status(self) -> StackStatus:
        """Every node (running, healthy, pid, address), the Kafka cluster (controller,
        under-replicated partitions) and the ES cluster's health, probed concurrently."""
        settings = self.settings
        # a client pointed at brokers that are all down retries for half a minute: only ask a live one
        any_broker = any(port_open(settings.kafka_host, b.port) for b in self.brokers)
        any_es = any(port_open(settings.es_host, e.port) for e in self.es_nodes)
        workers = len(self.brokers) + len(self.es_nodes) + 2
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stack-status") as pool:
            broker_futures = [pool.submit(b.status) for b in self.brokers]
            es_futures = [pool.submit(e.status) for e in self.es_nodes]
            kafka_cluster = pool.submit(kafka_module.cluster_status, settings) if any_broker else None
            es_cluster = pool.submit(es_module.cluster_status, settings) if any_es else None
            brokers = [f.result() for f in broker_futures]
            es_nodes = [f.result() for f in es_futures]
            return StackStatus(
                state_dir=self.paths.root,
                kafka=brokers[0],
                elasticsearch=es_nodes[0],
                brokers=brokers,
                es_nodes=es_nodes,
                kafka_cluster=kafka_cluster.result() if kafka_cluster else None,
                es_cluster=es_cluster.result() if es_cluster else None,
            )

    # -- up --------------------------------------------------------------------------------------
    def up(self) -> StackStatus:
        """Every node up and healthy; nodes that already answer are left alone.

        Artifacts are resolved with Maven only when missing from ``<state>/dist``; the ES zip is
        unpacked once; the analysis plugin is (re)built and (re)installed only when it changed.
        All nodes start concurrently: KRaft needs a majority of its voters and a new ES cluster
        all of its initial master nodes before any of them serves.
        """
        settings, paths = self.settings, self.paths
        t0 = time.monotonic()
        timings: dict[str, float] = {}
        _check_topology(settings, paths)
        kafka_down = [b for b in self.brokers if not port_open(settings.kafka_host, b.port)]
        es_down = [e for e in self.es_nodes if not port_open(settings.es_host, e.port)]

        if running_as_root() and es_down:
            ensure_user(settings.es_user)
        paths.root.mkdir(parents=True, exist_ok=True)
        recorded = read_topology(paths)
        if recorded is None:
            recorded = {field: getattr(settings, field) for field in TOPOLOGY_FIELDS}
            recorded["es_cluster_formed"] = False
        if not paths.topology_file.is_file():  # new, or a state dir from before topologies were recorded
            write_topology(paths, recorded)

        if kafka_down or es_down:
            _check_java(settings)
            t = time.monotonic()
            if ensure_artifacts(settings, paths):
                timings["artifacts"] = round(time.monotonic() - t, 2)
            if es_down:
                t = time.monotonic()
                if ensure_es_unpacked(paths):
                    timings["unpack"] = round(time.monotonic() - t, 2)

        workers = len(self.brokers) + len(self.es_nodes)
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stack-up") as pool:
            broker_futures = [pool.submit(b.ensure_running) for b in self.brokers]
            home_ready = False
            if es_down:
                try:
                    self.es_nodes[0].prepare_home(timings)
                    home_ready = True
                except StackError as exc:
                    errors.append(str(exc))
            es_futures = (
                [pool.submit(e.ensure_running, timings, True) for e in self.es_nodes]
                if home_ready or not es_down
                else []
            )
            brokers, broker_errors = _results(broker_futures)
            es_nodes, es_errors = _results(es_futures)
        errors += broker_errors + es_errors
        if errors:
            raise StackError("\n\n".join(errors))

        if not recorded.get("es_cluster_formed"):
            write_topology(paths, {**recorded, "es_cluster_formed": True})
        if settings.secure:
            t = time.monotonic()
            try:
                secure_mode.apply_security(settings, paths)
            except Exception as exc:  # the nodes run: say what is missing, keep them
                raise StackError(
                    f"applying secure mode's users, ACLs, topics or API keys failed: {exc!r}"
                ) from exc
            timings["security"] = round(time.monotonic() - t, 2)
        for name, nodes in (("kafka", brokers), ("elasticsearch", es_nodes)):
            started = [c.startup_seconds for c in nodes if c.action == "started" and c.startup_seconds]
            if started:
                timings[name] = max(started)
        result = self._settled_status()
        # what up() did for each node, beside what status() sees now
        for now, done in zip([*result.brokers, *result.es_nodes], [*brokers, *es_nodes], strict=True):
            now.action, now.startup_seconds = done.action, done.startup_seconds
            now.extra = {**done.extra, **now.extra}
        timings["total"] = round(time.monotonic() - t0, 2)
        result.timings = timings
        log.info(
            "stack up in %.1fs (%s; timings %s)",
            timings["total"],
            ", ".join(f"{c.label}: {c.action}" for c in result.components),
            timings,
        )
        return result

    def _settled_status(self, timeout: float = 30.0) -> StackStatus:
        """The status once every broker knows every other (each node is healthy by its own view
        first; the others learn of it from the metadata log a moment later), or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.status()
            kc = result.kafka_cluster
            settled = kc is not None and kc.brokers == self.settings.kafka_node_ids
            if (settled and result.healthy) or time.monotonic() > deadline:
                return result
            time.sleep(0.5)

    # -- down ------------------------------------------------------------------------------------
    def down(self) -> StackStatus:
        """Stop every node this manager started (found via pidfiles): SIGTERM, then SIGKILL.

        All nodes get SIGTERM at once: a KRaft broker's controlled shutdown needs a controller
        majority, which stopping them one by one would take away from the last ones.
        Nodes started by someone else (no pidfile of ours) are left alone.
        """
        nodes: list[Kafka | Elasticsearch] = [*self.es_nodes, *self.brokers]
        pids = {node.label: pid for node in nodes if (pid := node.managed_pid()) is not None}
        stopped = stop_pids(pids, self.settings.stop_timeout) if pids else {}
        for node in nodes:
            with contextlib.suppress(OSError):
                node.node_paths.pidfile.unlink()
        result = self.status()
        comp: ComponentStatus
        for comp in result.components:
            if comp.label in pids:
                comp.action = "stopped"
                comp.detail = "stopped" if stopped.get(comp.label) else "killed after timeout"
                comp.pid = pids[comp.label]
            else:
                comp.action = "not-running" if not comp.running else "none"
                if comp.running:
                    comp.detail = "not started by this manager; left running"
        log.info("stack down: %s", {c.label: c.action for c in result.components})
        return result

    # -- wipe ------------------------------------------------------------------------------------
    def wipe_data(self) -> None:
        """Forget every topic, offset, document and the topology: the next ``up`` forms a new cluster
        (of whatever size it is given). Keeps the artifacts, the ES install, configs and logs.

        Refuses while any node of this manager runs.
        """
        nodes: list[Kafka | Elasticsearch] = [*self.brokers, *self.es_nodes]
        running = [node.label for node in nodes if node.managed_pid() is not None]
        if running:
            raise StackError(
                f"cannot wipe {self.paths.root} while {', '.join(running)} run: `stack down` first"
            )
        for directory in [*self.paths.root.glob("kafka*/data"), *self.paths.root.glob("elasticsearch*/data")]:
            log.info("removing %s", directory)
            shutil.rmtree(directory)
        for path in (self.paths.kafka_cluster_id_file, self.paths.topology_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def cluster(settings: StackSettings | None = None, prefer_recorded: bool = False) -> Cluster:
    """The stack's nodes, for the topology recorded in its state dir unless ``settings`` chose one
    (``prefer_recorded``: even then)."""
    settings = effective_settings(settings or StackSettings(), prefer_recorded)
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    return Cluster(
        settings=settings,
        paths=paths,
        brokers=[Kafka(settings, paths, node) for node in settings.kafka_node_ids],
        es_nodes=[Elasticsearch(settings, paths, node) for node in settings.es_node_ids],
    )


def _locked(settings: StackSettings | None, action: Callable[[Cluster], T], prefer_recorded: bool) -> T:
    settings = settings or StackSettings()
    with _stack_lock(settings):
        return action(cluster(settings, prefer_recorded))


def up(settings: StackSettings | None = None) -> StackStatus:
    """Bring every Kafka and Elasticsearch node up (idempotent). Raises StackError (with log tails)."""
    settings = settings or StackSettings()
    if running_as_root():
        # before the state dir is chosen: the ES user must exist to tell whether it can reach it
        ensure_user(settings.es_user)
    return _locked(settings, Cluster.up, prefer_recorded=False)


def status(settings: StackSettings | None = None) -> StackStatus:
    """Every node of the recorded topology: running, healthy, managed pid, address, version, log path;
    and both clusters' state."""
    return cluster(settings, prefer_recorded=True).status()


def down(settings: StackSettings | None = None) -> StackStatus:
    """Stop every node of the recorded topology that this manager started."""
    return _locked(settings, Cluster.down, prefer_recorded=True)
