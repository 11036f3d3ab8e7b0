"""A cluster of three KRaft nodes and three Elasticsearch nodes: settings, paths, rendered configs,
the recorded topology (pure: no processes, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from services.stack import StackSettings
from services.stack.config import (
    elasticsearch_settings,
    kafka_server_properties,
    render_elasticsearch_yml,
    render_es_jvm_options,
    render_kafka_log4j,
    render_kafka_server_properties,
)
from services.stack.manager import _check_topology, cluster, effective_settings
from services.stack.paths import StackPaths, read_topology, write_topology
from services.stack.process import StackError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NEWSWIRE_STACK_"):
            monkeypatch.delenv(key)


def settings_in(state: Path, **fields: int) -> StackSettings:
    """Settings whose state dir is used as is (as root, the ES user cannot enter pytest's 0700 tmp)."""
    return StackSettings(state_dir=state, fallback_state_dir=state, **fields)  # type: ignore[arg-type]


@pytest.fixture()
def three(tmp_path: Path) -> StackSettings:
    return settings_in(tmp_path / "state", kafka_brokers=3, es_nodes=3)


def properties(text: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, _, value in pairs}


def test_single_node_is_the_default(tmp_path: Path) -> None:
    s = StackSettings(state_dir=tmp_path)
    assert (s.kafka_brokers, s.es_nodes) == (1, 1)
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.es_url == "http://127.0.0.1:9200"
    assert (s.replication_factor, s.min_insync_replicas, s.es_replicas) == (1, 1, 0)
    assert s.client_env() == {
        "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "NEWSWIRE_ES_URL": "http://127.0.0.1:9200",
        "NEWSWIRE_TOPICS_REPLICATION_FACTOR": "1",
        "NEWSWIRE_TOPICS_PARTITIONS": "6",
        "NEWSWIRE_INDEX_NUMBER_OF_REPLICAS": "0",
    }


def test_three_nodes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSWIRE_STACK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSWIRE_STACK_KAFKA_BROKERS", "3")
    monkeypatch.setenv("NEWSWIRE_STACK_ES_NODES", "3")
    s = StackSettings()
    assert s.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert s.es_url == "http://127.0.0.1:9200,http://127.0.0.1:9201,http://127.0.0.1:9202"
    assert [s.kafka_controller_port_of(n) for n in s.kafka_node_ids] == [9093, 9095, 9097]
    assert [s.es_transport_port_of(n) for n in s.es_node_ids] == [9300, 9301, 9302]
    assert (s.replication_factor, s.min_insync_replicas, s.es_replicas) == (3, 2, 1)
    env = s.client_env()
    assert env["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"] == s.kafka_bootstrap
    assert env["NEWSWIRE_ES_URL"] == s.es_url
    assert env["NEWSWIRE_TOPICS_REPLICATION_FACTOR"] == "3"
    assert env["NEWSWIRE_INDEX_NUMBER_OF_REPLICAS"] == "1"


@pytest.mark.parametrize(("brokers", "rf", "isr"), [(1, 1, 1), (2, 2, 2), (3, 3, 2), (5, 3, 2)])
def test_replication_follows_the_number_of_brokers(tmp_path: Path, brokers: int, rf: int, isr: int) -> None:
    s = StackSettings(state_dir=tmp_path, kafka_brokers=brokers)
    assert (s.replication_factor, s.min_insync_replicas) == (rf, isr)


def test_each_kafka_node_has_its_own_id_ports_and_data_but_one_quorum(three: StackSettings) -> None:
    paths = StackPaths.for_settings(three)
    rendered = [properties(render_kafka_server_properties(three, paths, n)) for n in (1, 2, 3)]
    assert rendered == [kafka_server_properties(three, paths, n) for n in (1, 2, 3)]
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    for node, props in zip((1, 2, 3), rendered, strict=True):
        port, controller = 9092 + 2 * (node - 1), 9093 + 2 * (node - 1)
        assert props["node.id"] == str(node)
        assert props["process.roles"] == "broker,controller"
        assert props["controller.quorum.voters"] == voters
        assert props["listeners"] == f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{port}"
    assert [props["log.dirs"] for props in rendered] == [
        str(three.state_dir / "kafka" / "data"),
        str(three.state_dir / "kafka-2" / "data"),
        str(three.state_dir / "kafka-3" / "data"),
    ]


def test_three_brokers_replicate_everything_three_times(three: StackSettings) -> None:
    props = kafka_server_properties(three, StackPaths.for_settings(three), 2)
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"


def test_each_kafka_node_logs_to_its_own_file(three: StackSettings) -> None:
    paths = StackPaths.for_settings(three)
    files = [properties(render_kafka_log4j(paths, n))["log4j.appender.file.File"] for n in (1, 2, 3)]
    logs = three.state_dir / "logs"
    assert files == [str(logs / "kafka.log"), str(logs / "kafka-2.log"), str(logs / "kafka-3.log")]


def test_node_one_keeps_the_single_node_layout(three: StackSettings) -> None:
    paths = StackPaths.for_settings(three)
    root = three.state_dir
    assert paths.kafka_node(1).data == paths.kafka_data == root / "kafka" / "data"
    assert paths.kafka_node(1).pidfile == paths.kafka_pidfile == root / "kafka" / "kafka.pid"
    assert paths.es_node(1).data == paths.es_data == root / "elasticsearch" / "data"
    assert paths.es_node(1).pidfile == paths.es_pidfile == root / "elasticsearch" / "elasticsearch.pid"
    assert paths.kafka_node(3).pidfile == root / "kafka-3" / "kafka.pid"
    assert paths.es_node(2).config_dir == root / "elasticsearch-2" / "config"
    assert paths.es_node(2).out == root / "logs" / "elasticsearch-2.out"


def es_values(settings: StackSettings, node: int, bootstrap: bool = True) -> dict[str, object]:
    values = yaml.safe_load(
        render_elasticsearch_yml(settings, StackPaths.for_settings(settings), node, bootstrap)
    )
    assert values == elasticsearch_settings(settings, StackPaths.for_settings(settings), node, bootstrap)
    return values


def test_es_nodes_discover_each_other_and_bootstrap_one_cluster(three: StackSettings) -> None:
    for node in (1, 2, 3):
        values = es_values(three, node)
        assert "discovery.type" not in values
        assert values["cluster.name"] == "newswire"
        assert values["node.name"] == f"newswire-{node}"
        assert values["http.port"] == 9199 + node
        assert values["transport.port"] == 9299 + node
        assert values["discovery.seed_hosts"] == ["127.0.0.1:9300", "127.0.0.1:9301", "127.0.0.1:9302"]
        assert values["cluster.initial_master_nodes"] == ["newswire-1", "newswire-2", "newswire-3"]
        assert values["path.data"] == str(StackPaths.for_settings(three).es_node(node).data)


def test_es_nodes_of_a_formed_cluster_do_not_bootstrap_again(three: StackSettings) -> None:
    values = es_values(three, 2, bootstrap=False)
    assert "cluster.initial_master_nodes" not in values
    assert values["discovery.seed_hosts"] == ["127.0.0.1:9300", "127.0.0.1:9301", "127.0.0.1:9302"]


def test_single_es_node_keeps_single_node_discovery(tmp_path: Path) -> None:
    values = es_values(StackSettings(state_dir=tmp_path), 1)
    assert values["discovery.type"] == "single-node"
    assert "discovery.seed_hosts" not in values and "cluster.initial_master_nodes" not in values


def test_es_jvm_options_per_node(three: StackSettings) -> None:
    text = render_es_jvm_options(StackPaths.for_settings(three), 3)
    node_dir = three.state_dir / "elasticsearch-3"
    assert f"file={node_dir / 'logs'}/gc.log" in text
    assert f"-XX:HeapDumpPath={node_dir / 'data'}" in text


def test_cluster_has_a_kafka_and_an_es_object_per_node(three: StackSettings) -> None:
    c = cluster(three)
    assert [b.node for b in c.brokers] == [1, 2, 3]
    assert [b.address for b in c.brokers] == ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]
    assert [e.node_name for e in c.es_nodes] == ["newswire-1", "newswire-2", "newswire-3"]
    assert c.es_node(3).address == "http://127.0.0.1:9202"
    assert c.broker(2).node_paths.pidfile == three.state_dir / "kafka-2" / "kafka.pid"
    assert c.es_node(2).command()[-3:] == [
        "-d",
        "-p",
        str(three.state_dir / "elasticsearch-2" / "elasticsearch.pid"),
    ]
    assert f"ES_PATH_CONF={three.state_dir / 'elasticsearch-2' / 'config'}" in c.es_node(2).command()


def test_topology_recorded_is_adopted_unless_chosen(tmp_path: Path) -> None:
    state = tmp_path / "state"
    paths = StackPaths.for_settings(settings_in(state))
    assert read_topology(paths) is None
    write_topology(paths, {"kafka_brokers": 3, "es_nodes": 3, "es_cluster_formed": True})

    adopted = effective_settings(settings_in(state))
    assert (adopted.kafka_brokers, adopted.es_nodes) == (3, 3)
    assert adopted.kafka_bootstrap.count(",") == 2
    assert len(cluster(settings_in(state)).brokers) == 3

    chosen = effective_settings(settings_in(state, kafka_brokers=1))
    assert (chosen.kafka_brokers, chosen.es_nodes) == (1, 3)
    # what runs there (status, down) is what was recorded, whatever the caller says
    assert len(cluster(settings_in(state, kafka_brokers=1, es_nodes=1), prefer_recorded=True).es_nodes) == 3


def test_a_different_topology_over_existing_data_is_refused_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    paths = StackPaths.for_settings(settings_in(state))
    write_topology(paths, {"kafka_brokers": 1, "es_nodes": 1, "es_cluster_formed": True})
    _check_topology(settings_in(state), paths)  # same topology: fine
    with pytest.raises(StackError) as refused:
        _check_topology(settings_in(state, kafka_brokers=3, es_nodes=3), paths)
    message = str(refused.value)
    assert "\n" not in message
    assert "1 Kafka broker(s) and 1 Elasticsearch node(s), not 3 and 3" in message
    assert str(state) in message


def test_a_state_dir_from_before_topologies_is_a_single_node_stack(tmp_path: Path) -> None:
    paths = StackPaths.for_settings(settings_in(tmp_path))
    paths.kafka_data.mkdir(parents=True)
    (paths.kafka_data / "meta.properties").write_text("node.id=1\n")
    assert read_topology(paths) == {"kafka_brokers": 1, "es_nodes": 1, "es_cluster_formed": True}
    with pytest.raises(StackError):
        _check_topology(settings_in(tmp_path, kafka_brokers=3), paths)


def test_wipe_data_forgets_the_cluster_but_keeps_configs_and_artifacts(three: StackSettings) -> None:
    c = cluster(three)
    root = three.state_dir
    for directory in ("kafka/data", "kafka-3/data", "elasticsearch-2/data", "elasticsearch/config", "dist"):
        (root / directory).mkdir(parents=True)
        (root / directory / "file").write_text("x")
    (root / "kafka" / "cluster.id").write_text("abc\n")
    write_topology(c.paths, {"kafka_brokers": 3, "es_nodes": 3, "es_cluster_formed": True})

    c.wipe_data()

    assert not (root / "kafka" / "data").exists() and not (root / "kafka-3" / "data").exists()
    assert not (root / "elasticsearch-2" / "data").exists()
    assert not (root / "kafka" / "cluster.id").exists() and read_topology(c.paths) is None
    assert (root / "elasticsearch" / "config" / "file").is_file() and (root / "dist" / "file").is_file()
