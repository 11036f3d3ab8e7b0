"""The service supervisor: backoff, error lines, and real child processes that crash, exit and stop.

The children are tiny Python scripts (no Kafka needed): each start appends a line to a file, so the
test knows how often and when the supervisor started them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.stack.process import managed_pid, pid_alive, read_pid, spawn_detached
from services.stack.supervise import (
    LOGGER_NAME,
    RestartPolicy,
    ServiceFiles,
    command_line,
    last_error_line,
    read_status,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
FAST = RestartPolicy(initial_s=0.2, max_s=0.8, reset_after_s=5.0)
WAIT_S = 30.0


def test_backoff_doubles_from_one_second_up_to_a_minute() -> None:
    policy = RestartPolicy()

    assert [policy.delay(failures) for failures in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.delay(10_000) == 60


def test_policy_from_the_environment() -> None:
    env = {
        "NEWSWIRE_SUPERVISE_BACKOFF_INITIAL_S": "0.5",
        "NEWSWIRE_SUPERVISE_BACKOFF_MAX_S": "4",
        "NEWSWIRE_SUPERVISE_RESET_AFTER_S": "10",
    }

    assert RestartPolicy.from_env(env) == RestartPolicy(initial_s=0.5, max_s=4, reset_after_s=10)
    assert RestartPolicy.from_env({}) == RestartPolicy()


def _json(level: str, msg: str, **extra: Any) -> str:
    return json.dumps({"level": level, "logger": "services.runtime.worker", "msg": msg, **extra})


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            [_json("info", "ready"), _json("error", "stalled", reason="no progress"), _json("info", "bye")],
            "stalled (reason: no progress)",
            id="last-error-level-json-line",
        ),
        pytest.param(
            [_json("critical", "crashed", exc="Traceback (most recent call last):\n  x\nKeyError: 'a'")],
            "crashed: KeyError: 'a'",
            id="json-line-with-its-exception",
        ),
        pytest.param(
            [
                _json("info", "ready"),
                "Traceback (most recent call last):",
                '  File "x.py", line 1, in <module>',
                "    raise ValueError('broken')",
                "ValueError: broken",
            ],
            "ValueError: broken",
            id="uncaught-exception",
        ),
        pytest.param(
            ["invalid setting NEWSWIRE_INGEST_METRICS_PORT: Input should be a valid integer"],
            "invalid setting NEWSWIRE_INGEST_METRICS_PORT: Input should be a valid integer",
            id="plain-text-error-before-logging",
        ),
        pytest.param(
            [
                _json("error", "the real cause"),
                json.dumps({"level": "error", "logger": LOGGER_NAME, "msg": "service exited unexpectedly"}),
                '{"level": "error", "msg": "cut off by SIGK',
            ],
            "the real cause",
            id="skips-supervisor-lines-and-torn-lines",
        ),
        pytest.param([_json("info", "ready"), _json("warning", "slow")], None, id="no-error"),
    ],
)
def test_last_error_line(lines: list[str], expected: str | None) -> None:
    assert last_error_line("\n".join(lines).encode()) == expected


def test_last_error_line_is_capped() -> None:
    line = last_error_line(_json("error", "x" * 5000).encode())

    assert line is not None and len(line) == 500 and line.endswith("…")


# -- real processes -------------------------------------------------------------------------------


class Supervised:
    """One supervisor started detached, as pipeline.start does, around a script of the test's."""

    def __init__(self, tmp_path: Path, body: str, policy: RestartPolicy = FAST) -> None:
        self.files = ServiceFiles("flaky", tmp_path / "state")
        self.starts = tmp_path / "starts"
        script = tmp_path / "child.py"
        prelude = """
            import json, os, signal, sys, time
            from pathlib import Path
            starts = Path(sys.argv[1])
            with starts.open("a") as fh:
                fh.write(f"{time.time()} {os.getpid()}\\n")
            attempt = len(starts.read_text().splitlines())
            def say(level, msg):
                print(json.dumps({"level": level, "logger": "child", "msg": msg}), flush=True)
        """
        script.write_text(textwrap.dedent(prelude) + textwrap.dedent(body))
        self.command = [sys.executable, str(script), str(self.starts)]
        self.policy = policy
        self.supervisor_pid: int | None = None

    def start(self, adopt_pid: int | None = None, health_url: str | None = None) -> int:
        argv = command_line(
            "flaky", self.files.state_dir, self.command, self.policy, sys.executable, adopt_pid, health_url
        )
        self.supervisor_pid = spawn_detached(
            argv, pidfile=self.files.supervisor_pidfile, output=self.files.log, cwd=REPO_ROOT
        )
        return self.supervisor_pid

    def status(self) -> dict[str, Any]:
        return read_status(self.files.status_file) or {}

    def start_times(self) -> list[float]:
        if not self.starts.exists():
            return []
        return [float(line.split()[0]) for line in self.starts.read_text().splitlines()]

    def supervisor_lines(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.files.log.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("logger") == LOGGER_NAME]

    def wait(self, condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.05)
        log = self.files.log.read_text() if self.files.log.exists() else ""
        pytest.fail(
            f"timed out after {timeout:.0f}s waiting for {what}; status {self.status()}\n{log[-3000:]}"
        )

    def supervisor_alive(self) -> bool:
        return self.supervisor_pid is not None and pid_alive(self.supervisor_pid)

    def cleanup(self) -> None:
        for pid in (self.supervisor_pid, read_pid(self.files.pidfile)):
            if pid is not None and pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Callable[..., Supervised]]:
    made: list[Supervised] = []

    def make(body: str, policy: RestartPolicy = FAST) -> Supervised:
        made.append(Supervised(tmp_path, body, policy))
        return made[-1]

    yield make
    for each in made:
        each.cleanup()


CRASHES = """
    say("error", f"broken on attempt {attempt}")
    sys.exit(3)
"""


def test_a_crashing_service_is_restarted_with_doubling_capped_backoff(supervised: Any) -> None:
    child = supervised(CRASHES)
    child.start()

    child.wait(lambda: child.status().get("restarts", 0) >= 5, "five restarts")

    status = child.status()
    assert status["state"] in ("running", "restarting")
    assert status["last_exit_code"] == 3 and status["last_exit"] == "exit 3"
    assert status["last_error"].startswith("broken on attempt ")
    assert child.supervisor_alive()
    backoffs = [line["backoff_s"] for line in child.supervisor_lines() if "backoff_s" in line]
    assert backoffs[:5] == [0.2, 0.4, 0.8, 0.8, 0.8]
    starts = child.start_times()
    for gap, backoff in zip([b - a for a, b in itertools.pairwise(starts)], backoffs, strict=False):
        assert gap >= backoff


def test_backoff_starts_over_after_a_run_that_lasted(supervised: Any) -> None:
    # attempts 1 and 2 crash at once, 3 runs past reset_after_s, then 4 and 5 crash at once again
    child = supervised(
        """
        if attempt == 3:
            time.sleep(1.0)
        sys.exit(1)
        """,
        RestartPolicy(initial_s=0.1, max_s=10, reset_after_s=0.6),
    )
    child.start()

    child.wait(lambda: len(child.start_times()) >= 5, "five starts")

    backoffs = [line["backoff_s"] for line in child.supervisor_lines() if "backoff_s" in line]
    assert backoffs[:4] == [0.1, 0.2, 0.1, 0.2]


def test_a_service_killed_by_a_signal_is_restarted(supervised: Any) -> None:
    child = supervised(
        """
        if attempt == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
        """
    )
    child.start()

    child.wait(lambda: len(child.start_times()) == 2 and child.status().get("state") == "running", "restart")

    status = child.status()
    assert status["restarts"] == 1
    assert status["last_exit_code"] == -signal.SIGKILL and status["last_exit"] == "killed by SIGKILL"
    assert status["pid"] == read_pid(child.files.pidfile) and pid_alive(status["pid"])


def test_a_service_that_exits_0_on_its_own_is_not_restarted(supervised: Any) -> None:
    child = supervised("sys.exit(0)\n")
    child.start()

    child.wait(lambda: not child.supervisor_alive(), "the supervisor to exit")

    status = child.status()
    assert status["state"] == "stopped" and status["last_exit_code"] == 0 and status["restarts"] == 0
    assert status["last_error"] is None
    time.sleep(FAST.max_s * 2)
    assert len(child.start_times()) == 1


GRACEFUL = """
    def stop(signum, frame):
        say("info", f"committed on signal {signum}")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    say("info", "ready")
    while True:
        time.sleep(0.05)
"""


def test_sigterm_to_the_supervisor_stops_the_service_cleanly_and_for_good(supervised: Any) -> None:
    child = supervised(GRACEFUL)
    child.start()
    first = child.wait(lambda: child.status().get("state") == "running" and child.status()["pid"], "start")
    child.wait(lambda: "ready" in child.files.log.read_text(), "the child's ready line")

    os.kill(child.supervisor_pid, signal.SIGTERM)

    child.wait(lambda: not child.supervisor_alive() and not pid_alive(first), "both to exit")
    assert f"committed on signal {int(signal.SIGTERM)}" in child.files.log.read_text()
    status = child.status()
    assert status["state"] == "stopped" and status["last_exit_code"] == 0 and status["pid"] is None
    time.sleep(FAST.max_s * 2)
    assert len(child.start_times()) == 1


def test_a_stop_during_the_backoff_does_not_wait_it_out(supervised: Any) -> None:
    child = supervised(CRASHES, RestartPolicy(initial_s=120, max_s=120, reset_after_s=1))
    child.start()
    child.wait(lambda: child.status().get("state") == "restarting", "the first crash")

    os.kill(child.supervisor_pid, signal.SIGTERM)

    child.wait(lambda: not child.supervisor_alive(), "the supervisor to exit", timeout=20)
    assert child.status()["state"] == "stopped"
    assert len(child.start_times()) == 1


def test_a_service_running_without_a_supervisor_is_adopted(supervised: Any, tmp_path: Path) -> None:
    child = supervised(GRACEFUL)
    orphan = spawn_detached(child.command, pidfile=child.files.pidfile, output=child.files.log)
    child.start(adopt_pid=orphan)
    child.wait(lambda: child.status().get("pid") == orphan, "the supervisor to adopt the running service")

    os.kill(orphan, signal.SIGKILL)

    child.wait(lambda: len(child.start_times()) == 2 and child.status().get("state") == "running", "restart")
    status = child.status()
    assert status["restarts"] == 1 and status["pid"] != orphan and pid_alive(status["pid"])
    assert status["last_exit_code"] is None and "code unknown" in status["last_exit"]
    assert managed_pid(child.files.supervisor_pidfile, child.files.supervisor_marker) == child.supervisor_pid


def serving_health(port: int) -> str:
    """A child that answers /healthz on ``port`` (and notes each probe) until it is stopped."""
    return f"""
        import http.server, threading
        class Health(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")
                say("info", f"probed on attempt {{attempt}}")
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        server = http.server.ThreadingHTTPServer(("127.0.0.1", {port}), Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        while True:
            time.sleep(0.05)
    """


PROBING = RestartPolicy(
    initial_s=0.2,
    max_s=0.8,
    reset_after_s=5.0,
    health_interval_s=0.2,
    health_timeout_s=0.5,
    health_failures=3,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_service_frozen_as_a_whole_is_killed_by_the_liveness_probe_and_restarted(supervised: Any) -> None:
    port = _free_port()
    child = supervised(serving_health(port), PROBING)
    child.start(health_url=f"http://127.0.0.1:{port}/healthz")
    child.wait(lambda: "probed on attempt 1" in child.files.log.read_text(), "the first probe answered")
    first = child.status()["pid"]

    os.kill(first, signal.SIGSTOP)  # alive, but answers nothing: it cannot end itself

    child.wait(lambda: "probed on attempt 2" in child.files.log.read_text(), "the restarted child probed")
    status = child.status()
    assert not pid_alive(first)
    assert status["restarts"] == 1 and status["last_exit"] == "killed by SIGKILL"
    assert status["last_error"].startswith("liveness probe failed 3 times in a row: no answer")


def test_the_liveness_probe_leaves_a_service_alone_that_answers(supervised: Any) -> None:
    port = _free_port()
    healthy = supervised(serving_health(port), PROBING)
    healthy.start(health_url=f"http://127.0.0.1:{port}/healthz")
    healthy.wait(lambda: healthy.files.log.read_text().count("probed on attempt 1") >= 8, "eight probes")

    assert len(healthy.start_times()) == 1 and healthy.status()["restarts"] == 0


def test_the_liveness_probe_waits_for_a_first_answer(supervised: Any) -> None:
    # a service waiting for Kafka before it serves /healthz is starting, not dead
    silent = supervised("time.sleep(60)\n", PROBING)
    silent.start(health_url=f"http://127.0.0.1:{_free_port()}/healthz")
    silent.wait(lambda: silent.status().get("state") == "running", "start")

    time.sleep(PROBING.health_interval_s * PROBING.health_failures * 4)

    assert len(silent.start_times()) == 1 and pid_alive(silent.status()["pid"])
