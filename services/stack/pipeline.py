"""Runs the three pipeline services in the background next to the native stack, supervised.

Each service is ``python -m services.<name>`` run by its own supervisor
(``python -m services.stack.supervise``, see there), which restarts it with capped backoff when it
exits unexpectedly and kills it when its ``/healthz`` stops answering. Logs go to
``<state>/logs/<name>.log``; ``<state>/run`` holds the service's pid, its supervisor's pid and the
supervisor's status file (restarts, last exit, last error line).
Starting is idempotent (a supervised service is left alone; a service running without a supervisor
gets one that adopts it) and stopping sends SIGTERM to the supervisor, which passes it on and does
not restart: each service finishes its batch and commits before it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.stack.process import managed_pid, spawn_detached, wait_or_kill
from services.stack.supervise import RestartPolicy, ServiceFiles, command_line, read_status

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


@dataclass(frozen=True)
class ServiceProcess:
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


def _marker(name: str) -> str:
    return f"services.{name}"


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
    """The pipeline's stages by default (what consumes Kafka); pass :data:`ALL_SERVICES` to include
    the search service too."""
    return [_service_status(state_dir, name) for name in names]


def start(
    state_dir: Path,
    names: Sequence[str] = SERVICES,
    env: Mapping[str, str] | None = None,
    *,
    policy: RestartPolicy | None = None,
    supervised: bool = True,
) -> list[ServiceProcess]:
    """Start every service in ``names`` that is not already running; return all their states.

    ``supervised`` (the default) runs each under a supervisor that restarts it when it exits
    unexpectedly, with ``policy`` (default: from ``NEWSWIRE_SUPERVISE_*`` in ``env`` or the
    environment); ``supervised=False`` starts bare processes that stay dead when they die.
    """
    child_env = {**os.environ, **(env or {})}
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    policy = policy or RestartPolicy.from_env(child_env)
    started = []
    for proc in status(state_dir, names):
        if proc.supervised or (proc.running and not supervised):
            log.info(
                "service already running",
                extra={"service": proc.name, "pid": proc.pid, "supervisor_pid": proc.supervisor_pid},
            )
            started.append(proc)
            continue
        files = ServiceFiles(proc.name, state_dir)
        command = [sys.executable, "-m", _marker(proc.name)]
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
            health_url=health_url(proc.name, child_env),
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
    from importlib import import_module

    fields = import_module(f"services.{name}.settings").Settings.model_fields
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
    """Stop the services in ``names``; True per service that stopped cleanly on SIGTERM.

    A supervised service's supervisor gets the SIGTERM: it passes it on, waits for the service to
    finish its batch and commit, and exits without restarting it. After ``timeout`` what is left
    (supervisor and service) is killed.
    """
    targets: dict[str, dict[str, int]] = {}
    for proc in status(state_dir, names):
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
