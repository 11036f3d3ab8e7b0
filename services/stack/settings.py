"""Settings of the native stack (Kafka + Elasticsearch run as local processes).

Every field can be set from the environment with the prefix ``NEWSWIRE_STACK_``, e.g.
``NEWSWIRE_STACK_STATE_DIR=/var/lib/newswire`` or ``NEWSWIRE_STACK_ES_HEAP=2g``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import min_insync_replicas
from services.runtime.settings import TopicSettings

#: The repository root: the parent of ``services/``.
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Partitions of the pipeline's topics: the services' own default (room for six workers per service).
PIPELINE_PARTITIONS: int = TopicSettings.model_fields["partitions"].default

_DEFAULT_JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")


def default_java_home() -> Path:
    """``$JAVA_HOME`` if it holds a JDK, else Debian's Java 17, else the JDK of ``java`` on PATH."""
    env = os.environ.get("JAVA_HOME")
    if env and (Path(env) / "bin" / "java").exists():
        return Path(env)
    if (_DEFAULT_JAVA_17 / "bin" / "java").exists():
        return _DEFAULT_JAVA_17
    java = shutil.which("java")
    if java:
        return Path(java).resolve().parents[1]
    return _DEFAULT_JAVA_17


class StackSettings(BaseSettings):
    """Where the stack lives, which versions it runs and how it is reached."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_STACK_", extra="ignore")

    repo_root: Path = REPO_ROOT
    state_dir: Path = REPO_ROOT / ".state"
    #: Used instead of ``state_dir`` when the Elasticsearch user cannot reach ``state_dir``
    #: (e.g. the repository sits under a directory only root may enter).
    fallback_state_dir: Path = Path("/var/lib/newswire")

    # -- artifacts ---------------------------------------------------------------------------
    kafka_version: str = "3.9.1"
    es_version: str = "8.19.21"
    mvn: str = "mvn"
    #: Extra arguments for every Maven call (e.g. ``-o`` to force offline mode).
    mvn_args: list[str] = Field(default_factory=list)
    artifacts_timeout: float = 900.0

    # -- Java ----------------------------------------------------------------------------------
    java_home: Path = Field(default_factory=default_java_home)
    kafka_java_home: Path | None = None
    es_java_home: Path | None = None

    # -- topology --------------------------------------------------------------------------------
    #: KRaft nodes, each broker and controller (node i listens on ``kafka_port + 2*(i-1)``).
    kafka_brokers: int = Field(default=1, ge=1, le=9)
    #: Elasticsearch nodes, all master-eligible data nodes (node i on ``es_port + (i-1)``).
    es_nodes: int = Field(default=1, ge=1, le=9)

    # -- security ------------------------------------------------------------------------------
    #: Secure mode (``up --secure``): Kafka's client listener SASL_SSL + SCRAM-SHA-512 with ACLs per
    #: service, Elasticsearch with TLS, users, roles and API keys; secrets under ``<state>/secrets``.
    secure: bool = False

    # -- Kafka ---------------------------------------------------------------------------------
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    #: Secure mode only: the brokers' own (inter-broker, mTLS) listener, node i on
    #: ``kafka_broker_port + 2*(i-1)``; default ``kafka_port + 100`` (9192, 9194, ...), a range of its
    #: own beside the client (``kafka_port + 2*(i-1)``) and controller ports. The plain stack has none.
    kafka_broker_port: int | None = None
    kafka_heap: str = "512m"
    kafka_num_partitions: int = 1
    kafka_start_timeout: float = 90.0

    # -- Elasticsearch -------------------------------------------------------------------------
    es_host: str = "127.0.0.1"
    es_port: int = 9200
    es_transport_port: int = 9300
    es_cluster_name: str = "newswire"
    es_heap: str = "1g"
    es_start_timeout: float = 120.0
    #: System user that runs Elasticsearch when the manager runs as root (ES refuses root).
    es_user: str = "newswire"
    #: Extra ``elasticsearch.yml`` settings (rendered after the built-in ones, overriding them).
    es_extra_settings: dict[str, str | int | float | bool] = Field(default_factory=dict)
    #: Build and install the newswire-analysis plugin (deploy/analysis-plugin).
    es_install_analysis_plugin: bool = True

    # -- shutdown ------------------------------------------------------------------------------
    stop_timeout: float = 30.0

    @field_validator("state_dir", "fallback_state_dir", "repo_root")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    # -- derived -------------------------------------------------------------------------------
    @property
    def kafka_java(self) -> Path:
        return (self.kafka_java_home or self.java_home) / "bin" / "java"

    @property
    def es_java(self) -> Path:
        return self.es_java_home or self.java_home

    # per node (1-based): Kafka nodes take two ports each (client, controller), ES nodes one of each
    def kafka_port_of(self, node: int) -> int:
        return self.kafka_port + 2 * (node - 1)

    def kafka_controller_port_of(self, node: int) -> int:
        return self.kafka_controller_port + 2 * (node - 1)

    def kafka_broker_port_of(self, node: int) -> int:
        base = self.kafka_broker_port if self.kafka_broker_port is not None else self.kafka_port + 100
        return base + 2 * (node - 1)

    def kafka_address_of(self, node: int) -> str:
        return f"{self.kafka_host}:{self.kafka_port_of(node)}"

    def es_port_of(self, node: int) -> int:
        return self.es_port + (node - 1)

    def es_transport_port_of(self, node: int) -> int:
        return self.es_transport_port + (node - 1)

    def es_url_of(self, node: int) -> str:
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.es_host}:{self.es_port_of(node)}"

    def es_node_name(self, node: int) -> str:
        return f"{self.es_cluster_name}-{node}"

    @property
    def kafka_node_ids(self) -> list[int]:
        return list(range(1, self.kafka_brokers + 1))

    @property
    def es_node_ids(self) -> list[int]:
        return list(range(1, self.es_nodes + 1))

    @property
    def kafka_bootstrap(self) -> str:
        """Every broker, comma-joined (what clients get as bootstrap servers)."""
        return ",".join(self.kafka_address_of(node) for node in self.kafka_node_ids)

    @property
    def es_url(self) -> str:
        """Every ES node, comma-joined (``ElasticsearchSettings(url=...)`` splits on commas)."""
        return ",".join(self.es_url_of(node) for node in self.es_node_ids)

    @property
    def replication_factor(self) -> int:
        """Replication factor of the pipeline's topics on this stack: up to three copies."""
        return min(3, self.kafka_brokers)

    @property
    def min_insync_replicas(self) -> int:
        """The brokers' default for topics: the pipeline topics' own rule (``schemas.topics``)."""
        return min_insync_replicas(self.replication_factor)

    @property
    def es_replicas(self) -> int:
        """Replica shards of the index: one as soon as there is a second node to hold it."""
        return min(1, self.es_nodes - 1)

    def client_env(self, process: str = "operator") -> dict[str, str]:
        """The environment the services and the CLI need to use this stack (``newswire stack env``).

        Secure mode: with the credentials of ``process`` (a key of ``secure.clients.PROCESS_PRINCIPALS``).
        """
        env = {
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "NEWSWIRE_ES_URL": self.es_url,
            "NEWSWIRE_TOPICS_REPLICATION_FACTOR": str(self.replication_factor),
            "NEWSWIRE_TOPICS_PARTITIONS": str(PIPELINE_PARTITIONS),
            "NEWSWIRE_INDEX_NUMBER_OF_REPLICAS": str(self.es_replicas),
        }
        if self.secure:
            from .secure_mode import secure_client_env

            env.update(secure_client_env(self, process))
        return env

    @property
    def native_pom(self) -> Path:
        return self.repo_root / "deploy" / "native" / "pom.xml"

    @property
    def plugin_dir(self) -> Path:
        return self.repo_root / "deploy" / "analysis-plugin"
