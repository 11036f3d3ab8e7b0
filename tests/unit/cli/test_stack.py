"""``newswire stack``: what it prints and returns for the stack manager's status."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.stack import ComponentStatus, StackSettings, StackStatus

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def stack_status(es_healthy: bool) -> StackStatus:
    return StackStatus(
        state_dir=Path("/tmp/newswire-state"),
        kafka=ComponentStatus(name="kafka", address="127.0.0.1:9092", running=True, healthy=True, pid=101),
        elasticsearch=ComponentStatus(
            name="elasticsearch",
            address="http://127.0.0.1:9200",
            running=es_healthy,
            healthy=es_healthy,
            detail=None if es_healthy else "no process listens on 9200",
        ),
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []

    def fake(action: str, es_healthy: bool):
        def run(settings: StackSettings) -> StackStatus:
            assert isinstance(settings, StackSettings)
            made.append(action)
            return stack_status(es_healthy)

        return run

    monkeypatch.setattr("services.stack.up", fake("up", True))
    monkeypatch.setattr("services.stack.down", fake("down", False))
    monkeypatch.setattr("services.stack.status", fake("status", False))
    return made


def test_status_prints_a_row_per_component_and_exits_3_when_not_healthy(calls: list[str]) -> None:
    result = runner.invoke(app, ["stack", "status"])

    assert result.exit_code == 3
    assert calls == ["status"]
    kafka_row = next(line for line in result.stdout.splitlines() if line.startswith("kafka"))
    es_row = next(line for line in result.stdout.splitlines() if line.startswith("elasticsearch"))
    assert "healthy" in kafka_row and "101" in kafka_row
    assert "stopped" in es_row
    assert "no process listens on 9200" in result.stdout


def test_status_json_is_the_managers_status(calls: list[str]) -> None:
    result = runner.invoke(app, ["stack", "status", "--json"])

    assert result.exit_code == 3
    status = orjson.loads(result.stdout)
    assert status["healthy"] is False
    assert status["kafka"]["pid"] == 101 and status["elasticsearch"]["running"] is False


def test_up_exits_0_when_healthy_and_down_always_0(calls: list[str]) -> None:
    assert runner.invoke(app, ["stack", "up"]).exit_code == 0
    assert runner.invoke(app, ["stack", "down"]).exit_code == 0
    assert calls == ["up", "down"]


def test_status_lists_the_pipeline_services_from_their_supervisors_status_files(
    calls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an earlier supervisor of enrich left behind: it is gone, its counters stay readable.
    monkeypatch.setenv("NEWSWIRE_STACK_STATE_DIR", str(tmp_path))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "enrich.status.json").write_text(
        orjson.dumps(
            {
                "service": "enrich",
                "supervisor_pid": 999_999_999,
                "state": "restarting",
                "restarts": 3,
                "last_exit_code": 70,
                "last_exit": "exit 70",
                "last_error": "partition articles.ingested[2] stalled at offset 41",
            }
        ).decode()
    )

    result = runner.invoke(app, ["stack", "status", "--json"])

    services = {service["service"]: service for service in orjson.loads(result.stdout)["services"]}
    assert list(services) == ["ingest", "enrich", "index", "alert", "search"]
    enrich = services["enrich"]
    assert enrich["state"] == "stopped" and enrich["pid"] is None and enrich["supervisor_pid"] is None
    assert enrich["restarts"] == 3 and enrich["last_exit_code"] == 70
    assert enrich["last_error"] == "partition articles.ingested[2] stalled at offset 41"
    assert services["ingest"]["restarts"] == 0 and services["ingest"]["last_exit"] is None

    screen = runner.invoke(app, ["stack", "status"])
    enrich_row = next(line for line in screen.stdout.splitlines() if line.startswith("enrich"))
    assert enrich_row.split()[:4] == ["enrich", "stopped", "3", "exit"]
    assert "stalled at offset 41" in enrich_row
