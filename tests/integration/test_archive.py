"""``articles.ingested`` is the archive: compacted by article id, kept forever, migrated in place.

The compaction test uses a private topic with the archive's configs, except that its segments roll
and become cleanable within a second, so the broker's log cleaner (it wakes every 15 s by default)
compacts it within the test.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from schemas.topics import TOPIC_CONFIGS, TOPICS
from services.runtime.kafka import ensure_topic_configs, ensure_topics, pipeline_topics
from services.runtime.settings import KafkaSettings, TopicSettings

COMPACTED_WITHIN_S = 120.0
#: The archive's configs, made to compact at once: tiny segments that roll after 200 ms, cleanable
#: as soon as a hundredth of the log is superseded, and no minimum age.
FAST_COMPACTION = {
    **TOPIC_CONFIGS[TOPICS.ingested],
    "segment.ms": "200",
    "segment.bytes": "2048",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
}


def topic_configs(settings: KafkaSettings, topic: str) -> dict[str, str | None]:
    admin = KafkaAdminClient(**settings.client_config(), client_id="test-archive")
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    finally:
        admin.close()
    return {key: entry["value"] for key, entry in described["topic"][topic].items()}


def read_from_start(settings: KafkaSettings, topic: str) -> list[tuple[bytes, bytes]]:
    consumer = KafkaConsumer(
        topic,
        **settings.client_config(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [(record.key, record.value) for record in consumer]
    finally:
        consumer.close()


def publish(settings: KafkaSettings, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(**settings.client_config(), acks="all", linger_ms=0)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()


def subset(configs: Mapping[str, str | None], keys: Mapping[str, str]) -> dict[str, str | None]:
    return {key: configs.get(key) for key in keys}


def test_after_compaction_every_article_keeps_its_newest_revision_and_only_that() -> None:
    settings = KafkaSettings()
    run = uuid.uuid4().hex[:10]
    topic = f"test-archive-{run}"
    ensure_topics(settings, {topic: 1}, configs={topic: FAST_COMPACTION})
    revisions = 4
    articles = [f"article-{run}-{n}".encode() for n in range(6)]
    # Revisions interleaved as they arrive in real life; each a few hundred bytes, so several
    # segments roll (2 KiB each) and the older revisions land in segments the cleaner may clean.
    for revision in range(1, revisions + 1):
        publish(
            settings, topic, [(key, b"revision %d of %s " % (revision, key) + b"x" * 300) for key in articles]
        )
        time.sleep(0.3)
    # A later record rolls the segment holding the newest revisions: the active one is never cleaned.
    time.sleep(0.5)
    publish(settings, topic, [(f"roll-{run}".encode(), b"rolls the segment")])
    newest = {key: b"revision %d of %s " % (revisions, key) + b"x" * 300 for key in articles}

    deadline = time.monotonic() + COMPACTED_WITHIN_S
    while True:
        records = [(key, value) for key, value in read_from_start(settings, topic) if key in newest]
        if len(records) == len(articles) or time.monotonic() > deadline:
            break
        time.sleep(3.0)
    assert len(records) < revisions * len(articles), "the log cleaner never compacted the topic"
    assert sorted(records) == sorted(newest.items())


def test_the_archive_refuses_records_without_a_key() -> None:
    settings = KafkaSettings()
    topic = f"test-archive-keyless-{uuid.uuid4().hex[:10]}"
    ensure_topics(settings, {topic: 1}, configs={topic: TOPIC_CONFIGS[TOPICS.ingested]})
    producer = KafkaProducer(**settings.client_config(), acks="all", retries=0)
    try:
        with pytest.raises(KafkaError):
            producer.send(topic, key=None, value=b"no article id").get(timeout=30)
        producer.send(topic, key=b"an-article-id", value=b"an article").get(timeout=30)
    finally:
        producer.close()


def test_an_existing_topic_with_the_old_configs_is_migrated_in_place_keeping_its_other_configs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = KafkaSettings()
    topic = f"test-archive-migrate-{uuid.uuid4().hex[:10]}"
    # How articles.ingested was created before it became the archive, plus an operator's own tweak.
    ensure_topics(
        settings,
        {topic: 2},
        configs={topic: {"cleanup.policy": "delete", "retention.ms": "604800000", "flush.messages": "5000"}},
    )
    publish(settings, topic, [(b"kept-" + topic.encode(), b"written before the migration")])
    wanted = TOPIC_CONFIGS[TOPICS.ingested]
    assert subset(topic_configs(settings, topic), wanted) != dict(wanted)

    with caplog.at_level(logging.WARNING, logger="services.runtime.kafka"):
        counts = ensure_topics(settings, {topic: 2}, configs={topic: wanted})
    after = topic_configs(settings, topic)
    assert subset(after, wanted) == dict(wanted)
    assert after["flush.messages"] == "5000", "the migration reset a config it was not asked to change"
    assert counts == {topic: 2}
    migrated = [r for r in caplog.records if r.getMessage() == "topic configs migrated in place"]
    assert [r.topic for r in migrated] == [topic]  # type: ignore[attr-defined]
    assert migrated[0].changes["cleanup.policy"] == "delete -> compact"  # type: ignore[attr-defined]
    assert read_from_start(settings, topic) == [(b"kept-" + topic.encode(), b"written before the migration")]
    # Once migrated, nothing is left to change.
    assert ensure_topic_configs(settings, {topic: wanted}) == {}


def test_the_pipeline_topics_have_their_configs() -> None:
    settings = KafkaSettings()
    ensure_topics(settings, pipeline_topics(TopicSettings()))
    for topic in TOPICS.all():
        wanted = TOPIC_CONFIGS[topic]
        assert subset(topic_configs(settings, topic), wanted) == dict(wanted), topic
