"""The faust wiring: configuration, the event conversion, and delivery with its fallbacks."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from pydantic import SecretStr

from schemas.dead_letter import DeadLetter
from schemas.topics import TOPICS
from services.enrich import app as enrich_app
from services.enrich.handler import process_event
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings
from services.runtime.worker import RetryPolicy
from tests.unit.enrich.factories import ingested_event, record_of


def test_app_is_configured_for_raw_bytes_durability_and_the_configured_partitions() -> None:
    conf = enrich_app.app.conf
    assert conf.id == enrich_app.settings.app_id
    assert conf.topic_partitions == enrich_app.settings.topics.partitions
    assert conf.producer_acks == -1
    assert conf.consumer_auto_offset_reset == "earliest"
    assert conf.web_enabled is enrich_app.settings.web_enabled
    assert conf.web_bind == conf.web_host == enrich_app.settings.web_host
    assert conf.topic_disable_leader is True
    # Otherwise faust holds sends made inside the agent until commit: awaiting one would not mean "in Kafka".
    assert conf.stream_publish_on_commit is False
    assert str(conf.store) == "memory:"
    assert (conf.key_serializer, conf.value_serializer) == ("raw", "raw")


def test_unprefixed_faust_variables_cannot_reconfigure_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODUCER_ACKS", "0")
    monkeypatch.setenv("NEWSWIRE_ENRICH_FAUST_BROKER_COMMIT_INTERVAL", "9.5")
    assert faust.App("env-unprefixed", producer_acks=-1).conf.producer_acks == 0  # the pitfall
    conf = faust.App("env-prefixed", producer_acks=-1, env_prefix="NEWSWIRE_ENRICH_FAUST_").conf
    assert conf.producer_acks == -1
    assert conf.broker_commit_interval == 9.5
    assert enrich_app.app.conf._env_prefix == "NEWSWIRE_ENRICH_FAUST_"


def test_topics_are_the_pipelines_and_not_faust_internal() -> None:
    topics = (enrich_app.ingested_topic, enrich_app.enriched_topic, enrich_app.dlq_topic)
    assert [t.get_topic_name() for t in topics] == [TOPICS.ingested, TOPICS.enriched, TOPICS.dlq]
    assert not any(t.internal for t in topics)
    assert enrich_app.enrich_articles.channel is enrich_app.ingested_topic


def test_message_from_event_keeps_position_key_value_and_headers() -> None:
    raw = SimpleNamespace(
        topic=TOPICS.ingested,
        partition=3,
        offset=42,
        key=b"key",
        value=b"value",
        headers=[(TRACE_HEADER, b"t"), ("empty", None)],
        timestamp=1_720_000_000.5,
    )
    message = enrich_app.message_from_event(SimpleNamespace(message=raw))  # type: ignore[arg-type]
    assert (message.topic, message.partition, message.offset) == (TOPICS.ingested, 3, 42)
    assert (message.key, message.value) == (b"key", b"value")
    assert message.headers == {TRACE_HEADER: b"t", "empty": b""}
    assert message.timestamp_ms == 1_720_000_000_500


class FakeTopic:
    """Records sends; raises the queued errors first, one per send."""

    def __init__(self, errors: list[Exception] | None = None) -> None:
        self.errors = list(errors or [])
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> asyncio.Future[None]:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(kwargs)
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged


@pytest.fixture
def fake_topics(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeTopic]:
    fakes = {TOPICS.enriched: FakeTopic(), TOPICS.dlq: FakeTopic()}
    monkeypatch.setattr(enrich_app, "output_topics", fakes)
    monkeypatch.setattr(enrich_app, "RetryPolicy", lambda: RetryPolicy(initial_s=0.001, max_s=0.001))
    return fakes


def test_deliver_sends_the_record_with_its_key_and_headers(fake_topics: dict[str, FakeTopic]) -> None:
    message = record_of(ingested_event())
    [record] = process_event(message, 1000)
    asyncio.run(enrich_app.deliver(message, record))
    [sent] = fake_topics[TOPICS.enriched].sent
    assert sent == {"key": record.key, "value": record.value, "headers": list(record.headers)}


def test_deliver_retries_while_kafka_is_unavailable(fake_topics: dict[str, FakeTopic]) -> None:
    fake_topics[TOPICS.enriched].errors = [KafkaConnectionError(), KafkaConnectionError()]
    message = record_of(ingested_event())
    [record] = process_event(message, 1000)
    asyncio.run(enrich_app.deliver(message, record))
    assert len(fake_topics[TOPICS.enriched].sent) == 1


def test_an_output_too_large_for_kafka_is_dead_lettered(fake_topics: dict[str, FakeTopic]) -> None:
    fake_topics[TOPICS.enriched].errors = [MessageSizeTooLargeError()]
    message = record_of(ingested_event())
    [record] = process_event(message, 1000)
    asyncio.run(enrich_app.deliver(message, record))
    assert fake_topics[TOPICS.enriched].sent == []
    [sent] = fake_topics[TOPICS.dlq].sent
    assert DeadLetter.model_validate_json(sent["value"]).reason == "output_too_large"


def test_a_dead_letter_too_large_for_kafka_is_sent_again_smaller_not_skipped(
    fake_topics: dict[str, FakeTopic],
) -> None:
    fake_topics[TOPICS.dlq].errors = [MessageSizeTooLargeError(), MessageSizeTooLargeError()]
    message = record_of({"not": "an event"})
    [letter] = process_event(message, 1000)
    asyncio.run(enrich_app.deliver(message, letter))
    [sent] = fake_topics[TOPICS.dlq].sent
    smaller = DeadLetter.model_validate_json(sent["value"])
    assert smaller.reason == "validation_failed" and "minimal dead letter" in smaller.detail
    assert smaller.payload_size == len(message.value or b"")


def test_broker_credentials_follow_the_shared_kafka_settings() -> None:
    assert enrich_app.broker_credentials(KafkaSettings(security_protocol="PLAINTEXT")) is None
    sasl = enrich_app.broker_credentials(
        KafkaSettings(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-256",
            sasl_username="enrich",
            sasl_password=SecretStr("secret"),
        )
    )
    assert isinstance(sasl, faust.SASLCredentials)
    assert (sasl.username, sasl.password, sasl.mechanism.value) == ("enrich", "secret", "SCRAM-SHA-256")
    assert isinstance(
        enrich_app.broker_credentials(KafkaSettings(security_protocol="SSL")), faust.SSLCredentials
    )
