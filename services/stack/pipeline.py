"""Runs the three pipeline services in the background next to the native stack, supervised.

Each service is ``python -m services.<name>`` run by its own supervisor
(``python -m services.stack.supervise``, see there), which restarts it with capped backoff when it
exits unexpectedly and kills it when its ``/healthz`` stops answering. Logs go to
``<state>/logs/<name>.log``; ``<state>/run`` holds the service's pid, its supervisor's pid and the
supervisor's status file (restarts, last exit, last error line).
Starting is idempotent (a supervised service is left alone; a service running without a supervisor
gets one that adopts it) and stopping sends SIGTERM to the supervisor, which passes it on and does
not restart: each service finishes its batch and commits before it exits.

A service can run as several workers (``start(..., workers={"enrich": 3})``), each a separate
supervised process in the service's consumer group: worker k of service s is named ``s`` for k = 1
(what a single worker always was) and ``s-k`` from 2 on, with its own files (``<state>/run/s-k.*``,
``<state>/logs/s-k.log``), its own metrics port (the service's + 10 * (k - 1)), its own Kafka client id
(``newswire-s-k``, which ``newswire status`` shows beside its partitions) and, for enrich, its own
faust data directory. The workers of a service share everything else (group, topics, settings).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from services.stack.process import managed_pid, pid_alive, spawn_detached, wait_or_kill
from services.stack.supervise import (
    RestartPolicy,
    ServiceFiles,
    command_line,
    describe_exit,
    read_status,
    write_json_atomically,
)

log = logging.getLogger(__name__)

#: The pipeline's stages (Kafka consumers), in the order an article passes them.
SERVICES: tuple[str, ...] = ("ingest", "enrich", "index")
#: The search API and web page (``python -m services.search``): reads the index, consumes nothing.
SEARCH = "search"
#: Matches the indexed articles against the watches (``python -m services.alert``): consumes
#: ``articles.enriched`` beside the index, produces ``articles.alerts``; not a stage articles pass.
ALERT = "alert"
#: Everything ``make up`` runs and ``make down`` stops.
ALL_SERVICES: tuple[str, ...] = (*SERVICES, ALERT, SEARCH)
REPO_ROOT = Path(__file__).resolve().parents[2]
#: How long ``start`` waits for a new supervisor to report the service's pid.
START_WAIT_S = 10.0
#: Most workers of one service: worker k's metrics port is the service's + PORT_STEP * (k - 1), so
#: the ports of different services (9101, 9102 ...) do not meet below ten workers.
MAX_WORKERS = 9
PORT_STEP = 10
#: Services that run as one process only: the search service serves one HTTP port.
SINGLE_WORKER: frozenset[str] = frozenset({SEARCH})
_WORKER_NAME = re.compile(r"^(?P<service>[a-z]+)-(?P<number>[2-9])$")


@dataclass(frozen=True)
class ServiceProcess:
    #: the worker's name: the service's for its first worker, ``<service>-<k>`` for the k-th
    name: str
    #: the service's pid while it runs
    pid: int | None
    log_path: Path
    supervisor_pid: int | None = None
    #: starting, running, restarting (waiting out the backoff), stopping, stopped
    state: str = "stopped"
    restarts: int = 0
    #: the last exit's return code (negative: killed by that signal), from the status file
    last_exit_code: int | None = None
    last_exit: str | None = None
    last_exit_at: str | None = None
    last_error: str | None = None
    next_restart_at: str | None = None

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def supervised(self) -> bool:
        return self.supervisor_pid is not None

    @property
    def service(self) -> str:
        return service_of(self.name)

    @property
    def worker(self) -> int:
        return worker_number(self.name)


def worker_name(service: str, number: int) -> str:
    """Worker ``number`` (from 1) of ``service``: ``index``, ``index-2``, ``index-3`` ..."""
    if not 1 <= number <= MAX_WORKERS:
        raise ValueError(f"worker number {number} of {service}: between 1 and {MAX_WORKERS}")
    return service if number == 1 else f"{service}-{number}"


def service_of(name: str) -> str:
    """The service a worker name belongs to (``enrich-2`` -> ``enrich``; ``enrich`` -> ``enrich``)."""
    match = _WORKER_NAME.match(name)
    return match["service"] if match else name


def worker_number(name: str) -> int:
    match = _WORKER_NAME.match(name)
    return int(match["number"]) if match else 1


def parse_workers(text: str) -> dict[str, int]:
    """``enrich=3,index=2`` -> ``{"enrich": 3, "index": 2}`` (``make up WORKERS=...``, ``--workers``)."""
    counts: dict[str, int] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        service, sep, count = part.partition("=")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"workers: expected <service>=<count>, got {part!r}")
        counts[service.strip()] = int(count)
    return counts


def _marker(name: str) -> str:
    """What the service's command line contains (``python -m services.<service>``)."""
    return f"services.{service_of(name)}"


def _service_status(state_dir: Path, name: str) -> ServiceProcess:
    files = ServiceFiles(name, state_dir)
    pid = managed_pid(files.pidfile, _marker(name))
    supervisor_pid = managed_pid(files.supervisor_pidfile, files.supervisor_marker)
    recorded = read_status(files.status_file) or {}
    current = supervisor_pid is not None and recorded.get("supervisor_pid") == supervisor_pid
    if current:
        state = str(recorded.get("state"))
    elif supervisor_pid is not None:
        state = "starting"  # a new supervisor that has not written its status yet
    else:
        # no supervisor: an earlier one's counters still tell what happened, its state does not
        state = "running" if pid else "stopped"
    return ServiceProcess(
        name=name,
        pid=pid,
        log_path=files.log,
        supervisor_pid=supervisor_pid,
        state=state,
        restarts=int(recorded.get("restarts") or 0),
        last_exit_code=recorded.get("last_exit_code"),
        last_exit=recorded.get("last_exit"),
        last_exit_at=recorded.get("last_exit_at"),
        last_error=recorded.get("last_error"),
        next_restart_at=recorded.get("next_restart_at") if current else None,
    )


def status(state_dir: Path, names: Sequence[str] = SERVICES) -> list[ServiceProcess]:
    """Every worker of the pipeline's stages by default (what consumes Kafka); pass
    :data:`ALL_SERVICES` to include the search service too.

    A service's name stands for all its workers that left files in the state directory (running or
    not), a worker's name (``enrich-2``) for that worker alone.
    """
    return [_service_status(state_dir, name) for name in _worker_names(state_dir, names)]


def _worker_names(state_dir: Path, names: Sequence[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        if _WORKER_NAME.match(name):
            found.append(name)
            continue
        further = {
            match["number"]
            for path in (state_dir / "run").glob(f"{name}-*")
            if (match := _WORKER_NAME.match(path.name.split(".", 1)[0])) and match["service"] == name
        }
        found += [name, *(f"{name}-{number}" for number in sorted(further))]
    return list(dict.fromkeys(found))


def worker_env(service: str, number: int, env: Mapping[str, str]) -> dict[str, str]:
    """What worker ``number`` of ``service`` gets on top of ``env`` (the service's settings in it).

    The first worker gets nothing: it is what a single worker always was. Worker k gets the
    service's metrics port + :data:`PORT_STEP` * (k - 1) (unless metrics are off), the service's
    Kafka client id with ``-k`` (so that the group's members can be told apart) and, for enrich,
    faust's data directory with ``-k`` (each faust worker needs its own).
    """
    if number == 1:
        return {}
    worker_name(service, number)  # validates the number
    prefix = f"NEWSWIRE_{service.upper()}_"
    settings_class = _settings_class(service)
    fields: dict[str, Any] = settings_class.model_fields
    overrides: dict[str, str] = {}
    ports = ["metrics_port", "web_port"] if service == "enrich" else ["metrics_port"]
    for port_field in ports:
        variable = f"{prefix}{port_field.upper()}"
        port = env.get(variable, str(fields[port_field].default))
        if port.isdigit() and int(port):  # 0: off; not a number: the service will say so
            overrides[variable] = str(int(port) + PORT_STEP * (number - 1))
    client_id = env.get(f"{prefix}CLIENT_ID") or fields["client_id"].default or f"newswire-{service}"
    overrides[f"{prefix}CLIENT_ID"] = f"{client_id}-{number}"
    if service == "enrich":
        # The default for the workers' app id, built without reading this process's environment.
        app_id = env.get(f"{prefix}APP_ID", fields["app_id"].default)
        default_dir = settings_class.model_construct(app_id=app_id).faust_data_dir
        data_dir = env.get(f"{prefix}DATA_DIR") or default_dir
        overrides[f"{prefix}DATA_DIR"] = f"{data_dir}-{number}"
    return overrides


def _settings_class(service: str) -> Any:
    return import_module(f"services.{service}.settings").Settings


def validate_workers(names: Sequence[str], workers: Mapping[str, int]) -> None:
    """Raise ValueError unless ``workers`` counts 1 to :data:`MAX_WORKERS` workers of the ``names``."""
    unknown = set(workers) - set(names)
    if unknown:
        raise ValueError(
            f"workers for services not started: {', '.join(sorted(unknown))} (services: {', '.join(names)})"
        )
    for name, count in workers.items():
        if not 1 <= count <= MAX_WORKERS:
            raise ValueError(f"{name}: between 1 and {MAX_WORKERS} workers, not {count}")
        if count > 1 and name in SINGLE_WORKER:
            raise ValueError(f"{name} runs as one process (it serves one port)")


def _wanted_workers(names: Sequence[str], workers: Mapping[str, int] | None) -> list[tuple[str, int]]:
    """(service, worker number) of every worker to run, in the order of ``names``."""
    counts = dict(workers or {})
    validate_workers(names, counts)
    wanted = []
    for name in names:
        count = counts.get(name, 1)
        if _WORKER_NAME.match(name):
            wanted.append((service_of(name), worker_number(name)))
        else:
            wanted += [(name, number) for number in range(1, count + 1)]
    return wanted


def start(
    state_dir: Path,
    names: Sequence[str] = SERVICES,
    env: Mapping[str, str] | None = None,
    *,
    workers: Mapping[str, int] | None = None,
    policy: RestartPolicy | None = None,
    supervised: bool = True,
    stack: Any = None,
) -> list[ServiceProcess]:
    """Start every worker of the services in ``names`` that is not already running; return their states.

    ``workers`` says how many workers a service runs (default 1; ``{"enrich": 3}``: ``enrich``,
    ``enrich-2``, ``enrich-3``); workers beyond that number that already run are left alone
    (:func:`stop_worker` stops one). A worker's name in ``names`` starts that worker alone.
    ``env`` reaches every worker (:func:`worker_env` adds each one's own ports, client id and data
    directory). ``supervised`` (the default) runs each under a supervisor that restarts it when it
    exits unexpectedly, with ``policy`` (default: from ``NEWSWIRE_SUPERVISE_*`` in ``env`` or the
    environment); ``supervised=False`` starts bare processes that stay dead when they die.
    ``stack`` (its ``StackSettings``): on a secure stack each service gets its own principal's
    credentials (``secure_mode.own_env``) and no other's.
    """
    base_env = {**os.environ, **(env or {})}
    base_env.setdefault("PYTHONUNBUFFERED", "1")
    policy = policy or RestartPolicy.from_env(base_env)
    started = []
    for service, number in _wanted_workers(names, workers):
        proc = _service_status(state_dir, worker_name(service, number))
        child_env = {**base_env, **worker_env(service, number, base_env)}
        if stack is not None and stack.secure:
            from services.stack.secure_mode import own_env

            child_env = own_env(stack, service, child_env)
        if proc.supervised or (proc.running and not supervised):
            log.info(
                "service already running",
                extra={"service": proc.name, "pid": proc.pid, "supervisor_pid": proc.supervisor_pid},
            )
            started.append(proc)
            continue
        files = ServiceFiles(proc.name, state_dir)
        command = [sys.executable, "-m", _marker(service)]
        if not supervised:
            pid = spawn_detached(
                command, pidfile=files.pidfile, output=files.log, env=child_env, cwd=REPO_ROOT
            )
            log.info("service started", extra={"service": proc.name, "pid": pid, "log": str(files.log)})
            started.append(_service_status(state_dir, proc.name))
            continue
        if proc.running:
            log.info("service runs without a supervisor: adopting it", extra={"service": proc.name})
        argv = command_line(
            proc.name,
            state_dir,
            command,
            policy,
            sys.executable,
            adopt_pid=proc.pid,
            health_url=health_url(service, child_env),
        )
        supervisor_pid = spawn_detached(
            argv,
            pidfile=files.supervisor_pidfile,
            output=files.log,
            env=child_env,
            cwd=REPO_ROOT,
        )
        current = _wait_for_service(state_dir, proc.name, supervisor_pid)
        log.info(
            "service started under supervision",
            extra={
                "service": proc.name,
                "pid": current.pid,
                "supervisor_pid": supervisor_pid,
                "log": str(files.log),
            },
        )
        started.append(current)
    return started


def health_url(name: str, env: Mapping[str, str]) -> str | None:
    """The service's ``/healthz`` as its settings will say (None: metrics off or not understood)."""
    fields = _settings_class(name).model_fields
    prefix = f"NEWSWIRE_{name.upper()}_"
    # The pipeline's stages serve their probes beside the work (METRICS_*); the search service is
    # an HTTP server itself (HOST, PORT).
    own_server = "metrics_port" not in fields
    host_field, port_field = ("host", "port") if own_server else ("metrics_host", "metrics_port")
    host = env.get(f"{prefix}{host_field.upper()}", fields[host_field].default)
    try:
        port = int(env.get(f"{prefix}{port_field.upper()}", fields[port_field].default))
    except ValueError:
        return None  # the service will say what is wrong with it when it starts
    if not port:
        return None
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{port}/healthz"


def _wait_for_service(state_dir: Path, name: str, supervisor_pid: int) -> ServiceProcess:
    """The service's status once its new supervisor started it (or gave up, or the wait ran out)."""
    deadline = time.monotonic() + START_WAIT_S
    while True:
        current = _service_status(state_dir, name)
        settled = current.supervisor_pid == supervisor_pid and current.state != "starting"
        settled = settled and (current.running or current.state != "running")
        if settled or current.supervisor_pid is None or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def stop(state_dir: Path, names: Sequence[str] = ALL_SERVICES, timeout: float = 30.0) -> dict[str, bool]:
    """Stop every worker of the services in ``names``; True per worker that stopped cleanly on SIGTERM.

    A supervised worker's supervisor gets the SIGTERM: it passes it on, waits for the service to
    finish its batch and commit, and exits without restarting it. After ``timeout`` what is left
    (supervisor and service) is killed.
    """
    return _stop(state_dir, status(state_dir, names), timeout)


def stop_worker(state_dir: Path, name: str, kill: bool = False, timeout: float = 30.0) -> bool:
    """Stop the one worker ``name`` (``enrich`` is enrich's first worker alone, ``enrich-2`` its second).

    Clean (``kill=False``): as :func:`stop`; True when it stopped on SIGTERM. ``kill=True``: its
    supervisor is SIGKILLed first (a SIGTERM would pass on as a clean stop, and a live supervisor
    would restart the service), then the service: a worker dying without leaving its group or
    committing, as in a crash. Its status file then records the kill. True when both are gone.
    """
    proc = _service_status(state_dir, name)
    if not kill:
        return _stop(state_dir, [proc], timeout).get(name, True)
    files = ServiceFiles(name, state_dir)
    if proc.supervisor_pid is not None:
        log.info("killing %s's supervisor (pid %s)", name, proc.supervisor_pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.supervisor_pid, signal.SIGKILL)
        _wait_gone(proc.supervisor_pid, timeout)
    # the supervisor may have started the service again since it was read
    pid = managed_pid(files.pidfile, _marker(name))
    if pid is not None:
        log.info("killing %s (pid %s)", name, pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, timeout)
    recorded = read_status(files.status_file)
    if recorded is not None and pid is not None:
        code = -int(signal.SIGKILL)
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        recorded.update(
            state="stopped",
            pid=None,
            last_exit_code=code,
            last_exit=f"{describe_exit(code)} (pipeline.stop_worker)",
            last_exit_at=now,
            last_error=None,
            next_restart_at=None,
            updated_at=now,
        )
        write_json_atomically(files.status_file, recorded)
    return not any(other is not None and pid_alive(other) for other in (proc.supervisor_pid, proc.pid, pid))


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _stop(state_dir: Path, procs: Sequence[ServiceProcess], timeout: float) -> dict[str, bool]:
    targets: dict[str, dict[str, int]] = {}
    for proc in procs:
        pids = {
            role: pid
            for role, pid in (("supervisor", proc.supervisor_pid), ("service", proc.pid))
            if pid is not None
        }
        if not pids:
            continue
        targets[proc.name] = pids
        first = pids["supervisor"] if "supervisor" in pids else pids["service"]
        log.info("stopping %s (pid %s)", proc.name, first)
        with contextlib.suppress(ProcessLookupError):
            os.kill(first, signal.SIGTERM)
    if not targets:
        return {}
    ended = wait_or_kill(
        {f"{name} {role}": pid for name, pids in targets.items() for role, pid in pids.items()}, timeout
    )
    # A supervisor killed at the deadline may have started a service that nobody stops now.
    for name in targets:
        late = managed_pid(ServiceFiles(name, state_dir).pidfile, _marker(name))
        if late is not None and not all(ended.get(f"{name} {role}", True) for role in targets[name]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(late, signal.SIGKILL)
    return {name: all(ended[f"{name} {role}"] for role in pids) for name, pids in targets.items()}
