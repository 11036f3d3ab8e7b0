"""Kafka chores of the benchmark: fresh topics, offsets, lag, reading and writing whole topics."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.structs import OffsetAndMetadata, TopicPartition

log = logging.getLogger(__name__)


def reset_topics(
    bootstrap: str, topics: Mapping[str, int], timeout_s: float = 60.0, replication_factor: int = 1
) -> None:
    """Delete ``topics`` if they exist and create them empty with the given partition counts."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-topics")
    try:
        existing = set(admin.list_topics()) & set(topics)
        if existing:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(sorted(existing))
        deadline = time.monotonic() + timeout_s
        while set(admin.list_topics()) & set(topics):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {sorted(existing)} were not deleted within {timeout_s:.0f}s")
            time.sleep(0.2)
        while True:
            try:
                admin.create_topics(
                    [NewTopic(name, partitions, replication_factor) for name, partitions in topics.items()],
                    validate_only=False,
                )
                break
            except TopicAlreadyExistsError:
                # A deleted topic can linger in the controller for a moment after leaving the list.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        while True:
            described = admin.describe_topics(list(topics))
            counts = {
                str(entry.get("name") or entry.get("topic")): len(entry.get("partitions") or ())
                for entry in described
            }
            if all(counts.get(name) == partitions for name, partitions in topics.items()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not ready within {timeout_s:.0f}s: {counts}")
            time.sleep(0.2)
    finally:
        admin.close()


class OffsetReader:
    """End offsets and consumer-group lag, with long-lived clients (it is polled several times a second)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-offsets")
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-lag")
        self._partitions: dict[str, list[TopicPartition]] = {}

    def partitions(self, topic: str) -> list[TopicPartition]:
        if topic not in self._partitions:
            found = sorted(self._consumer.partitions_for_topic(topic) or ())
            if not found:
                return []
            self._partitions[topic] = [TopicPartition(topic, p) for p in found]
        return self._partitions[topic]

    def end_offsets(self, topic: str) -> dict[int, int]:
        partitions = self.partitions(topic)
        if not partitions:
            return {}
        return {tp.partition: offset for tp, offset in self._consumer.end_offsets(partitions).items()}

    def total(self, topic: str) -> int:
        """Records ever written to ``topic`` (the sum of its end offsets)."""
        return sum(self.end_offsets(topic).values())

    def committed(self, group: str, topic: str) -> dict[int, int]:
        offsets = self._admin.list_group_offsets({group: None}).get(group, {})
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == topic and meta.offset >= 0
        }

    def lag(self, group: str, topic: str) -> int:
        committed = self.committed(group, topic)
        return sum(end - committed.get(p, 0) for p, end in self.end_offsets(topic).items())

    def group_has_partitions(self, group: str) -> bool:
        """True once ``group`` is Stable with partitions assigned to a member (its consumers joined)."""
        described = self._admin.describe_groups([group]).get(group) or {}
        if described.get("group_state") != "Stable":
            return False
        for member in described.get("members") or ():
            for topic in (member.get("member_assignment") or {}).get("assigned_partitions") or ():
                if topic.get("partitions"):
                    return True
        return False

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()


def commit_to_end(bootstrap: str, group: str, topics: Sequence[str]) -> None:
    """Make ``group`` start at the current end of ``topics``: what is already there is not its input."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, client_id="bench-seek"
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
    finally:
        consumer.close(autocommit=False)


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def read_topic(
    bootstrap: str, topic: str, limit: int | None = None, timeout_s: float = 120.0
) -> list[Record]:
    """Every record on ``topic`` (at most ``limit``), read without a consumer group."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="bench-reader",
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        max_poll_records=2000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        wanted = sum(ends.values()) if limit is None else min(limit, sum(ends.values()))
        records: list[Record] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < wanted and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(
                    Record(r.key, r.value, tuple((k, v or b"") for k, v in (r.headers or []))) for r in batch
                )
        return records[:wanted]
    finally:
        consumer.close(autocommit=False)


def produce_all(bootstrap: str, topic: str, records: Iterable[Record], **overrides: Any) -> int:
    """Write ``records`` to ``topic`` as fast as the broker takes them; return how many were acked."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "bench-producer",
        "acks": "all",
        "linger_ms": 20,
        "batch_size": 512 * 1024,
        "max_request_size": 16 * 1024 * 1024,
        # Uncompressed, like the enrich service's producer (faust's default): the index service reads
        # articles.enriched as enrich writes it, not as the benchmark could.
        "compression_type": None,
    }
    config.update(overrides)
    producer = KafkaProducer(**config)
    futures = []
    try:
        for record in records:
            futures.append(
                producer.send(topic, key=record.key, value=record.value, headers=list(record.headers))
            )
        producer.flush(timeout=300)
    finally:
        producer.close(timeout=30)
    failed = [f for f in futures if not f.succeeded()]
    if failed:
        raise KafkaError(f"{len(failed)} of {len(futures)} records to {topic} were not acknowledged")
    return len(futures)
