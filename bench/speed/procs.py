"""The services under test as child processes, and what they cost: peak RSS, CPU, machine load."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from services.stack.settings import REPO_ROOT

log = logging.getLogger(__name__)


@dataclass
class ChildProcess:
    """One service (``python -m <module>``) started by the benchmark, its output in ``log_path``."""

    label: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (so a worker commits its batch), SIGKILL after ``timeout_s``; return the exit code."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %s) ignored SIGTERM for %.0fs: SIGKILL", self.label, self.pid, timeout_s)
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode


def start_module(
    label: str, module: str, env: Mapping[str, str], log_path: Path, args: Sequence[str] = ()
) -> ChildProcess:
    """``python -m module`` with ``env`` added to ours, output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with log_path.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=child_env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    log.info("started %s (pid %s), log %s", label, popen.pid, log_path)
    return ChildProcess(label, popen, log_path)


@dataclass
class Usage:
    """What one process cost over a window: peak resident memory and CPU seconds."""

    peak_rss_bytes: int = 0
    cpu_s: float = 0.0


@dataclass
class _Watched:
    process: psutil.Process
    cpu_at_start: float
    usage: Usage = field(default_factory=Usage)


class ResourceMonitor:
    """Samples the watched processes (and the machine's load) a few times a second in a thread.

    ``window()`` starts a fresh accounting window: peaks and CPU are per window, so each phase of the
    benchmark reports its own, while ``overall`` keeps the peak of every label across all windows.
    """

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self._watched: dict[str, _Watched] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)
        self.overall_peak_rss: dict[str, int] = {}
        self._load: list[float] = []
        self._cpu_at_window = psutil.cpu_times()
        self._thread.start()

    def watch(self, label: str, pid: int) -> None:
        process = psutil.Process(pid)
        with self._lock:
            self._watched[label] = _Watched(process, _cpu_seconds(process))

    def unwatch(self, label: str) -> Usage | None:
        with self._lock:
            watched = self._watched.pop(label, None)
        if watched is None:
            return None
        self._sample_one(label, watched)
        return watched.usage

    def window(self) -> None:
        """Reset per-window peaks, CPU baselines and load samples."""
        with self._lock:
            for watched in self._watched.values():
                watched.usage = Usage()
                with contextlib.suppress(psutil.Error):
                    watched.cpu_at_start = _cpu_seconds(watched.process)
            self._load.clear()
            self._cpu_at_window = psutil.cpu_times()

    def usage(self) -> dict[str, Usage]:
        """Per label, the current window's usage (sampled now)."""
        with self._lock:
            for label, watched in self._watched.items():
                self._sample_one(label, watched)
            return {label: Usage(w.usage.peak_rss_bytes, w.usage.cpu_s) for label, w in self._watched.items()}

    def cpu_seconds(self) -> dict[str, float]:
        """Cumulative CPU seconds of every watched process, by label (sampled now)."""
        with self._lock:
            watched = list(self._watched.items())
        seconds = {}
        for label, entry in watched:
            with contextlib.suppress(psutil.Error):
                seconds[label] = _cpu_seconds(entry.process)
        return seconds

    def load(self) -> dict[str, float | None]:
        """The window's mean 1-minute load average and mean busy share of all cores (percent)."""
        with self._lock:
            load = list(self._load) or [os.getloadavg()[0]]
            before = self._cpu_at_window
        now = psutil.cpu_times()
        total = sum(now) - sum(before)
        idle = (now.idle + getattr(now, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
        return {
            "loadavg_1m_mean": round(sum(load) / len(load), 2),
            "loadavg_1m_max": round(max(load), 2),
            "cpu_busy_pct_mean": round(100 * (1 - idle / total), 1) if total > 0 else None,
        }

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self.interval_s):
            with self._lock:
                for label, watched in list(self._watched.items()):
                    self._sample_one(label, watched)
                ticks += 1
                if ticks % 5 == 0:  # about once a second
                    self._load.append(os.getloadavg()[0])

    def _sample_one(self, label: str, watched: _Watched) -> None:
        try:
            rss = watched.process.memory_info().rss
            cpu = _cpu_seconds(watched.process) - watched.cpu_at_start
        except psutil.Error:
            return
        watched.usage.peak_rss_bytes = max(watched.usage.peak_rss_bytes, rss)
        watched.usage.cpu_s = max(watched.usage.cpu_s, cpu)
        self.overall_peak_rss[label] = max(self.overall_peak_rss.get(label, 0), rss)


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` passes; return whether it became true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
