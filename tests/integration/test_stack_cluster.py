"""A real cluster started by services.stack: three KRaft brokers and three Elasticsearch nodes.

It runs on private ports with its own state dir (never the session stack of the other tests):
the brokers form one KRaft quorum, the ES nodes one cluster; a topic with replication factor 3
keeps every partition in sync; a SIGKILLed broker shows up in ``status`` as under-replicated
partitions and heals after ``start()`` + ``wait_healthy()``; ``down`` stops every node.
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
from typing import Any, TypeVar

import httpx
import pytest

from services.stack import StackSettings, StackStatus
from services.stack.elasticsearch import Elasticsearch
from services.stack.kafka import Kafka
from services.stack.manager import Cluster, cluster, down, up
from services.stack.process import pid_alive
from services.stack.settings import REPO_ROOT

pytestmark = pytest.mark.integration

T = TypeVar("T")

#: Private ports: Kafka 25092/25094/25096 (controllers +1), ES 25200-25202, transport 25300-25302.
CLUSTER_ENV = {
    "NEWSWIRE_STACK_STATE_DIR": str(REPO_ROOT / ".state" / "cluster-test"),
    "NEWSWIRE_STACK_FALLBACK_STATE_DIR": "/var/lib/newswire-cluster-test",
    "NEWSWIRE_STACK_KAFKA_PORT": "25092",
    "NEWSWIRE_STACK_KAFKA_CONTROLLER_PORT": "25093",
    "NEWSWIRE_STACK_ES_PORT": "25200",
    "NEWSWIRE_STACK_ES_TRANSPORT_PORT": "25300",
    "NEWSWIRE_STACK_ES_CLUSTER_NAME": "newswire-cluster-test",
    "NEWSWIRE_STACK_ES_HEAP": "512m",
    "NEWSWIRE_STACK_KAFKA_HEAP": "512m",
    # the machine is shared with the rest of the suite: starting six JVMs at once takes a while
    "NEWSWIRE_STACK_KAFKA_START_TIMEOUT": "240",
    "NEWSWIRE_STACK_ES_START_TIMEOUT": "300",
}


def cluster_settings(**topology: int) -> StackSettings:
    env = {key.removeprefix("NEWSWIRE_STACK_").lower(): value for key, value in CLUSTER_ENV.items()}
    return StackSettings(**env, **topology)  # type: ignore[arg-type]


def eventually(check: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """``check()``'s first truthy result within ``timeout`` seconds (a generous bound, not a speed check)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def settings() -> StackSettings:
    return cluster_settings(kafka_brokers=3, es_nodes=3)


@pytest.fixture(scope="module")
def started(settings: StackSettings) -> Iterator[StackStatus]:
    """The 3x3 cluster, up for this module and brought down at its end."""
    result = up(settings)
    try:
        yield result
    finally:
        down(settings)


@pytest.fixture(scope="module")
def nodes(started: StackStatus, settings: StackSettings) -> Cluster:
    return cluster(settings)


@pytest.fixture(scope="module")
def topic(started: StackStatus, settings: StackSettings) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"test-cluster-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="test-stack-cluster")
    try:
        admin.create_topics([NewTopic(name, 3, 3, topic_configs={"min.insync.replicas": "2"})])
    finally:
        admin.close()
    # not deleted afterwards: the last test stops the cluster (the state dir is this module's alone)
    return name


def describe(settings: StackSettings, topic: str) -> list[dict[str, Any]]:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="test-stack-cluster")
    try:
        return list(admin.describe_topics([topic])[0]["partitions"])
    finally:
        admin.close()


def produce(settings: StackSettings, topic: str, count: int) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, retries=10
    )
    try:
        for i in range(count):
            producer.send(topic, key=str(i).encode(), value=f"message {i}".encode()).get(timeout=60)
    finally:
        producer.close()


def test_up_starts_three_brokers_and_three_es_nodes_in_one_cluster_each(
    started: StackStatus, settings: StackSettings
) -> None:
    assert started.healthy
    assert [b.node for b in started.brokers] == [1, 2, 3]
    assert [b.address for b in started.brokers] == ["127.0.0.1:25092", "127.0.0.1:25094", "127.0.0.1:25096"]
    assert all(b.managed and b.pid for b in started.brokers + started.es_nodes)
    assert len({b.pid for b in started.brokers}) == 3 and len({e.pid for e in started.es_nodes}) == 3
    assert started.kafka_cluster is not None and started.kafka_cluster.brokers == [1, 2, 3]
    assert started.kafka_cluster.controller in (1, 2, 3)
    assert started.es_cluster is not None and started.es_cluster.number_of_nodes == 3
    assert started.es_cluster.nodes == [f"newswire-cluster-test-{n}" for n in (1, 2, 3)]
    # one cluster id for all three, every node formatted with it
    state = settings.state_dir
    cluster_id = (state / "kafka" / "cluster.id").read_text().strip()
    assert started.kafka_cluster.cluster_id == cluster_id
    for data in (state / "kafka" / "data", state / "kafka-2" / "data", state / "kafka-3" / "data"):
        assert f"cluster.id={cluster_id}" in (data / "meta.properties").read_text()
    assert json.loads((state / "topology.json").read_text())["kafka_brokers"] == 3


def test_every_broker_is_in_the_metadata_and_a_topic_keeps_three_replicas_in_sync(
    settings: StackSettings, topic: str
) -> None:
    from kafka.admin import KafkaAdminClient

    for node in (1, 2, 3):  # asked of each broker alone: every one of them knows all three
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_address_of(node), client_id="test-stack-cluster"
        )
        try:
            assert sorted(b["broker_id"] for b in admin.describe_cluster()["brokers"]) == [1, 2, 3]
        finally:
            admin.close()

    def all_in_sync() -> list[dict[str, Any]] | None:
        partitions = describe(settings, topic)
        return partitions if all(len(p["isr_nodes"]) == 3 for p in partitions) else None

    partitions = eventually(all_in_sync, 60, "three replicas in sync")
    assert sorted(p["partition_index"] for p in partitions) == [0, 1, 2]
    assert all(sorted(p["replica_nodes"]) == [1, 2, 3] for p in partitions)
    produce(settings, topic, 30)


def test_elasticsearch_is_green_with_three_nodes_and_replicas(
    settings: StackSettings, started: StackStatus
) -> None:
    index = f"test-cluster-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=settings.es_url_of(2), timeout=60) as es:
        created = es.put(f"/{index}", json={"settings": {"number_of_shards": 3, "number_of_replicas": 1}})
        assert created.status_code == 200, created.text
        try:
            health = es.get(
                "/_cluster/health",
                params={"wait_for_status": "green", "wait_for_nodes": "3", "timeout": "60s"},
            ).json()
            assert health["status"] == "green" and health["number_of_nodes"] == 3
            shards = es.get(f"/_cat/shards/{index}", params={"format": "json"}).json()
            assert len({s["node"] for s in shards}) >= 2  # primaries and replicas spread over the nodes
        finally:
            es.delete(f"/{index}")


def test_status_reports_the_controller_and_no_under_replicated_partitions(
    settings: StackSettings, topic: str
) -> None:
    # without --brokers: status follows the topology recorded in the state dir
    env = {**os.environ, **CLUSTER_ENV}
    env.pop("NEWSWIRE_STACK_KAFKA_BROKERS", None)
    env.pop("NEWSWIRE_STACK_ES_NODES", None)

    def in_sync() -> dict[str, Any] | None:
        proc = subprocess.run(
            [sys.executable, "-m", "services.stack", "status", "--json"],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        status = json.loads(proc.stdout)
        return (
            status
            if proc.returncode == 0 and status["kafka_cluster"]["under_replicated_count"] == 0
            else None
        )

    status = eventually(in_sync, 90, "status healthy with 0 under-replicated partitions", interval=3)
    assert [b["node"] for b in status["brokers"]] == [1, 2, 3]
    assert status["kafka_cluster"]["controller"] in (1, 2, 3)
    assert status["es_cluster"]["status"] == "green" and status["es_cluster"]["number_of_nodes"] == 3


def test_a_second_up_leaves_every_node_running(settings: StackSettings, started: StackStatus) -> None:
    again = up(settings)
    assert [c.action for c in again.components] == ["already-running"] * 6
    assert [c.pid for c in again.components] == [c.pid for c in started.components]
    assert again.healthy


def test_a_different_topology_is_refused(settings: StackSettings, started: StackStatus) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "services.stack", "up", "--brokers", "1", "--es-nodes", "1"],
        env={**os.environ, **CLUSTER_ENV},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "holds a stack of 3 Kafka broker(s) and 3 Elasticsearch node(s), not 1 and 1" in proc.stderr


def test_a_killed_broker_shows_as_under_replicated_partitions_until_it_is_back(
    settings: StackSettings, nodes: Cluster, topic: str
) -> None:
    leader = next(int(p["leader_id"]) for p in describe(settings, topic) if p["partition_index"] == 0)
    broker = nodes.broker(leader)
    pid = broker.managed_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: not pid_alive(pid), 30, "the killed broker is gone", interval=0.2)

    def under_replicated() -> StackStatus | None:
        st = nodes.status()
        kc = st.kafka_cluster
        ours = [p for p in (kc.under_replicated if kc else []) if p.topic == topic]
        # a new controller if the killed broker was the controller (the quorum notices within seconds)
        elected = kc is not None and kc.controller not in (None, leader)
        fenced = kc is not None and leader not in kc.brokers
        return (
            st if elected and fenced and len(ours) == 3 and all(leader not in p.isr for p in ours) else None
        )

    st = eventually(under_replicated, 90, f"status reports the partitions of {topic} under-replicated")
    assert not st.brokers[leader - 1].running
    assert st.kafka_cluster is not None and leader not in st.kafka_cluster.brokers
    assert st.kafka_cluster.controller != leader
    assert not st.healthy
    produce(settings, topic, 10)  # acks=all still succeeds with two of three in sync

    restarted = broker.start()
    broker.wait_healthy(restarted, 240)

    def healed() -> StackStatus | None:
        st = nodes.status()
        kc = st.kafka_cluster
        return (
            st if st.healthy and kc and kc.brokers == [1, 2, 3] and kc.under_replicated_count == 0 else None
        )

    eventually(healed, 180, "the broker back and no under-replicated partitions", interval=2)
    assert broker.managed_pid() == restarted


def test_a_killed_es_node_leaves_the_cluster_yellow_until_it_rejoins(
    settings: StackSettings, nodes: Cluster
) -> None:
    index = f"test-cluster-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=settings.es_url_of(1), timeout=90) as es:
        created = es.put(f"/{index}", json={"settings": {"number_of_shards": 3, "number_of_replicas": 1}})
        assert created.status_code == 200, created.text
        green = {"wait_for_status": "green", "wait_for_nodes": "3", "timeout": "60s"}
        assert es.get("/_cluster/health", params=green).json()["status"] == "green"
        victim = nodes.es_node(3)
        pid = victim.managed_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: not pid_alive(pid), 30, "the killed ES node is gone", interval=0.2)

        def degraded() -> StackStatus | None:
            st = nodes.status()
            ec = st.es_cluster
            return st if ec and ec.number_of_nodes == 2 and ec.status in ("yellow", "green") else None

        st = eventually(degraded, 120, "the cluster carries on with two nodes", interval=2)
        assert not st.es_nodes[2].running and not st.healthy
        assert st.es_cluster is not None and victim.node_name not in st.es_cluster.nodes

        restarted = victim.start()
        victim.wait_healthy(restarted, 240)  # answers and is in the cluster again
        health = es.get("/_cluster/health", params={**green, "timeout": "120s"}).json()
        assert health["status"] == "green" and health["number_of_nodes"] == 3
        es.delete(f"/{index}")
    assert victim.managed_pid() == restarted


def test_a_cleanly_stopped_broker_restarts_into_the_cluster(settings: StackSettings, nodes: Cluster) -> None:
    broker = nodes.broker(3)
    assert broker.stop(timeout=120) is True  # SIGTERM: a controlled shutdown, not a kill
    assert broker.managed_pid() is None and broker.stop() is None
    pid = broker.start()
    broker.wait_healthy(pid, 240)

    def all_back() -> StackStatus | None:
        # the other brokers learn of the returning one from the metadata log, a moment after it does
        st = nodes.status()
        kc = st.kafka_cluster
        return (
            st if st.healthy and kc and kc.brokers == [1, 2, 3] and kc.under_replicated_count == 0 else None
        )

    eventually(all_back, 180, "all three brokers back, every partition in sync")


def test_down_stops_every_node(settings: StackSettings, nodes: Cluster, started: StackStatus) -> None:
    everyone: list[Kafka | Elasticsearch] = [*nodes.brokers, *nodes.es_nodes]
    pids = [pid for node in everyone if (pid := node.managed_pid()) is not None]
    assert len(pids) == 6
    result = down(settings)
    assert [c.action for c in result.components] == ["stopped"] * 6
    assert not any(pid_alive(pid) for pid in pids)
    assert not any(c.running for c in result.components)
    assert (settings.state_dir / "topology.json").is_file()  # the data stays, for the next up
