"""up / down / status for the whole native stack."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .artifacts import ensure_artifacts, ensure_es_unpacked
from .elasticsearch import Elasticsearch, ensure_user
from .kafka import Kafka
from .models import ComponentStatus, StackStatus
from .paths import StackPaths, effective_state_dir, running_as_root
from .process import StackError, port_open, stop_pids
from .settings import StackSettings

log = logging.getLogger(__name__)


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


def _components(settings: StackSettings) -> tuple[StackPaths, Kafka, Elasticsearch]:
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    return paths, Kafka(settings, paths), Elasticsearch(settings, paths)


def _check_java(settings: StackSettings) -> None:
    for what, java in (("Kafka", settings.kafka_java), ("Elasticsearch", settings.es_java / "bin" / "java")):
        if not java.exists():
            raise StackError(f"no Java for {what} at {java} (set NEWSWIRE_STACK_JAVA_HOME)")


def up(settings: StackSettings | None = None) -> StackStatus:
    """Bring Kafka and Elasticsearch up; no-op for each one that already answers and is healthy.

    Artifacts are resolved with Maven only when missing from ``<state>/dist``; the ES zip is
    unpacked once; the analysis plugin is (re)built and (re)installed only when it changed.
    Kafka and Elasticsearch start concurrently. Raises StackError (with log tails) on failure.
    """
    settings = settings or StackSettings()
    with _stack_lock(settings):
        return _up(settings)


def _up(settings: StackSettings) -> StackStatus:
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    kafka_up = port_open(settings.kafka_host, settings.kafka_port)
    es_up = port_open(settings.es_host, settings.es_port)

    if running_as_root() and not es_up:
        ensure_user(settings.es_user)  # before choosing the state dir: it must be reachable by it
    paths, kafka, es = _components(settings)
    paths.root.mkdir(parents=True, exist_ok=True)

    if not (kafka_up and es_up):
        _check_java(settings)
        t = time.monotonic()
        if ensure_artifacts(settings, paths):
            timings["artifacts"] = round(time.monotonic() - t, 2)
        if not es_up:
            t = time.monotonic()
            if ensure_es_unpacked(paths):
                timings["unpack"] = round(time.monotonic() - t, 2)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-up") as pool:
        kafka_future = pool.submit(kafka.ensure_running)
        es_future = pool.submit(es.ensure_running, timings)
        errors: list[str] = []
        kafka_status = es_status = None
        try:
            kafka_status = kafka_future.result()
        except StackError as exc:
            errors.append(str(exc))
        try:
            es_status = es_future.result()
        except StackError as exc:
            errors.append(str(exc))
    if errors:
        raise StackError("\n\n".join(errors))
    assert kafka_status is not None and es_status is not None

    for status in (kafka_status, es_status):
        if status.action == "started" and status.startup_seconds is not None:
            timings[status.name] = status.startup_seconds
    timings["total"] = round(time.monotonic() - t0, 2)
    result = StackStatus(state_dir=paths.root, kafka=kafka_status, elasticsearch=es_status, timings=timings)
    log.info(
        "stack up in %.1fs (kafka: %s, elasticsearch: %s; timings %s)",
        timings["total"],
        kafka_status.action,
        es_status.action,
        timings,
    )
    return result


def status(settings: StackSettings | None = None) -> StackStatus:
    """Per component: running, healthy, managed pid, address, version, log path."""
    settings = settings or StackSettings()
    paths, kafka, es = _components(settings)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-status") as pool:
        kafka_future = pool.submit(kafka.status)
        es_future = pool.submit(es.status)
        return StackStatus(
            state_dir=paths.root, kafka=kafka_future.result(), elasticsearch=es_future.result()
        )


def down(settings: StackSettings | None = None) -> StackStatus:
    """Stop the processes this manager started (found via pidfiles): SIGTERM, then SIGKILL.

    Components started by someone else (no pidfile of ours) are left alone.
    """
    settings = settings or StackSettings()
    with _stack_lock(settings):
        return _down(settings)


def _down(settings: StackSettings) -> StackStatus:
    paths, kafka, es = _components(settings)
    pids = {
        name: pid
        for name, pid in (("elasticsearch", es.managed_pid()), ("kafka", kafka.managed_pid()))
        if pid is not None
    }
    stopped = stop_pids(pids, settings.stop_timeout) if pids else {}
    for pidfile in (paths.kafka_pidfile, paths.es_pidfile):
        with contextlib.suppress(OSError):
            pidfile.unlink()
    result = status(settings)
    comp: ComponentStatus
    for comp in result.components:
        if comp.name in pids:
            comp.action = "stopped"
            comp.detail = "stopped" if stopped.get(comp.name) else "killed after timeout"
            comp.pid = pids[comp.name]
        else:
            comp.action = "not-running" if not comp.running else "none"
            if comp.running:
                comp.detail = "not started by this manager; left running"
    log.info("stack down: %s", {c.name: c.action for c in result.components})
    return result
