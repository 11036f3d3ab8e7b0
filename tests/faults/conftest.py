"""A private Kafka + Elasticsearch for the fault suite, which kills and restarts them.

The suite never touches the session stack (9092/9200) that the other tests and other engineers
use: it runs its own native stack on other ports with its own state directory, wiped before each
run so that every count starts from zero. Sizes and ports come from ``NEWSWIRE_FAULTS_*``
(``make soak`` raises them).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import ElasticsearchSettings, KafkaSettings
from services.stack import StackSettings
from services.stack.elasticsearch import Elasticsearch as EsProcess
from services.stack.kafka import Kafka as KafkaProcess
from services.stack.manager import down, up
from services.stack.paths import StackPaths, effective_state_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


class FaultSettings(BaseSettings):
    """How hard the fault suite pushes; the defaults fit the CI budget (about 10 minutes)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_FAULTS_", extra="ignore")

    state_dir: Path = REPO_ROOT / ".state" / "faults"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    es_port: int = 19200
    es_transport_port: int = 19300
    # /metrics, /healthz and /readyz of the services: their supervisors probe /healthz (liveness)
    # as under `make up`; the session stack's services may hold the default ports (9101-9103).
    ingest_metrics_port: int = 19101
    enrich_metrics_port: int = 19102
    index_metrics_port: int = 19103
    articles: int = Field(default=2_000, ge=100, description="Distinct good articles to publish.")
    flow_seconds: float = Field(default=150.0, gt=0, description="How long publishing is spread over.")
    kills_per_service: int = Field(default=2, ge=0)
    broker_restarts: int = Field(default=1, ge=0)
    es_outages: int = Field(default=1, ge=0)
    es_outage_s: float = Field(default=30.0, ge=0, description="How long Elasticsearch stays down.")
    settle_timeout_s: float = Field(default=420.0, gt=0, description="Time to drain after the chaos.")
    seed: int | None = Field(default=None, description="Random seed of the chaos schedule (printed).")
    rounds: int = Field(default=1, ge=1, description="Whole scenarios run back to back (soak).")


@dataclass(frozen=True)
class FaultStack:
    """The private stack: how to reach it, and handles to stop and start its parts."""

    settings: StackSettings
    faults: FaultSettings
    paths: StackPaths

    @property
    def state_dir(self) -> Path:
        return self.paths.root

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.settings.kafka_bootstrap, startup_timeout_s=120)

    @property
    def elasticsearch(self) -> ElasticsearchSettings:
        return ElasticsearchSettings(url=self.settings.es_url)

    def kafka_process(self) -> KafkaProcess:
        return KafkaProcess(self.settings, self.paths)

    def es_process(self) -> EsProcess:
        return EsProcess(self.settings, self.paths)

    def service_env(self) -> dict[str, str]:
        """Environment of the pipeline services: this stack, and faust's files kept under our state."""
        return {
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap,
            "NEWSWIRE_ES_URL": self.settings.es_url,
            "NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S": "180",
            "NEWSWIRE_ES_STARTUP_TIMEOUT_S": "300",
            "NEWSWIRE_ENRICH_DATA_DIR": str(self.state_dir / "enrich-data"),
            "NEWSWIRE_ENRICH_WEB_ENABLED": "false",
            # faust waits a whole session timeout (60 s by default) before a SIGKILLed member's
            # partitions move to its successor; the kafka-python services use 10 s.
            "NEWSWIRE_ENRICH_FAUST_BROKER_SESSION_TIMEOUT": "10",
            "NEWSWIRE_INGEST_METRICS_PORT": str(self.faults.ingest_metrics_port),
            "NEWSWIRE_ENRICH_METRICS_PORT": str(self.faults.enrich_metrics_port),
            "NEWSWIRE_INDEX_METRICS_PORT": str(self.faults.index_metrics_port),
        }


def pytest_configure(config: pytest.Config) -> None:
    # Our clients see every broker kill; kafka-python logs each lost connection at ERROR.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    config.addinivalue_line(
        "markers", "faults: kills services, the broker and Elasticsearch of a private stack"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults" in str(item.path):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def fault_settings() -> FaultSettings:
    return FaultSettings()


def stack_settings(faults: FaultSettings) -> StackSettings:
    return StackSettings(
        state_dir=faults.state_dir,
        kafka_port=faults.kafka_port,
        kafka_controller_port=faults.kafka_controller_port,
        es_port=faults.es_port,
        es_transport_port=faults.es_transport_port,
        es_cluster_name="newswire-faults",
        kafka_num_partitions=4,
        # Restarts happen under load (the pipeline catching up, other test suites): be patient.
        es_start_timeout=300,
        kafka_start_timeout=240,
    )


def wipe_data(paths: StackPaths) -> None:
    """Forget every topic, offset and document; keep the downloaded artifacts and the ES install."""
    for path in (paths.kafka_data, paths.es_data, paths.root / "run", paths.root / "enrich-data"):
        shutil.rmtree(path, ignore_errors=True)
    for log in paths.logs.glob("*.log"):
        with contextlib.suppress(OSError):
            log.unlink()


@pytest.fixture(scope="session")
def fault_stack(fault_settings: FaultSettings) -> Iterator[FaultStack]:
    """A freshly wiped private stack, brought down again at the end of the session."""
    from services.stack import pipeline

    settings = stack_settings(fault_settings)
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    # A service stopped right after a member was SIGKILLed may wait out LeaveGroup (about 30 s).
    pipeline.stop(paths.root, timeout=120)
    down(settings)
    wipe_data(paths)
    up(settings)
    stack = FaultStack(settings, fault_settings, paths)
    try:
        yield stack
    finally:
        pipeline.stop(paths.root, timeout=120)
        down(settings)
