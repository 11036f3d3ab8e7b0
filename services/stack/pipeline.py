"""Runs the three pipeline services as background processes next to the native stack.

Each service is ``python -m services.<name>`` with its log in ``<state>/logs/<name>.log`` and its pid
in ``<state>/run/<name>.pid``. Starting is idempotent (a live service is left alone) and stopping
sends SIGTERM first, so each service finishes its batch and commits before it exits.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.stack.process import managed_pid, spawn_detached, stop_pids

log = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = ("ingest", "enrich", "index")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    pid: int | None
    log_path: Path

    @property
    def running(self) -> bool:
        return self.pid is not None


def _pidfile(state_dir: Path, name: str) -> Path:
    return state_dir / "run" / f"{name}.pid"


def _log_path(state_dir: Path, name: str) -> Path:
    return state_dir / "logs" / f"{name}.log"


def _marker(name: str) -> str:
    return f"services.{name}"


def status(state_dir: Path, names: Sequence[str] = SERVICES) -> list[ServiceProcess]:
    return [
        ServiceProcess(
            name, managed_pid(_pidfile(state_dir, name), _marker(name)), _log_path(state_dir, name)
        )
        for name in names
    ]


def start(
    state_dir: Path, names: Sequence[str] = SERVICES, env: Mapping[str, str] | None = None
) -> list[ServiceProcess]:
    """Start every service in ``names`` that is not already running; return all their states."""
    child_env = {**os.environ, **(env or {})}
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    started = []
    for proc in status(state_dir, names):
        if proc.running:
            log.info("service already running", extra={"service": proc.name, "pid": proc.pid})
            started.append(proc)
            continue
        pid = spawn_detached(
            [sys.executable, "-m", _marker(proc.name)],
            pidfile=_pidfile(state_dir, proc.name),
            output=proc.log_path,
            env=child_env,
            cwd=REPO_ROOT,
        )
        log.info("service started", extra={"service": proc.name, "pid": pid, "log": str(proc.log_path)})
        started.append(ServiceProcess(proc.name, pid, proc.log_path))
    return started


def stop(state_dir: Path, names: Sequence[str] = SERVICES, timeout: float = 30.0) -> dict[str, bool]:
    """SIGTERM the running services, SIGKILL after ``timeout``; True per service that stopped cleanly."""
    pids = {proc.name: proc.pid for proc in status(state_dir, names) if proc.pid is not None}
    return stop_pids(pids, timeout) if pids else {}
