"""Wiring the ingest handler to Kafka: topics, clients and the worker loop."""

from __future__ import annotations

import logging
import signal
from types import FrameType

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
from services.runtime.logging import configure_logging
from services.runtime.metrics import serve as serve_metrics
from services.runtime.settings import load_settings
from services.runtime.worker import Worker, run_forever

log = logging.getLogger(__name__)


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
    settings = load_settings(Settings)
    configure_logging(PRODUCER, settings.log_level, settings.log_json)
    if settings.metrics_port:
        serve_metrics(
            PRODUCER,
            settings.metrics_host,
            settings.metrics_port,
            kafka=settings.kafka,
            group_id=settings.group_id,
            input_topic=TOPICS.raw,
        )
    log.info(
        "ingest starting",
        extra={"bootstrap": settings.kafka.bootstrap_servers, "group_id": settings.group_id},
    )
    # The worker installs its graceful handlers once built; a stop request while waiting for the
    # broker has nothing to finish, so it just exits cleanly.
    signal.signal(signal.SIGTERM, _exit_before_start)
    signal.signal(signal.SIGINT, _exit_before_start)
    run_forever(lambda: build_worker(settings))


def _exit_before_start(signum: int, _frame: FrameType | None) -> None:
    log.info("stopped before the worker started", extra={"signal": signum})
    raise SystemExit(0)
