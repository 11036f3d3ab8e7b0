"""Wiring of the alert service: settings -> clients -> indices -> worker."""

from __future__ import annotations

import logging
import time

from elastic_transport import TransportError
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch

from schemas.dead_letter import FailureStage
from services.alert.handler import AlertHandler
from services.alert.matching import AlertArchive, WatchCache
from services.alert.settings import Settings
from services.alert.webhooks import Backoff, WebhookSender
from services.runtime.diagnose import explain_es_refusal
from services.runtime.kafka import (
    ensure_topics,
    make_consumer,
    make_producer,
    pipeline_topics,
    wait_for_broker,
)
from services.runtime.service import run_service
from services.runtime.settings import ElasticsearchSettings, load_settings
from services.runtime.worker import RetryPolicy, Worker
from services.watches.settings import WatchStoreSettings
from services.watches.store import WatchStore

SERVICE = "alert"

log = logging.getLogger(__name__)


def wait_for_elasticsearch(settings: ElasticsearchSettings, es: Elasticsearch, index: str) -> None:
    """Block until Elasticsearch answers (an index lookup: the service's key needs no cluster
    privilege), or raise after ``startup_timeout_s``; refused credentials raise at once."""
    deadline = time.monotonic() + settings.startup_timeout_s
    pause = 0.5
    while True:
        try:
            es.options(request_timeout=5.0).indices.exists(index=index)
            return
        except (AuthenticationException, AuthorizationException) as exc:
            line = explain_es_refusal(settings.url, settings.ca_certs, exc)
            raise PermissionError(
                line or f"Elasticsearch at {settings.url} refused our credentials: {exc}"
            ) from exc
        except (ApiError, TransportError) as exc:
            untrusted = explain_es_refusal(settings.url, settings.ca_certs, exc)
            if untrusted is not None:  # a certificate waiting does not fix
                raise PermissionError(untrusted) from exc
            if time.monotonic() + pause > deadline:
                raise TimeoutError(
                    f"Elasticsearch at {settings.url} did not answer within "
                    f"{settings.startup_timeout_s:.0f}s: {exc}"
                ) from exc
            log.info("waiting for Elasticsearch", extra={"url": settings.url, "error": str(exc)})
            time.sleep(pause)
            pause = min(5.0, pause * 2)


def build_handler(settings: Settings, es: Elasticsearch) -> AlertHandler:
    archive = AlertArchive(
        es,
        alias=settings.alias,
        sent_index=settings.sent_index,
        searches_per_request=settings.searches_per_request,
        index_wait_s=settings.index_wait_s,
        index_poll_s=settings.index_poll_s,
    )
    archive.ensure_sent_index()
    store = WatchStore(WatchStoreSettings(index=settings.watches_index, articles=settings.alias), client=es)
    sender = WebhookSender(
        Backoff(settings.webhook_attempts, settings.webhook_initial_s, settings.webhook_max_s),
        timeout_s=settings.webhook_timeout_s,
    )
    return AlertHandler(
        archive,
        WatchCache(store, settings.watches_refresh_s),
        sender,
        output_topic=settings.output_topic,
        webhook_parallel=settings.webhook_parallel,
        dlq_payload_max_bytes=settings.dlq_payload_max_bytes,
    )


def build_worker(settings: Settings) -> Worker:
    """Connect to Kafka and Elasticsearch, make sure topics and the sent-alerts index exist."""
    wait_for_broker(settings.kafka)
    es_settings = settings.elasticsearch_settings()
    es = Elasticsearch(**es_settings.client_kwargs())
    wait_for_elasticsearch(es_settings, es, settings.sent_index)
    ensure_topics(
        settings.kafka,
        {settings.input_topic: settings.topics.partitions, settings.output_topic: settings.topics.partitions}
        | pipeline_topics(settings.topics),
        settings.topics.replication_factor,
    )
    handler = build_handler(settings, es)
    client_id = settings.client_id or f"newswire-{SERVICE}"
    consumer = make_consumer(
        settings.kafka,
        settings.group_id,
        [settings.input_topic],
        client_id,
        max_poll_records=settings.max_batch,
        # Waiting a little for a fuller batch costs nothing here (matching waits for the index's
        # refresh anyway) and saves one search per watch per batch.
        fetch_min_bytes=64 * 1024,
        fetch_max_wait_ms=500,
    )
    producer = make_producer(settings.kafka, client_id)

    def close() -> None:
        handler.close()
        es.close()

    return Worker(
        name=SERVICE,
        stage=FailureStage.ALERT,
        handler=handler,
        consumer=consumer,
        producer=producer,
        max_batch=settings.max_batch,
        dlq_payload_max_bytes=settings.dlq_payload_max_bytes,
        retry=RetryPolicy(settings.retry_initial_s, settings.retry_max_s),
        on_acknowledged=handler.acknowledged,
        on_stop=close,
    )


def main() -> None:
    settings = load_settings(Settings)
    run_service(
        SERVICE,
        Settings,
        build_worker,
        group_id=lambda loaded: loaded.group_id,
        input_topic=settings.input_topic,
        startup_errors=(ApiError,),
    )
