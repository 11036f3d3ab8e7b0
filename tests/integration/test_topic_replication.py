"""ensure_topics on the real broker: min.insync.replicas follows each topic's replication factor, an
existing topic keeps its partitions and a warning says when it has fewer than wanted."""

from __future__ import annotations

import logging
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from schemas import topics as schemas_topics
from schemas.topics import TOPICS, min_insync_replicas
from services.runtime import kafka as runtime_kafka
from services.runtime.kafka import ensure_topics
from services.runtime.settings import KafkaSettings

pytestmark = pytest.mark.integration


def replication_factors(settings: KafkaSettings, topics: list[str]) -> dict[str, int]:
    admin = KafkaAdminClient(**settings.client_config(), client_id="test-topic-replication")
    try:
        return runtime_kafka._replication_factors(admin, topics)
    finally:
        admin.close()


def described(settings: KafkaSettings, topic: str) -> dict[str, dict[str, object]]:
    admin = KafkaAdminClient(**settings.client_config(), client_id="test-topic-replication")
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    finally:
        admin.close()
    entries: dict[str, dict[str, object]] = found["topic"][topic]
    return entries


def test_a_pipeline_topic_gets_min_insync_replicas_for_its_replication_factor_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A private topic standing in for a pipeline topic (its configs are articles.raw's)."""
    settings = KafkaSettings()
    topic = f"test-topic-replication-{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(schemas_topics, "TOPIC_CONFIGS", {topic: schemas_topics.TOPIC_CONFIGS[TOPICS.raw]})

    ensure_topics(settings, {topic: 1})

    (factor,) = replication_factors(settings, [topic]).values()
    wanted = str(min_insync_replicas(factor))
    created = described(settings, topic)["min.insync.replicas"]
    assert (created["value"], created["config_source"]) == (wanted, "DYNAMIC_TOPIC_CONFIG"), (
        "set on the topic"
    )

    # Someone changes it by hand: the next start puts it back, in place.
    admin = KafkaAdminClient(**settings.client_config(), client_id="test-topic-replication")
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"min.insync.replicas": "3"})
        admin.alter_configs([resource], incremental=True)
    finally:
        admin.close()
    assert described(settings, topic)["min.insync.replicas"]["value"] == "3"

    ensure_topics(settings, {topic: 1})

    assert described(settings, topic)["min.insync.replicas"]["value"] == wanted


def test_an_existing_topic_keeps_fewer_partitions_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    settings = KafkaSettings()
    topic = f"test-topic-replication-{uuid.uuid4().hex[:10]}"
    assert ensure_topics(settings, {topic: 2}) == {topic: 2}

    with caplog.at_level(logging.WARNING, logger="services.runtime.kafka"):
        counts = ensure_topics(settings, {topic: 6})

    assert counts == {topic: 2}, "partitions are never added behind the consumers' back"
    (warning,) = [record for record in caplog.records if "fewer partitions" in record.getMessage()]
    assert warning.__dict__["topics"] == {topic: "2 < 6"}
    with caplog.at_level(logging.WARNING, logger="services.runtime.kafka"):
        caplog.clear()
        ensure_topics(settings, {topic: 2})
    assert not [record for record in caplog.records if "fewer partitions" in record.getMessage()]
