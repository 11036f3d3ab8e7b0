"""Keeps one pipeline service running: restarts it when it exits unexpectedly, with capped backoff.

``pipeline.start`` runs one supervisor per service worker, detached (``--service`` names the worker:
``enrich`` for a service's first, ``enrich-2`` for its second...)::

    python -m services.stack.supervise --service ingest --state-dir .state -- python -m services.ingest

Like compose's ``restart: unless-stopped`` (and ``on-failure``'s reading of exit codes): a service
that exits non-zero or dies of a signal (a crash, a stall watchdog, the OOM killer, ``kill -9``) is
started again after 1 s, then 2 s, 4 s ... at most 60 s; the delay starts over once a run lasted
30 s. A service that exits 0 stopped on purpose and is not restarted. SIGTERM to the supervisor
(``make down``) is passed to the service, which finishes and commits its batch; the supervisor
waits for it and exits without restarting it. With ``--health-url`` the supervisor also probes the
service's ``/healthz`` like a Kubernetes liveness probe (every 20 s, 5 s timeout, 3 failures in a
row once it has answered) and SIGKILLs a service that stopped answering: a process frozen as a
whole cannot exit by itself.

Files below ``<state>/run``: ``<name>.supervisor.pid`` (this process), ``<name>.pid`` (the service,
rewritten at every start) and ``<name>.status.json`` (state, restarts, last exit code, last error
line), which ``newswire status`` shows. Both processes write to ``<state>/logs/<name>.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from services.runtime.logging import configure_logging
from services.stack.process import pid_alive

LOGGER_NAME = "newswire.supervise"
log = logging.getLogger(LOGGER_NAME)

State = Literal["running", "restarting", "stopping", "stopped"]

#: How much of the end of a run's log is searched for its last error line.
ERROR_SCAN_BYTES = 256 * 1024
ERROR_LINE_MAX_CHARS = 500
_ERROR_LEVELS = frozenset({"error", "critical", "fatal"})
ADOPTED_POLL_S = 0.5
#: The probe goes straight to the service, whatever HTTP_PROXY says.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class RestartPolicy:
    """Capped exponential backoff between restarts, reset after a run that lasted long enough."""

    initial_s: float = 1.0
    max_s: float = 60.0
    reset_after_s: float = 30.0
    #: the liveness probe (used when the supervisor knows the service's health URL)
    health_interval_s: float = 20.0
    health_timeout_s: float = 5.0
    health_failures: int = 3

    ENV_PREFIX = "NEWSWIRE_SUPERVISE_"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RestartPolicy:
        """``NEWSWIRE_SUPERVISE_`` + ``BACKOFF_INITIAL_S``, ``BACKOFF_MAX_S``, ``RESET_AFTER_S``,
        ``HEALTH_INTERVAL_S``, ``HEALTH_TIMEOUT_S``, ``HEALTH_FAILURES``."""
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: float) -> float:
            return float(env.get(f"{cls.ENV_PREFIX}{name}", default))

        return cls(
            initial_s=get("BACKOFF_INITIAL_S", defaults.initial_s),
            max_s=get("BACKOFF_MAX_S", defaults.max_s),
            reset_after_s=get("RESET_AFTER_S", defaults.reset_after_s),
            health_interval_s=get("HEALTH_INTERVAL_S", defaults.health_interval_s),
            health_timeout_s=get("HEALTH_TIMEOUT_S", defaults.health_timeout_s),
            health_failures=int(get("HEALTH_FAILURES", defaults.health_failures)),
        )

    def delay(self, consecutive_failures: int) -> float:
        """Seconds to wait before the restart that follows the ``consecutive_failures``-th crash."""
        exponent = max(0, consecutive_failures - 1)
        # 2**64 overflows nothing in Python, but keep the arithmetic small for a long crash loop
        return min(self.max_s, self.initial_s * 2 ** min(exponent, 32))

    def args(self) -> list[str]:
        return [
            "--backoff-initial",
            f"{self.initial_s:g}",
            "--backoff-max",
            f"{self.max_s:g}",
            "--reset-after",
            f"{self.reset_after_s:g}",
            "--health-interval",
            f"{self.health_interval_s:g}",
            "--health-timeout",
            f"{self.health_timeout_s:g}",
            "--health-failures",
            str(self.health_failures),
        ]


@dataclass(frozen=True)
class ServiceFiles:
    """Where a supervised service keeps its pids, status and log below the state directory."""

    name: str
    state_dir: Path

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "run" / f"{self.name}.pid"

    @property
    def supervisor_pidfile(self) -> Path:
        return self.state_dir / "run" / f"{self.name}.supervisor.pid"

    @property
    def status_file(self) -> Path:
        return self.state_dir / "run" / f"{self.name}.status.json"

    @property
    def log(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def supervisor_marker(self) -> str:
        """What a supervisor's command line contains (guards against a reused pid)."""
        return f"services.stack.supervise --service {self.name} "


@dataclass
class SupervisorStatus:
    """The status file: what ``newswire status`` shows for a supervised service."""

    service: str
    supervisor_pid: int
    state: State = "running"
    #: the service's current pid (None while waiting to restart it)
    pid: int | None = None
    #: restarts since this supervisor started
    restarts: int = 0
    #: unexpected exits in a row (a run that lasted ``reset_after_s`` starts the count over)
    consecutive_failures: int = 0
    #: the last exit's return code; negative: killed by that signal; None: unknown (adopted process)
    last_exit_code: int | None = None
    last_exit: str | None = None
    last_exit_at: str | None = None
    #: the last error-level log line or exception line of the run that ended last
    last_error: str | None = None
    started_at: str | None = None
    next_restart_at: str | None = None
    backoff_s: float | None = None
    updated_at: str = field(default_factory=lambda: _now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exited (code unknown: the process was not started by this supervisor)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit {code}"


def write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Readers never see a half-written file: write a sibling, then rename it over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    """The status file's content, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def last_error_line(output: bytes) -> str | None:
    """The last error in a service's output: an error-level JSON log line or a plain-text line.

    The services log JSON lines; what they write as plain text is an error reported before logging
    was set up (an invalid setting) or an uncaught exception's traceback, whose last line (not
    indented, unlike its frames) is the exception itself. The JSON line's ``msg`` comes with its
    ``reason`` and the last line of its ``exc``. The supervisor's own lines are skipped: they
    describe the exit, not its cause.
    """
    for raw in reversed(output.decode(errors="replace").splitlines()):
        line = raw.strip()
        if not line or raw[0].isspace():
            continue
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or entry.get("logger") == LOGGER_NAME:
                continue
            if str(entry.get("level", "")).lower() in _ERROR_LEVELS:
                return _shorten(_json_error_text(entry))
            continue
        return _shorten(line)
    return None


def _json_error_text(entry: Mapping[str, Any]) -> str:
    text = str(entry.get("msg", "")).strip()
    if entry.get("reason"):
        text = f"{text} (reason: {entry['reason']})"
    exc_lines = [line for line in str(entry.get("exc") or "").splitlines() if line.strip()]
    if exc_lines:
        text = f"{text}: {exc_lines[-1].strip()}" if text else exc_lines[-1].strip()
    return text


def _shorten(text: str) -> str:
    return text if len(text) <= ERROR_LINE_MAX_CHARS else text[: ERROR_LINE_MAX_CHARS - 1] + "…"


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> bytes:
    """The log written since ``offset`` (its last ``ERROR_SCAN_BYTES`` at most)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(offset, size - ERROR_SCAN_BYTES) if size >= offset else 0)
            return fh.read()
    except OSError:
        return b""


class Supervisor:
    """Runs ``command`` until asked to stop, restarting it after unexpected exits."""

    def __init__(
        self,
        files: ServiceFiles,
        command: Sequence[str],
        policy: RestartPolicy,
        adopt_pid: int | None = None,
        health_url: str | None = None,
    ) -> None:
        self.files = files
        self.command = list(command)
        self.policy = policy
        self.adopted = adopt_pid
        self.health_url = health_url
        #: why the supervisor killed the current run (it then has no error line of its own)
        self._killed_because: str | None = None
        self.child: subprocess.Popen[bytes] | None = None
        self.stop_requested = False
        self._signalled: set[int] = set()
        self.status = SupervisorStatus(service=files.name, supervisor_pid=os.getpid())

    # -- signals -------------------------------------------------------------------------------
    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        if not self.stop_requested:
            log.info(
                "stop requested: passing SIGTERM to the service, it will not be restarted",
                extra={"signal": signal.Signals(signum).name, "pid": self._current_pid()},
            )
        self.stop_requested = True
        self._terminate_current()

    def _current_pid(self) -> int | None:
        if self.child is not None and self.child.returncode is None:
            return self.child.pid
        return self.adopted

    def _terminate_current(self) -> None:
        """SIGTERM the running service once (a second SIGTERM could cut its shutdown short)."""
        pid = self._current_pid()
        if pid is None or pid in self._signalled:
            return
        self._signalled.add(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while not self.stop_requested:
            log_offset = _log_size(self.files.log)
            started = time.monotonic()
            code = self._watch_adopted() if self.adopted is not None else self._run_child()
            ran_s = time.monotonic() - started
            self._record_exit(code, _read_from(self.files.log, log_offset))
            if self.stop_requested:
                break
            if code == 0:
                log.info("service exited 0 on its own: not restarting it", extra={"ran_s": round(ran_s, 1)})
                break
            failures = 1 if ran_s >= self.policy.reset_after_s else self.status.consecutive_failures + 1
            self._wait_to_restart(failures, ran_s)
        self._update(state="stopped", pid=None, next_restart_at=None, backoff_s=None)
        log.info("supervisor exiting", extra={"restarts": self.status.restarts})
        return 0

    def _run_child(self) -> int:
        self.files.log.parent.mkdir(parents=True, exist_ok=True)
        with self.files.log.open("ab") as output:
            self.child = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
        pid = self.child.pid
        _write_pidfile(self.files.pidfile, pid)
        self._update(state="running", pid=pid, started_at=_now(), next_restart_at=None, backoff_s=None)
        log.info("service started", extra={"pid": pid, "restarts": self.status.restarts})
        if self.stop_requested:  # the stop arrived while the process was being created
            self._terminate_current()
        if self.health_url is None:
            # wait() resumes after a signal handler ran (PEP 475): SIGTERM is passed on, then we wait
            return self.child.wait()
        return self._wait_probing(self.child, self.health_url)

    def _wait_probing(self, child: subprocess.Popen[bytes], url: str) -> int:
        """Wait for the child, probing ``url`` meanwhile; SIGKILL it when it stopped answering.

        Failures count only once the service answered (it may wait for Kafka before it serves) and
        not while it is being stopped.
        """
        policy = self.policy
        answered = False
        failures = 0
        next_probe = time.monotonic() + policy.health_interval_s
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return child.wait(timeout=max(0.05, next_probe - time.monotonic()))
            next_probe = time.monotonic() + policy.health_interval_s
            if self.stop_requested:
                continue
            problem = probe_health(url, policy.health_timeout_s)
            if problem is None:
                answered, failures = True, 0
                continue
            if not answered:
                continue
            failures += 1
            log.warning("liveness probe failed", extra={"url": url, "problem": problem, "failures": failures})
            if failures >= policy.health_failures:
                self._killed_because = f"liveness probe failed {failures} times in a row: {problem}"
                log.error("killing the service: %s", self._killed_because, extra={"pid": child.pid})
                child.kill()  # SIGKILL: a process frozen as a whole cannot act on SIGTERM
                return child.wait()

    def _watch_adopted(self) -> int | None:
        """Wait for a service this supervisor did not start (its exit code cannot be known)."""
        assert self.adopted is not None
        pid = self.adopted
        self._update(state="running", pid=pid, started_at=_now())
        log.info("supervising a service that was already running", extra={"pid": pid})
        while pid_alive(pid):
            time.sleep(ADOPTED_POLL_S)
        self.adopted = None
        return None

    def _record_exit(self, code: int | None, output: bytes) -> None:
        error = self._killed_because or last_error_line(output)
        self._killed_because = None
        self._update(
            pid=None,
            last_exit_code=code,
            last_exit=describe_exit(code),
            last_exit_at=_now(),
            last_error=error if code != 0 else None,
        )

    def _wait_to_restart(self, failures: int, ran_s: float) -> None:
        delay = self.policy.delay(failures)
        self._update(
            state="restarting",
            consecutive_failures=failures,
            backoff_s=delay,
            next_restart_at=datetime.fromtimestamp(time.time() + delay, UTC).isoformat(
                timespec="milliseconds"
            ),
        )
        log.error(
            "service exited unexpectedly (%s); restarting it in %gs",
            self.status.last_exit,
            delay,
            extra={
                "exit_code": self.status.last_exit_code,
                "ran_s": round(ran_s, 1),
                "backoff_s": delay,
                "consecutive_failures": failures,
                "last_error": self.status.last_error,
            },
        )
        deadline = time.monotonic() + delay
        while not self.stop_requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.1, left))
        if not self.stop_requested:
            self._update(restarts=self.status.restarts + 1)

    def _update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status.updated_at = _now()
        write_json_atomically(self.files.status_file, asdict(self.status))


def probe_health(url: str, timeout: float) -> str | None:
    """None when ``url`` answers 2xx within ``timeout``, else what went wrong."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        body = exc.read(200).decode(errors="replace").strip()
        return f"HTTP {exc.code}: {body}" if body else f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, timed out, reset
        return f"no answer: {exc}"


def _write_pidfile(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def command_line(
    name: str,
    state_dir: Path,
    command: Sequence[str],
    policy: RestartPolicy,
    python: str,
    adopt_pid: int | None = None,
    health_url: str | None = None,
) -> list[str]:
    """The supervisor's argv; its first arguments are the marker ``ServiceFiles`` looks for."""
    argv = [python, "-m", "services.stack.supervise", "--service", name, "--state-dir", str(state_dir)]
    argv += policy.args()
    if adopt_pid is not None:
        argv += ["--adopt", str(adopt_pid)]
    if health_url is not None:
        argv += ["--health-url", health_url]
    return [*argv, "--", *command]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack.supervise", description=__doc__)
    parser.add_argument("--service", required=True, help="the service's name (files and log lines)")
    parser.add_argument("--state-dir", type=Path, required=True)
    defaults = RestartPolicy.from_env()
    parser.add_argument("--backoff-initial", type=float, default=defaults.initial_s)
    parser.add_argument("--backoff-max", type=float, default=defaults.max_s)
    parser.add_argument("--reset-after", type=float, default=defaults.reset_after_s)
    parser.add_argument("--health-url", help="the service's /healthz: SIGKILL it when it stops answering")
    parser.add_argument("--health-interval", type=float, default=defaults.health_interval_s)
    parser.add_argument("--health-timeout", type=float, default=defaults.health_timeout_s)
    parser.add_argument("--health-failures", type=int, default=defaults.health_failures)
    parser.add_argument("--adopt", type=int, help="pid of the service already running: watch it first")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the service's command line")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to supervise (give it after --)")
    configure_logging(args.service)
    policy = RestartPolicy(
        args.backoff_initial,
        args.backoff_max,
        args.reset_after,
        args.health_interval,
        args.health_timeout,
        args.health_failures,
    )
    files = ServiceFiles(args.service, args.state_dir.absolute())
    return Supervisor(files, command, policy, adopt_pid=args.adopt, health_url=args.health_url).run()


if __name__ == "__main__":
    raise SystemExit(main())
