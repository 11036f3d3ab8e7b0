"""Several workers of a service as ``make up WORKERS=enrich=2,index=2`` starts them (issue 14).

Two enrich and two index workers run under their supervisors in a private state directory, on
private topics of six partitions (so that they take nothing from a pipeline already running), with
a fresh app id and group: each worker is its own process with its own metrics port and Kafka client
id, ``newswire status`` lists both members of each group with disjoint partitions covering the
topic, a worker stopped cleanly leaves its partitions to the other at once, and one killed
(``stop_worker(kill=True)``) is not restarted and its partitions move to the survivor once the
group notices.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient

from services.cli.status import GroupMember, group_members
from services.runtime.kafka import ensure_topics
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline
from services.stack.process import pid_alive
from tests.integration.endpoints import free_port, ready

pytestmark = pytest.mark.integration

PARTITIONS = TopicSettings().partitions
READY_WITHIN_S = 240.0
#: A killed member is dropped after its session timeout (faust's is 60 s), then the group rebalances.
REASSIGNED_WITHIN_S = 180.0
STOP_TIMEOUT_S = 60.0


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    pipeline.stop(state, timeout=10)  # whatever a failed test left running


@pytest.fixture
def private(tmp_path: Path) -> dict[str, str]:
    """Fresh app id, group and topics (six partitions), free metrics ports, fast restarts."""
    suffix = uuid.uuid4().hex[:10]
    names = {"ingested": f"workers-{suffix}.ingested", "enriched": f"workers-{suffix}.enriched"}
    ensure_topics(KafkaSettings(), dict.fromkeys(names.values(), PARTITIONS))
    return {
        "NEWSWIRE_ENRICH_APP_ID": f"newswire-enrich-workers-{suffix}",
        "NEWSWIRE_ENRICH_INPUT_TOPIC": names["ingested"],
        "NEWSWIRE_ENRICH_OUTPUT_TOPIC": names["enriched"],
        "NEWSWIRE_ENRICH_DATA_DIR": str(tmp_path / "faust"),
        "NEWSWIRE_ENRICH_METRICS_PORT": str(free_port()),
        "NEWSWIRE_INDEX_GROUP_ID": f"newswire-index-workers-{suffix}",
        "NEWSWIRE_INDEX_INPUT_TOPIC": names["enriched"],
        "NEWSWIRE_INDEX_METRICS_PORT": str(free_port()),
        "NEWSWIRE_SUPERVISE_BACKOFF_INITIAL_S": "0.2",
        "NEWSWIRE_SUPERVISE_BACKOFF_MAX_S": "1",
    }


def wait_for(condition: Callable[[], Any], what: str, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    tails = "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists())
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


def members(group_id: str) -> list[GroupMember]:
    admin = KafkaAdminClient(**KafkaSettings().client_config(), client_id="test-workers")
    try:
        state, found = group_members(admin, [group_id])[group_id]
    finally:
        admin.close()
    return found if state == "Stable" else []


def split_between(group_id: str, topic: str, client_ids: set[str]) -> dict[str, list[int]] | None:
    """Each member's partitions of ``topic`` once exactly ``client_ids`` share all of them."""
    found = {member.client_id: member.partitions.get(topic, []) for member in members(group_id)}
    if set(found) != client_ids or sorted(p for parts in found.values() for p in parts) != list(
        range(PARTITIONS)
    ):
        return None
    return found


def newswire_status(state_dir: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "status", "--dlq-last", "10", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env, "NEWSWIRE_STACK_STATE_DIR": str(state_dir), "COLUMNS": "250"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_workers_share_their_groups_partitions_and_hand_them_over_when_one_goes(
    state_dir: Path, private: dict[str, str]
) -> None:
    enrich_group, index_group = private["NEWSWIRE_ENRICH_APP_ID"], private["NEWSWIRE_INDEX_GROUP_ID"]
    enrich_topic, index_topic = private["NEWSWIRE_ENRICH_INPUT_TOPIC"], private["NEWSWIRE_INDEX_INPUT_TOPIC"]

    started = pipeline.start(state_dir, ["enrich", "index"], env=private, workers={"enrich": 2, "index": 2})

    assert [proc.name for proc in started] == ["enrich", "enrich-2", "index", "index-2"]
    assert all(proc.supervised and proc.running for proc in started)
    assert len({proc.pid for proc in started}) == 4
    logs = [proc.log_path for proc in started]
    assert len(set(logs)) == 4
    for service in ("enrich", "index"):
        port = int(private[f"NEWSWIRE_{service.upper()}_METRICS_PORT"])
        for url in (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + pipeline.PORT_STEP}"):
            wait_for(partial(ready, url), f"{url} ready", READY_WITHIN_S, logs)
    enrich_split = wait_for(
        lambda: split_between(enrich_group, enrich_topic, {"newswire-enrich", "newswire-enrich-2"}),
        "both enrich workers holding partitions",
        READY_WITHIN_S,
        logs,
    )
    index_split = wait_for(
        lambda: split_between(index_group, index_topic, {"newswire-index", "newswire-index-2"}),
        "both index workers holding partitions",
        READY_WITHIN_S,
        logs,
    )
    assert all(enrich_split.values()) and all(index_split.values()), "each worker has work"

    status = json.loads(newswire_status(state_dir, private, "--json"))

    stages = {stage["stage"]: stage for stage in status["stages"]}
    for stage, group, topic in (("enrich", enrich_group, enrich_topic), ("index", index_group, index_topic)):
        shown = {
            member["client_id"]: member["partitions"].get(topic, []) for member in stages[stage]["members"]
        }
        assert stages[stage]["group_id"] == group
        assert set(shown) == {f"newswire-{stage}", f"newswire-{stage}-2"}
        first, second = shown.values()
        assert not set(first) & set(second) and sorted(first + second) == list(range(PARTITIONS))
        assert [worker["worker"] for worker in stages[stage]["workers"]] == [stage, f"{stage}-2"]
    screen = newswire_status(state_dir, private)
    member_rows = {line.split()[1]: line.split() for line in screen.splitlines() if "newswire-index" in line}
    for client_id, partitions in index_split.items():
        assert member_rows[client_id][0] == "index"
        # the service reads a private topic, not the pipeline's: named beside its partitions
        assert " ".join(member_rows[client_id][4:]) == f"{index_topic}: {','.join(map(str, partitions))}"
    worker_rows = {
        words[0]: words[1]
        for words in map(str.split, screen.splitlines())
        if words[:1] in (["enrich-2"], ["index-2"])
    }
    assert worker_rows.get("enrich-2") == worker_rows.get("index-2") == "running"

    # A clean stop: the worker leaves the group as it goes, the other takes every partition.
    assert pipeline.stop_worker(state_dir, "enrich-2", timeout=STOP_TIMEOUT_S)
    wait_for(
        lambda: split_between(enrich_group, enrich_topic, {"newswire-enrich"}),
        "the first enrich worker holding every partition",
        REASSIGNED_WITHIN_S,
        logs,
    )
    (second_enrich,) = pipeline.status(state_dir, ["enrich-2"])
    assert second_enrich.state == "stopped" and second_enrich.last_exit_code == 0

    # A kill: supervisor first, so that nothing restarts the worker; its partitions move once the
    # group's coordinator gives up on it.
    killed = next(proc for proc in started if proc.name == "index-2")
    assert pipeline.stop_worker(state_dir, "index-2", kill=True)
    assert not pid_alive(killed.pid) and not pid_alive(killed.supervisor_pid)  # type: ignore[arg-type]
    wait_for(
        lambda: split_between(index_group, index_topic, {"newswire-index"}),
        "the first index worker holding every partition",
        REASSIGNED_WITHIN_S,
        logs,
    )
    (second_index,) = pipeline.status(state_dir, ["index-2"])
    assert second_index.state == "stopped" and second_index.pid is None
    assert second_index.last_exit_code == -9, "the kill is recorded, not a clean exit"
    survivors = pipeline.status(state_dir, ["enrich", "index"])
    assert {proc.name for proc in survivors if proc.running} == {"enrich", "index"}
    assert {proc.name: proc.restarts for proc in survivors}["index-2"] == 0
