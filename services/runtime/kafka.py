"""Kafka clients built from settings, topic creation, and bounded waits for the broker."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError

from services.runtime.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)


def make_producer(settings: KafkaSettings, client_id: str, **overrides: Any) -> KafkaProducer:
    """A producer that does not lose acknowledged messages: all in-sync replicas ack, retries on."""
    config: dict[str, Any] = {
        **settings.client_config(),
        "client_id": client_id,
        "acks": "all",
        "retries": 10,
        "linger_ms": 5,
        "compression_type": "gzip",
        "max_request_size": 16 * 1024 * 1024,
        "max_in_flight_requests_per_connection": 1,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(
    settings: KafkaSettings, group_id: str, topics: list[str], client_id: str, **overrides: Any
) -> KafkaConsumer:
    """A consumer whose offsets move only when the worker loop commits them."""
    config: dict[str, Any] = {
        **settings.client_config(),
        "client_id": client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 200,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "fetch_max_bytes": 64 * 1024 * 1024,
    }
    config.update(overrides)
    consumer = KafkaConsumer(**config)
    consumer.subscribe(topics)
    return consumer


def wait_for_broker(settings: KafkaSettings) -> None:
    """Block until the broker answers a metadata request, or raise after ``startup_timeout_s``."""
    deadline = time.monotonic() + settings.startup_timeout_s
    delay = 0.5
    while True:
        try:
            admin = KafkaAdminClient(**settings.client_config(), client_id="newswire-wait")
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (NoBrokersAvailable, KafkaError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Kafka at {settings.bootstrap_servers} did not answer within "
                    f"{settings.startup_timeout_s:.0f}s: {exc}"
                ) from exc
            log.info("waiting for Kafka", extra={"bootstrap": settings.bootstrap_servers, "error": str(exc)})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def ensure_topics(
    settings: KafkaSettings, topics: Mapping[str, int], replication_factor: int = 1
) -> dict[str, int]:
    """Create missing topics with the given partition counts; return every topic's partition count.

    Existing topics are left as they are (partitions are never silently changed).
    """
    admin = KafkaAdminClient(**settings.client_config(), client_id="newswire-topics")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=replication_factor)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing, validate_only=False)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another service: fine
            log.info("created topics", extra={"topics": [t.name for t in missing]})
        described = admin.describe_topics(list(topics))
        return {entry["topic"]: len(entry["partitions"]) for entry in described}
    finally:
        admin.close()


def pipeline_topics(topic_settings: TopicSettings) -> dict[str, int]:
    """Every pipeline topic with the configured partition count."""
    from schemas.topics import TOPICS

    return {name: topic_settings.partitions for name in TOPICS.all()}
