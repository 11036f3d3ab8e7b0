"""``newswire status``: how the service processes ``make up`` supervises appear on the screen."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from rich.console import Console

from services.cli.status import (
    PipelineStatus,
    ProcessStatus,
    SearchStatus,
    StageStatus,
    group_members,
    print_status,
)


def stage(name: str, process: ProcessStatus | None) -> StageStatus:
    return StageStatus(
        stage=name,
        group_id=f"newswire-{name}",
        input_topic="articles.raw",
        output="articles.ingested",
        partitions=4,
        lag=0,
        lag_by_partition={},
        in_per_min=0.0,
        out_per_min=0.0,
        service="unreachable",
        metrics_url="",
        process=process,
    )


def process(state: str, restarts: int, code: int | None, error: str | None = None) -> ProcessStatus:
    now = datetime.now(UTC)
    return ProcessStatus(
        state=state,
        pid=4242 if state == "running" else None,
        supervised=True,
        restarts=restarts,
        last_exit_code=code,
        last_exit=None if code is None else f"exit {code}",
        last_exit_at=None if code is None else (now - timedelta(seconds=3)).isoformat(),
        last_error=error,
        next_restart_at=(now + timedelta(seconds=30)).isoformat() if state == "restarting" else None,
        log_path=f"/state/logs/{state}.log",
    )


def screen(status: PipelineStatus, monkeypatch: pytest.MonkeyPatch) -> str:
    # wide enough for every column, whatever the terminal running the tests
    console = Console(width=200, file=io.StringIO(), highlight=False, soft_wrap=True)
    monkeypatch.setattr("services.cli.status.out", console)
    with console.capture() as captured:
        print_status(status)
    return captured.get()


def test_a_crash_looping_service_shows_its_restarts_and_last_error_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status = PipelineStatus(
        window_s=300,
        stages=[
            stage("ingest", process("running", 0, None)),
            stage("index", process("restarting", 4, 1, "DeadLetter trace_id String should have at most 128")),
        ],
    )

    text = screen(status, monkeypatch)

    rows = {line.split()[0]: line.split() for line in text.splitlines() if "→" in line}
    assert rows["ingest"][-3:-1] == ["running", "0"]
    assert rows["index"][-3:-1] == ["restarting", "4"]
    assert "index: exit 1" in text and "restarting in " in text and "4 restarts" in text
    assert "last error: DeadLetter trace_id String should have at most 128" in text
    assert "log: /state/logs/restarting.log" in text
    assert "ingest:" not in text  # no unexpected exit, nothing to explain


def test_without_local_processes_the_table_has_no_process_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    text = screen(PipelineStatus(window_s=300, stages=[stage("ingest", None)]), monkeypatch)

    assert "restarts" not in text and "process" not in text


def test_the_search_service_shows_its_address_readiness_and_process(monkeypatch: pytest.MonkeyPatch) -> None:
    search = SearchStatus(
        url="http://127.0.0.1:8080",
        service="not ready: 'articles' does not exist",
        process=process("restarting", 2, 1, "address already in use"),
    )

    text = screen(PipelineStatus(window_s=300, stages=[stage("ingest", None)], search=search), monkeypatch)

    [line] = [line for line in text.splitlines() if line.startswith("search ")]
    assert line.startswith("search http://127.0.0.1:8080/: not ready: 'articles' does not exist")
    assert "process restarting, 2 restarts" in line
    assert "search: exit 1" in text and "last error: address already in use" in text


def test_enricher_versions_show_which_are_stale_and_how_many_documents_a_reprocess_would_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from schemas.search_index import LineageCounts
    from services.cli import status as status_module

    current = {"entities": "2", "places": "3"}
    monkeypatch.setattr(status_module, "current_enricher_versions", lambda: current)
    counts = LineageCounts(
        versions={("entities", "2"): 70, ("entities", "1"): 30, ("places", "3"): 100, ("hostile", "1"): 2},
        without_lineage=5,
        up_to_date=68,
    )
    rows = status_module.enricher_version_rows(counts, current)
    assert [(row.enricher, row.version, row.current) for row in rows] == [
        ("entities", "2", True),
        ("entities", "1", False),
        ("hostile", "1", None),
        ("places", "3", True),
    ]
    index = status_module.IndexStatus(
        "articles", documents=105, enricher_versions=rows, up_to_date=68, without_lineage=5
    )
    assert index.stale == 32
    text = screen(PipelineStatus(window_s=300, index=index), monkeypatch)
    assert (
        "enrichment: 68 up to date, 32 stale (newswire reprocess --stale), 5 indexed before lineage" in text
    )
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "entities 1 30 stale (current: 2)" in lines
    assert "hostile 1 2 not in this code" in lines
    assert "places 3 100 current" in lines
    assert PipelineStatus(window_s=300, index=index).as_json()["index"]["stale"] == 32


class DescribingAdmin:
    """DescribeGroups as kafka-python 3 returns it, for two groups."""

    def describe_groups(self, group_ids: list[str]) -> dict[str, Any]:
        def member(client_id: str, partitions: list[int], other: dict[str, list[int]]) -> dict[str, Any]:
            assigned = [{"topic": "articles.ingested", "partitions": partitions}]
            assigned += [{"topic": topic, "partitions": parts} for topic, parts in other.items()]
            return {
                "client_id": client_id,
                "client_host": "/10.0.0.7",
                "member_id": f"{client_id}-0f1e2d3c-aaaa-bbbb",
                "member_assignment": {"assigned_partitions": assigned, "user_data": ""},
            }

        changelog = {"newswire-enrich-near-duplicate-signatures-changelog": [0]}
        described = {
            "newswire-enrich": {
                "group_state": "Stable",
                "members": [
                    member("newswire-enrich-2", [4, 1, 3], changelog),
                    member("newswire-enrich", [0, 2, 5], changelog),
                ],
            },
            "newswire-index": {"group_state": "Empty", "members": []},
        }
        return {group: described[group] for group in group_ids}


def test_group_members_come_with_their_partitions_first_worker_first() -> None:
    found = group_members(cast(Any, DescribingAdmin()), ["newswire-enrich", "newswire-index"])

    state, members = found["newswire-enrich"]
    assert state == "Stable"
    assert [(m.client_id, m.host, m.member_id_short) for m in members] == [
        ("newswire-enrich", "10.0.0.7", "0f1e2d3c"),
        ("newswire-enrich-2", "10.0.0.7", "0f1e2d3c"),
    ]
    assert members[1].partitions["articles.ingested"] == [1, 3, 4]
    assert found["newswire-index"] == ("Empty", [])


def test_the_members_table_shows_who_holds_which_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    _, members = group_members(cast(Any, DescribingAdmin()), ["newswire-enrich"])["newswire-enrich"]
    enrich = stage("enrich", None)
    enrich.input_topic, enrich.members = "articles.ingested", members
    index = stage("index", None)
    index.group_state = "Empty"

    text = screen(PipelineStatus(window_s=300, stages=[enrich, index]), monkeypatch)

    rows = [line.split(None, 4) for line in text.splitlines() if "10.0.0.7" in line]
    assert [row[1] for row in rows] == ["newswire-enrich", "newswire-enrich-2"]
    assert rows[1][4].startswith("1,3,4; newswire-enrich-near-duplicate-signatures-changelog: 0")
    assert any(
        line.split()[:3] == ["index", "no", "members"] and "Empty" in line for line in text.splitlines()
    )


def test_several_local_workers_are_listed_each_with_its_state(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = process("running", 0, None), process("restarting", 3, -9, "killed")
    first.worker, second.worker = "enrich", "enrich-2"
    enrich = stage("enrich", first)
    enrich.workers = [first, second]

    text = screen(PipelineStatus(window_s=300, stages=[enrich]), monkeypatch)

    workers = {
        line.split()[0]: line.split()[1:3] for line in text.splitlines() if line.startswith("enrich-2 ")
    }
    assert workers == {"enrich-2": ["restarting", "3"]}
    assert "enrich-2: exit -9" in text and "last error: killed" in text


def test_members_are_unknown_while_the_coordinator_cannot_answer() -> None:
    from kafka.errors import CoordinatorNotAvailableError

    class MovingCoordinator:
        def describe_groups(self, group_ids: list[str]) -> dict[str, Any]:
            raise CoordinatorNotAvailableError()

    found = group_members(cast(Any, MovingCoordinator()), ["newswire-index"])

    assert found == {"newswire-index": ("unknown: CoordinatorNotAvailableError", [])}
