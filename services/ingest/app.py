"""Wiring the ingest handler to Kafka: topics, clients and the worker loop."""

from __future__ import annotations

from schemas.dead_letter import FailureStage
from schemas.topics import TOPICS
from services.ingest.handler import PRODUCER, IngestHandler
from services.ingest.settings import Settings
from services.runtime.kafka import (
    ensure_topics,
    make_consumer,
    make_producer,
    pipeline_topics,
    wait_for_broker,
)
from services.runtime.service import run_service
from services.runtime.worker import Worker


def build_worker(settings: Settings) -> Worker:
    """Wait for the broker, make sure the topics exist, and connect a worker to ``articles.raw``."""
    wait_for_broker(settings.kafka)
    ensure_topics(settings.kafka, pipeline_topics(settings.topics), settings.topics.replication_factor)
    consumer = make_consumer(settings.kafka, settings.group_id, [TOPICS.raw], client_id=settings.client_id)
    producer = make_producer(settings.kafka, client_id=settings.client_id)
    return Worker(
        name=PRODUCER,
        stage=FailureStage.INGEST,
        handler=IngestHandler(max_message_bytes=settings.max_message_bytes),
        consumer=consumer,
        producer=producer,
        max_batch=settings.max_batch,
        poll_timeout_ms=settings.poll_timeout_ms,
        dlq_payload_max_bytes=settings.dlq_payload_max_bytes,
    )


def main() -> None:
    run_service(
        PRODUCER, Settings, build_worker, group_id=lambda settings: settings.group_id, input_topic=TOPICS.raw
    )
