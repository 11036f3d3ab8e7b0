"""Supervision of the real services as ``make up`` starts them (``services.stack.pipeline``).

Each test runs services under their supervisors in a private state directory, with its own consumer
group (committed at the end of the input topic first, so it takes nothing from a pipeline already
running), its own metrics port and a small backoff: SIGKILL one and it comes back with a new pid;
freeze one (SIGSTOP) and the liveness probe kills and restarts it; break one's settings and
``newswire status`` shows it crash-looping with its error line; stopping them (``make down``)
leaves nothing running and nothing restarted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import TOPICS
from services.runtime.kafka import ensure_topics, pipeline_topics
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline
from services.stack.process import pid_alive
from tests.integration.endpoints import free_port, ready
from tests.integration.test_metrics import commit_at_end

pytestmark = pytest.mark.integration

READY_WITHIN_S = 180.0
RESTART_WITHIN_S = 60.0
STOP_TIMEOUT_S = 60.0
QUICK_STOP_TIMEOUT_S = 5.0
BACKOFF_MAX_S = 1.0


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    pipeline.stop(state, timeout=QUICK_STOP_TIMEOUT_S)  # whatever a failed test left running


@pytest.fixture
def ingest_env() -> dict[str, str]:
    """A private ingest: fresh group at the end of articles.raw, its own metrics port, fast backoff."""
    kafka = KafkaSettings()
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    group_id = f"newswire-ingest-supervision-{uuid.uuid4().hex[:10]}"
    commit_at_end(kafka, group_id, TOPICS.raw)
    return {
        "NEWSWIRE_INGEST_GROUP_ID": group_id,
        "NEWSWIRE_INGEST_METRICS_PORT": str(free_port()),
        "NEWSWIRE_SUPERVISE_BACKOFF_INITIAL_S": "0.2",
        "NEWSWIRE_SUPERVISE_BACKOFF_MAX_S": str(BACKOFF_MAX_S),
        "NEWSWIRE_SUPERVISE_RESET_AFTER_S": "5",
    }


def wait_for(condition: Callable[[], Any], what: str, timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")


def service(state_dir: Path, name: str) -> pipeline.ServiceProcess:
    (proc,) = pipeline.status(state_dir, [name])
    return proc


def newswire_status(state_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "status", "--dlq-last", "10", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env, "NEWSWIRE_STACK_STATE_DIR": str(state_dir), "COLUMNS": "250"},
        check=False,
    )


def test_make_up_twice_is_a_noop_and_make_down_stops_for_good(
    state_dir: Path, ingest_env: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{ingest_env['NEWSWIRE_INGEST_METRICS_PORT']}"
    (started,) = pipeline.start(state_dir, ["ingest"], env=ingest_env)
    assert started.supervised and started.running and started.state == "running"
    wait_for(lambda: ready(url), "ingest ready", READY_WITHIN_S, started.log_path)

    (again,) = pipeline.start(state_dir, ["ingest"], env=ingest_env)

    assert (again.pid, again.supervisor_pid) == (started.pid, started.supervisor_pid)

    assert pipeline.stop(state_dir, ["ingest"], timeout=STOP_TIMEOUT_S) == {"ingest": True}

    assert not pid_alive(started.pid) and not pid_alive(started.supervisor_pid)  # type: ignore[arg-type]
    time.sleep(BACKOFF_MAX_S * 3)  # longer than any restart delay: nothing comes back
    stopped = service(state_dir, "ingest")
    assert stopped.state == "stopped" and stopped.pid is None and stopped.supervisor_pid is None
    assert stopped.last_exit_code == 0, "the service finished its batch and exited 0 on SIGTERM"
    assert stopped.restarts == 0 and stopped.last_error is None
    assert "worker stopped" in started.log_path.read_text()


def test_a_killed_service_comes_back_with_a_new_pid(state_dir: Path, ingest_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{ingest_env['NEWSWIRE_INGEST_METRICS_PORT']}"
    (started,) = pipeline.start(state_dir, ["ingest"], env=ingest_env)
    wait_for(lambda: ready(url), "ingest ready", READY_WITHIN_S, started.log_path)
    assert started.pid is not None

    os.kill(started.pid, signal.SIGKILL)

    back = wait_for(
        lambda: (proc := service(state_dir, "ingest")).running and proc.pid != started.pid and proc,
        "ingest restarted with a new pid",
        RESTART_WITHIN_S,
        started.log_path,
    )
    assert back.supervisor_pid == started.supervisor_pid
    assert back.restarts == 1
    assert back.last_exit_code == -signal.SIGKILL and back.last_exit == "killed by SIGKILL"
    wait_for(lambda: ready(url), "the restarted ingest ready", READY_WITHIN_S, started.log_path)

    result = newswire_status(state_dir, ingest_env, "--json")
    assert result.returncode == 0, result.stderr
    stages = {stage["stage"]: stage for stage in json.loads(result.stdout)["stages"]}
    process = stages["ingest"]["process"]
    assert process["state"] == "running" and process["supervised"] is True
    assert process["pid"] == back.pid and process["restarts"] == 1
    assert process["last_exit_code"] == -signal.SIGKILL
    assert stages["ingest"]["service"] == "ready"
    assert stages["enrich"]["process"] is None  # never started in this state dir

    # Stopped this soon after a member of its group was SIGKILLed, the service waits for Kafka to
    # answer its LeaveGroup (up to 30 s, until the dead member's session expired); whether it gets
    # there or is killed, nothing may be left running and nothing may come back.
    pipeline.stop(state_dir, ["ingest"], timeout=QUICK_STOP_TIMEOUT_S)
    assert not pid_alive(back.pid) and not pid_alive(started.supervisor_pid)  # type: ignore[arg-type]
    time.sleep(BACKOFF_MAX_S * 3)
    after = service(state_dir, "ingest")
    assert after.state == "stopped" and after.pid is None and after.supervisor_pid is None
    assert after.restarts == 1


def test_a_frozen_service_is_killed_by_the_liveness_probe_and_comes_back(
    state_dir: Path, ingest_env: dict[str, str]
) -> None:
    env = {
        **ingest_env,
        "NEWSWIRE_SUPERVISE_HEALTH_INTERVAL_S": "0.5",
        "NEWSWIRE_SUPERVISE_HEALTH_TIMEOUT_S": "1",
        "NEWSWIRE_SUPERVISE_HEALTH_FAILURES": "3",
    }
    url = f"http://127.0.0.1:{ingest_env['NEWSWIRE_INGEST_METRICS_PORT']}"
    (started,) = pipeline.start(state_dir, ["ingest"], env=env)
    wait_for(lambda: ready(url), "ingest ready", READY_WITHIN_S, started.log_path)
    assert started.pid is not None
    time.sleep(1.5)  # a few probes answered: from now on, silence counts

    os.kill(started.pid, signal.SIGSTOP)  # alive but frozen: neither its watchdog nor SIGTERM can act

    back = wait_for(
        lambda: (proc := service(state_dir, "ingest")).running and proc.pid != started.pid and proc,
        "ingest killed by the liveness probe and restarted",
        RESTART_WITHIN_S,
        started.log_path,
    )
    assert not pid_alive(started.pid)
    assert back.restarts == 1 and back.last_exit == "killed by SIGKILL"
    assert back.last_error is not None and back.last_error.startswith(
        "liveness probe failed 3 times in a row"
    )
    wait_for(lambda: ready(url), "the restarted ingest ready", READY_WITHIN_S, started.log_path)


def test_a_crash_looping_service_shows_its_restarts_and_error_in_newswire_status(
    state_dir: Path, ingest_env: dict[str, str]
) -> None:
    broken = {**ingest_env, "NEWSWIRE_INGEST_METRICS_PORT": "not-a-port"}
    pipeline.start(state_dir, ["ingest"], env=broken)

    looping = wait_for(
        lambda: (proc := service(state_dir, "ingest")).restarts >= 2 and proc,
        "two restarts",
        RESTART_WITHIN_S,
        state_dir / "logs" / "ingest.log",
    )
    assert looping.supervised and looping.last_exit_code not in (None, 0)
    assert looping.last_error is not None and "NEWSWIRE_INGEST_METRICS_PORT" in looping.last_error

    screen = newswire_status(state_dir, broken)
    assert screen.returncode == 0, screen.stderr
    row = next(line for line in screen.stdout.splitlines() if line.startswith("ingest "))
    assert any(state in row for state in ("restarting", "running")), row
    assert f"ingest: exit {looping.last_exit_code}" in screen.stdout
    assert "last error: " in screen.stdout and "NEWSWIRE_INGEST_METRICS_PORT" in screen.stdout

    assert pipeline.stop(state_dir, ["ingest"], timeout=STOP_TIMEOUT_S) == {"ingest": True}
    restarts = service(state_dir, "ingest").restarts
    time.sleep(BACKOFF_MAX_S * 3)
    after = service(state_dir, "ingest")
    assert after.state == "stopped" and after.supervisor_pid is None and after.pid is None
    assert after.restarts == restarts
