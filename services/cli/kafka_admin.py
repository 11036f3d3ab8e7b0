"""Short, read-only questions to the broker: which topics exist, how many partitions, end offsets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from services.runtime.settings import KafkaSettings

#: A person waiting at a terminal should learn quickly that the broker is not there.
CONNECT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    internal: bool = False
    end_offsets: dict[int, int] = field(default_factory=dict)

    @property
    def messages_written(self) -> int:
        """Sum of the partitions' end offsets: records ever written (retention may have removed some)."""
        return sum(self.end_offsets.values())


def quick_client_config(settings: KafkaSettings) -> dict[str, Any]:
    return {**settings.client_config(), "bootstrap_timeout_ms": CONNECT_TIMEOUT_MS}


def existing_topics(settings: KafkaSettings) -> set[str]:
    """Topic names on the broker, asked without side effects (a producer's lookup could auto-create one)."""
    admin = KafkaAdminClient(**quick_client_config(settings), client_id="newswire-cli")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def describe_topics(settings: KafkaSettings, names: list[str] | None = None) -> list[TopicInfo]:
    """Partition counts and end offsets of the named topics (all topics when ``names`` is None), by name."""
    admin = KafkaAdminClient(**quick_client_config(settings), client_id="newswire-cli")
    try:
        wanted = sorted(names if names is not None else admin.list_topics())
        described = admin.describe_topics(wanted) if wanted else []
    finally:
        admin.close()
    partitions = {
        entry["name"]: (
            [p["partition_index"] for p in entry["partitions"]],
            bool(entry.get("is_internal")),
        )
        for entry in described
        if entry.get("error_code", 0) == 0
    }
    offsets: dict[TopicPartition, int] = {}
    topic_partitions = [
        TopicPartition(name, index) for name, (indexes, _) in partitions.items() for index in indexes
    ]
    if topic_partitions:
        consumer = KafkaConsumer(
            **quick_client_config(settings), client_id="newswire-cli", allow_auto_create_topics=False
        )
        try:
            offsets = consumer.end_offsets(topic_partitions)
        finally:
            consumer.close()
    return [
        TopicInfo(
            name=name,
            partitions=len(indexes),
            internal=internal,
            end_offsets={index: offsets.get(TopicPartition(name, index), 0) for index in sorted(indexes)},
        )
        for name, (indexes, internal) in sorted(partitions.items())
    ]
