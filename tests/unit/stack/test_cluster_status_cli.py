"""``newswire stack status|env`` and ``python -m services.stack`` for a three-node cluster: the output."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.stack import ComponentStatus, StackSettings, StackStatus
from services.stack.__main__ import render, render_env
from services.stack.models import EsClusterStatus, KafkaClusterStatus, UnderReplicatedPartition
from services.stack.paths import StackPaths, write_topology

runner = CliRunner(env={"COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NEWSWIRE_STACK_"):
            monkeypatch.delenv(key)


def cluster_status(broker_2_down: bool) -> StackStatus:
    brokers = [
        ComponentStatus(
            name="kafka",
            node=n,
            address=f"127.0.0.1:{9090 + 2 * n}",
            running=not (broker_2_down and n == 2),
            healthy=not (broker_2_down and n == 2),
            pid=None if broker_2_down and n == 2 else 100 + n,
        )
        for n in (1, 2, 3)
    ]
    es_nodes = [
        ComponentStatus(
            name="elasticsearch", node=n, address=f"http://127.0.0.1:{9199 + n}", running=True, healthy=True
        )
        for n in (1, 2, 3)
    ]
    under = (
        [
            UnderReplicatedPartition(
                topic="articles.raw", partition=4, leader=3, replicas=[2, 3, 1], isr=[3, 1]
            )
        ]
        if broker_2_down
        else []
    )
    return StackStatus(
        state_dir=Path("/tmp/newswire-cluster"),
        kafka=brokers[0],
        elasticsearch=es_nodes[0],
        brokers=brokers,
        es_nodes=es_nodes,
        kafka_cluster=KafkaClusterStatus(
            cluster_id="abc", controller=3, brokers=[1, 3], under_replicated=under
        ),
        es_cluster=EsClusterStatus(
            cluster_name="newswire",
            status="green",
            number_of_nodes=3,
            nodes=["newswire-1", "newswire-2", "newswire-3"],
            master="newswire-2",
        ),
    )


def test_module_render_shows_every_node_the_controller_and_under_replicated_partitions() -> None:
    text = render(cluster_status(broker_2_down=True))
    lines = text.splitlines()
    assert next(line for line in lines if line.startswith("kafka-2 ")).split()[1] == "stopped"
    assert next(line for line in lines if line.startswith("elasticsearch-3 ")).split()[1] == "healthy"
    assert "controller 3" in text and "under-replicated partitions 1" in text
    assert "articles.raw-4: leader 3, replicas [2, 3, 1], in sync [3, 1]" in text
    assert "green  nodes 3" in text and "master newswire-2" in text


def test_a_cluster_with_a_node_down_is_not_healthy() -> None:
    assert not cluster_status(broker_2_down=True).healthy
    assert cluster_status(broker_2_down=False).healthy


def test_render_env_quotes_for_the_shell(tmp_path: Path) -> None:
    text = render_env(StackSettings(state_dir=tmp_path, kafka_brokers=3, es_nodes=3))
    assert "export NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096" in text
    assert "export NEWSWIRE_TOPICS_REPLICATION_FACTOR=3" in text


def test_cli_status_lists_nodes_and_cluster_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSWIRE_STACK_STATE_DIR", str(tmp_path))
    monkeypatch.setattr("services.stack.status", lambda settings: cluster_status(broker_2_down=True))

    screen = runner.invoke(app, ["stack", "status"])
    assert screen.exit_code == 3
    rows = {line.split()[0]: line for line in screen.stdout.splitlines() if line.strip()}
    assert "stopped" in rows["kafka-2"] and "healthy" in rows["kafka-3"] and "103" in rows["kafka-3"]
    assert "healthy" in rows["elasticsearch-2"]
    assert "controller 3" in screen.stdout and "under-replicated partitions 1" in screen.stdout
    assert "articles.raw-4: leader 3" in screen.stdout
    assert "green" in screen.stdout and "master newswire-2" in screen.stdout

    as_json = orjson.loads(runner.invoke(app, ["stack", "status", "--json"]).stdout)
    assert [b["node"] for b in as_json["brokers"]] == [1, 2, 3]
    assert as_json["kafka_cluster"]["controller"] == 3
    assert as_json["kafka_cluster"]["under_replicated_count"] == 1
    assert as_json["es_cluster"]["status"] == "green"


def test_cli_up_passes_the_topology(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSWIRE_STACK_STATE_DIR", str(tmp_path))
    seen: list[tuple[int, int]] = []

    def fake_up(settings: StackSettings) -> StackStatus:
        seen.append((settings.kafka_brokers, settings.es_nodes))
        return cluster_status(broker_2_down=False)

    monkeypatch.setattr("services.stack.up", fake_up)
    assert runner.invoke(app, ["stack", "up", "--brokers", "3", "--es-nodes", "3"]).exit_code == 0
    assert seen == [(3, 3)]


def test_cli_env_follows_the_recorded_topology(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSWIRE_STACK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSWIRE_STACK_FALLBACK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSWIRE_STACK_KAFKA_PORT", "25092")
    single = runner.invoke(app, ["stack", "env"])
    assert "export NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:25092\n" in single.stdout

    write_topology(StackPaths.for_settings(StackSettings()), {"kafka_brokers": 3, "es_nodes": 3})
    result = runner.invoke(app, ["stack", "env"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "export NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:25092,127.0.0.1:25094,127.0.0.1:25096" in lines
    assert "export NEWSWIRE_ES_URL=http://127.0.0.1:9200,http://127.0.0.1:9201,http://127.0.0.1:9202" in lines
    assert "export NEWSWIRE_INDEX_NUMBER_OF_REPLICAS=1" in lines
    assert (
        orjson.loads(runner.invoke(app, ["stack", "env", "--json"]).stdout)["NEWSWIRE_TOPICS_PARTITIONS"]
        == "6"
    )
