"""The search service as ``make up`` runs it: under its supervisor, probed on ``/healthz``.

A private state directory and port, so a search service already running (``make up``) is left
alone: started, it answers over the archive's alias; killed, its supervisor starts it again;
stopped (``make down``), it exits cleanly and is not restarted.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.stack import pipeline
from services.stack.process import pid_alive
from tests.integration.search_server import free_port

pytestmark = pytest.mark.integration

WITHIN_S = 60.0


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    pipeline.stop(state, [pipeline.SEARCH], timeout=5)  # whatever a failed test left running


def wait_for(url: str, status: int = 200) -> httpx.Response:
    deadline = time.monotonic() + WITHIN_S
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == status:
                return response
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer {status} within {WITHIN_S}s"
        time.sleep(0.2)


def test_supervised_search_serves_restarts_after_a_kill_and_stops_cleanly(state_dir: Path) -> None:
    port = free_port()
    env = {
        "NEWSWIRE_SEARCH_PORT": str(port),
        "NEWSWIRE_SUPERVISE_BACKOFF_INITIAL_S": "0.2",
        "NEWSWIRE_SUPERVISE_BACKOFF_MAX_S": "1",
    }
    assert pipeline.health_url(pipeline.SEARCH, env) == f"http://127.0.0.1:{port}/healthz"

    (started,) = pipeline.start(state_dir, [pipeline.SEARCH], env=env)

    assert started.supervised and started.running, started
    url = f"http://127.0.0.1:{port}"
    assert wait_for(f"{url}/readyz").text.strip() == "ready"
    assert wait_for(f"{url}/search?q=summit").json()["page"] == 1

    os.kill(started.pid or 0, signal.SIGKILL)
    deadline = time.monotonic() + WITHIN_S
    while (current := pipeline.status(state_dir, [pipeline.SEARCH])[0]).pid in (None, started.pid):
        assert time.monotonic() < deadline, f"not restarted: {current}"
        time.sleep(0.1)
    assert current.restarts == 1 and current.last_exit_code == -signal.SIGKILL
    wait_for(f"{url}/readyz")

    assert pipeline.stop(state_dir, [pipeline.SEARCH], timeout=30) == {pipeline.SEARCH: True}
    assert not pid_alive(current.pid or 0)
    stopped = pipeline.status(state_dir, [pipeline.SEARCH])[0]
    assert stopped.state == "stopped" and not stopped.running and stopped.restarts == 1
