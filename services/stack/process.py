"""Process helpers: pidfiles, liveness, detached starts, graceful stops, ports, log tails."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """A component could not be prepared, started or stopped."""


def read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live (non-zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # state is the first field after the parenthesised command name
    if stat.rsplit(")", 1)[-1].split()[0] != "Z":
        return True
    # A zombie leader thread can still have live threads (a JVM shutting down): alive until the
    # whole thread group is gone.
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def managed_pid(pidfile: Path, marker: str) -> int | None:
    """The pid in ``pidfile`` if that process is alive and its command line contains ``marker``.

    The marker guards against a stale pidfile whose pid was reused by an unrelated process.
    """
    pid = read_pid(pidfile)
    if pid is None or not pid_alive(pid):
        return None
    line = cmdline(pid)
    if line and marker not in line:
        log.debug("pid %s from %s is not ours (%r)", pid, pidfile, line[:200])
        return None
    return pid


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def tails(paths: Iterable[Path], lines: int = 40) -> str:
    parts = []
    for path in paths:
        text = tail(path, lines)
        if text:
            parts.append(f"--- {path} (last {lines} lines) ---\n{text}")
    return "\n".join(parts) or "(no log output)"


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    what: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; raise StackError with its output if it fails."""
    args = [str(a) for a in argv]
    log.debug("running %s", " ".join(args))
    try:
        proc = subprocess.run(
            args,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise StackError(f"{what or args[0]}: command not found: {args[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what or args[0]}: timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        output = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-60:])
        raise StackError(f"{what or args[0]} failed (exit {proc.returncode}): {' '.join(args)}\n{output}")
    return proc


def spawn_detached(
    argv: Sequence[str | os.PathLike[str]],
    *,
    pidfile: Path,
    output: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pid_wait: float = 10.0,
) -> int:
    """Start ``argv`` as a daemon (new session, re-parented to init) and return its pid.

    ``setsid --fork`` detaches the process so it outlives the caller and is never left as a
    zombie of it; a tiny shell writes its own pid to ``pidfile`` and then ``exec``s the command,
    so the pid recorded is the pid of the command itself. stdout and stderr go to ``output``.
    """
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        pidfile.unlink()
    script = 'echo $$ > "$0"; exec "$@"'
    args = ["setsid", "--fork", "sh", "-c", script, str(pidfile), *[str(a) for a in argv]]
    with output.open("ab") as out:
        subprocess.run(
            args,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    deadline = time.monotonic() + pid_wait
    while time.monotonic() < deadline:
        pid = read_pid(pidfile)
        if pid is not None:
            return pid
        time.sleep(0.05)
    raise StackError(f"{argv[0]} did not write its pidfile {pidfile}")


def stop_one(label: str, pid: int | None, timeout: float) -> bool | None:
    """SIGTERM one managed process, SIGKILL it after ``timeout``: True if it stopped in time, False if
    it was killed, None if there was none (``pid`` None)."""
    if pid is None:
        return None
    return stop_pids({label: pid}, timeout)[label]


def stop_pids(pids: Mapping[str, int], timeout: float) -> dict[str, bool]:
    """SIGTERM every pid, wait up to ``timeout`` for all, SIGKILL the rest.

    Returns ``{name: True if it stopped on SIGTERM, False if it had to be killed}``.
    """
    for name, pid in pids.items():
        log.info("stopping %s (pid %s)", name, pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return wait_or_kill(pids, timeout)


def wait_or_kill(pids: Mapping[str, int], timeout: float) -> dict[str, bool]:
    """Wait up to ``timeout`` for every pid to end, then SIGKILL the rest.

    Returns ``{name: True if it ended in time, False if it had to be killed}``.
    """
    result: dict[str, bool] = {}
    deadline = time.monotonic() + timeout
    remaining = dict(pids)
    while remaining and time.monotonic() < deadline:
        for name, pid in list(remaining.items()):
            if not pid_alive(pid):
                result[name] = True
                del remaining[name]
        if remaining:
            time.sleep(0.2)
    for name, pid in remaining.items():
        log.warning("%s (pid %s) did not stop within %.0fs: SIGKILL", name, pid, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        result[name] = False
    # give the kernel a moment to reap killed processes
    end = time.monotonic() + 5
    while time.monotonic() < end and any(pid_alive(p) for p in remaining.values()):
        time.sleep(0.1)
    return result
