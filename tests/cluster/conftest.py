"""A private three-broker Kafka cluster and three-node Elasticsearch cluster for the cluster suite.

Like the single-node fault suite (``tests/faults``) it never touches the session stack or the
other suites' stacks: its own ports (Kafka 49092/49094/49096, controllers 49093/49095/49097,
Elasticsearch 49200-49202, transport 49300-49302, the services' metrics from 49101) and its own
state directory, wiped before each run so that every count starts from zero. Topics get
replication factor 3 and ``min.insync.replicas=2``, the index one replica: the services and the
suite's clients take all of it from the stack's ``client_env()``. Sizes and timings come from
``NEWSWIRE_CLUSTER_*`` (``make soak`` raises them).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import ElasticsearchSettings, KafkaSettings, TopicSettings
from services.stack import StackSettings
from services.stack.manager import Cluster, cluster, down, up
from services.stack.paths import StackPaths, effective_state_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The pipeline's stages, each run as several workers.
STAGES = ("ingest", "enrich", "index")


class ClusterSettings(BaseSettings):
    """How hard the cluster suite pushes; the defaults fit the CI budget (about 10 minutes)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_CLUSTER_", extra="ignore")

    state_dir: Path = REPO_ROOT / ".state" / "cluster"
    kafka_port: int = 49092
    kafka_controller_port: int = 49093
    es_port: int = 49200
    es_transport_port: int = 49300
    # Worker k of a service serves its probes on the service's port + 10 * (k - 1).
    ingest_metrics_port: int = 49101
    enrich_metrics_port: int = 49102
    index_metrics_port: int = 49103
    enrich_web_port: int = 49166
    articles: int = Field(default=3_000, ge=100, description="Distinct good articles to publish.")
    workers: int = Field(default=2, ge=1, le=8, description="Workers per service at the start.")
    flow_seconds: float = Field(
        default=270.0, gt=0, description="Publishing spreads over this (the last part waits for the faults)."
    )
    steady_s: float = Field(default=10.0, ge=0, description="Undisturbed flow before and between faults.")
    broker_down_s: float = Field(default=5.0, ge=0, description="How long the killed leader stays dead.")
    freeze_s: float = Field(default=30.0, ge=0, description="How long a broker stays SIGSTOPped.")
    es_down_s: float = Field(default=10.0, ge=0, description="How long the killed ES node stays dead.")
    tail_s: float = Field(
        default=15.0, ge=0, description="After a fault ends, its pause may still begin within this."
    )
    node_timeout_s: float = Field(default=300.0, gt=0, description="For a node to start or the ISR to fill.")
    settle_timeout_s: float = Field(default=480.0, gt=0, description="Time to drain after the faults.")
    seed: int | None = Field(default=None, description="Random seed of the workload (printed).")
    rounds: int = Field(default=1, ge=1, description="Whole scenarios run back to back (soak).")
    reuse: bool = Field(
        default=False,
        description="Development: keep a running cluster (no wipe first, left up after); rounds add up.",
    )


def stack_settings(cluster_settings: ClusterSettings) -> StackSettings:
    return StackSettings(
        state_dir=cluster_settings.state_dir,
        kafka_brokers=3,
        es_nodes=3,
        kafka_port=cluster_settings.kafka_port,
        kafka_controller_port=cluster_settings.kafka_controller_port,
        es_port=cluster_settings.es_port,
        es_transport_port=cluster_settings.es_transport_port,
        es_cluster_name="newswire-cluster",
        kafka_num_partitions=6,
        # Six JVMs and nine workers share two cores: restarts under load take their time.
        es_start_timeout=cluster_settings.node_timeout_s,
        kafka_start_timeout=cluster_settings.node_timeout_s,
    )


@dataclass(frozen=True)
class ClusterStack:
    """The private cluster: how to reach it, and its nodes to stop and start."""

    settings: StackSettings
    options: ClusterSettings
    paths: StackPaths
    #: seconds the cluster took to come up (wipe included), for the CI budget
    up_s: float = 0.0

    @property
    def state_dir(self) -> Path:
        return self.paths.root

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.settings.kafka_bootstrap, startup_timeout_s=120)

    @property
    def elasticsearch(self) -> ElasticsearchSettings:
        return ElasticsearchSettings(url=self.settings.es_url)

    @property
    def topics(self) -> TopicSettings:
        env = self.settings.client_env()
        return TopicSettings(
            partitions=int(env["NEWSWIRE_TOPICS_PARTITIONS"]),
            replication_factor=int(env["NEWSWIRE_TOPICS_REPLICATION_FACTOR"]),
        )

    def nodes(self) -> Cluster:
        return cluster(self.settings)

    def service_env(self) -> dict[str, str]:
        """The services' environment: this cluster (``client_env``), faust's files under our state."""
        options = self.options
        return {
            **self.settings.client_env(),
            "NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S": "180",
            "NEWSWIRE_ES_STARTUP_TIMEOUT_S": "300",
            "NEWSWIRE_ENRICH_DATA_DIR": str(self.state_dir / "enrich-data"),
            "NEWSWIRE_ENRICH_WEB_ENABLED": "false",
            "NEWSWIRE_ENRICH_WEB_PORT": str(options.enrich_web_port),
            # faust waits a whole session timeout (60 s by default) before a SIGKILLed member's
            # partitions move to its successor; the kafka-python services use 10 s.
            "NEWSWIRE_ENRICH_FAUST_BROKER_SESSION_TIMEOUT": "10",
            "NEWSWIRE_INGEST_METRICS_PORT": str(options.ingest_metrics_port),
            "NEWSWIRE_ENRICH_METRICS_PORT": str(options.enrich_metrics_port),
            "NEWSWIRE_INDEX_METRICS_PORT": str(options.index_metrics_port),
        }


def pytest_configure(config: pytest.Config) -> None:
    # Our clients see every broker kill and freeze; kafka-python logs each lost connection at ERROR.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)
    config.addinivalue_line(
        "markers", "cluster: kills, freezes and restarts nodes of a private 3-broker, 3-node cluster"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster" in str(item.path):
            item.add_marker(pytest.mark.cluster)


def wipe_data(paths: StackPaths) -> None:
    """Forget every topic, offset, document and the recorded topology; keep the artifacts."""
    root = paths.root
    doomed = [*root.glob("kafka*/data"), *root.glob("elasticsearch*/data")]
    doomed += [root / "run", root / "enrich-data", *root.glob("enrich-data-*")]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    for path in [
        paths.topology_file,
        root / "timeline.log",
        *paths.logs.glob("*.log"),
        *paths.logs.glob("*.out"),
    ]:
        with contextlib.suppress(OSError):
            path.unlink()


@pytest.fixture(scope="session")
def cluster_settings() -> ClusterSettings:
    return ClusterSettings()


@pytest.fixture(scope="session")
def cluster_stack(cluster_settings: ClusterSettings) -> Iterator[ClusterStack]:
    """A freshly wiped private cluster, brought down again at the end of the session."""
    from services.stack import pipeline

    settings = stack_settings(cluster_settings)
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    started = time.monotonic()
    # A service stopped right after a member was SIGKILLed may wait out LeaveGroup (about 30 s).
    pipeline.stop(paths.root, timeout=120)
    if not cluster_settings.reuse:
        down(settings)
        wipe_data(paths)
    up(settings)
    stack = ClusterStack(settings, cluster_settings, paths, up_s=time.monotonic() - started)
    try:
        yield stack
    finally:
        pipeline.stop(paths.root, timeout=120)
        if not cluster_settings.reuse:
            down(settings)
