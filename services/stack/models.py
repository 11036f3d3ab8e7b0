"""Results returned by up/down/status (no printing anywhere in the library)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field

Action = Literal["started", "already-running", "stopped", "not-running", "none"]


class ComponentStatus(BaseModel):
    name: Literal["kafka", "elasticsearch"]
    #: 1-based node number (Kafka node.id; ES node ``<cluster>-<node>``)
    node: int = 1
    address: str
    #: something answers on the component's port
    running: bool = False
    #: the component answered a real client request (Kafka metadata / ES cluster health)
    healthy: bool = False
    #: a live process started by this manager (from its pidfile)
    managed: bool = False
    pid: int | None = None
    version: str | None = None
    log_path: Path | None = None
    #: what the last up/down call did for this component
    action: Action = "none"
    #: seconds spent in up() on this component (start + health wait); 0 when already running
    startup_seconds: float | None = None
    detail: str | None = None
    extra: dict[str, object] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """``kafka`` / ``elasticsearch`` for node 1, ``kafka-2`` ... for the others (as the node's files)."""
        return self.name if self.node == 1 else f"{self.name}-{self.node}"


class UnderReplicatedPartition(BaseModel):
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


class KafkaClusterStatus(BaseModel):
    """The Kafka cluster as its brokers describe it (None fields: no broker answered)."""

    cluster_id: str | None = None
    #: node.id of the active KRaft controller (the metadata quorum's leader)
    controller: int | None = None
    #: node ids of the brokers registered in the metadata
    brokers: list[int] = Field(default_factory=list)
    under_replicated: list[UnderReplicatedPartition] = Field(default_factory=list)
    #: partitions without a leader (every replica down)
    offline_partitions: int = 0
    detail: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def under_replicated_count(self) -> int:
        return len(self.under_replicated)


class EsClusterStatus(BaseModel):
    """``_cluster/health`` (None fields: no node answered) plus the names of the joined nodes."""

    cluster_name: str | None = None
    status: str | None = None
    number_of_nodes: int = 0
    unassigned_shards: int = 0
    active_shards: int = 0
    nodes: list[str] = Field(default_factory=list)
    master: str | None = None
    detail: str | None = None


class StackStatus(BaseModel):
    state_dir: Path
    #: node 1 of each (the whole single-node stack, as before clusters)
    kafka: ComponentStatus
    elasticsearch: ComponentStatus
    #: every Kafka node, node 1 first
    brokers: list[ComponentStatus] = Field(default_factory=list)
    #: every Elasticsearch node, node 1 first
    es_nodes: list[ComponentStatus] = Field(default_factory=list)
    kafka_cluster: KafkaClusterStatus | None = None
    es_cluster: EsClusterStatus | None = None
    #: phase -> seconds (artifacts, unpack, plugin, kafka, elasticsearch, total) for up()
    timings: dict[str, float] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.components)

    @property
    def components(self) -> list[ComponentStatus]:
        return [*(self.brokers or [self.kafka]), *(self.es_nodes or [self.elasticsearch])]
