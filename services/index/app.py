"""Wiring of the index service: settings -> clients -> bootstrap -> worker."""

from __future__ import annotations

from typing import cast

from elasticsearch import ApiError

from schemas.dead_letter import FailureStage
from services.index.bootstrap import ensure_index_when_ready, make_client
from services.index.handler import ElasticsearchBulk, IndexHandler
from services.index.refresh import CatchUpRefresh
from services.index.settings import Settings
from services.reprocess.modes import IndexRoute, index_route, load_run
from services.runtime.kafka import (
    ensure_topics,
    make_consumer,
    make_producer,
    pipeline_topics,
    wait_for_broker,
)
from services.runtime.metrics import LineageSampler
from services.runtime.service import run_service
from services.runtime.settings import load_settings
from services.runtime.worker import RetryPolicy, Worker

SERVICE = "index"


def route_of(settings: Settings) -> IndexRoute:
    """Live, or indexing a reprocess run's topic into its new index (services/reprocess)."""
    run = load_run(settings.reprocess_run, settings.elasticsearch) if settings.reprocess_run else None
    return index_route(settings.group_id, settings.input_topic, settings.alias, settings.next_alias, run)


def build_worker(settings: Settings, route: IndexRoute | None = None) -> Worker:
    """Connect to Kafka and Elasticsearch, make sure topics and index exist, and build the worker."""
    route = route or route_of(settings)
    wait_for_broker(settings.kafka)
    es = make_client(settings.elasticsearch)
    ensure_topics(
        settings.kafka,
        # The input too when it is not the pipeline's (a run's or a test's topic; no configs then).
        {route.input_topic: settings.topics.partitions} | pipeline_topics(settings.topics),
        settings.topics.replication_factor,
    )
    if route.bootstrap:
        ensure_index_when_ready(settings.elasticsearch, es)
        # The live service counts the documents per enricher version for /metrics (newswire status too).
        LineageSampler(es, route.alias).start()
    next_alias = route.next_alias
    catch_up = CatchUpRefresh(
        es.indices,
        alias=route.alias,
        catch_up_lag=settings.catch_up_lag,
        leave_below_lag=settings.max_batch,
        catch_up_interval=settings.catch_up_refresh_interval,
    )
    catch_up.restore_after_crash()
    handler = IndexHandler(
        # The client sends a pre-encoded NDJSON body as is (elastic_transport's NdjsonSerializer),
        # though its type hints only name lists of dicts.
        cast(ElasticsearchBulk, es),
        bulk_max_bytes=settings.bulk_max_bytes,
        parallel_requests=settings.parallel_requests,
        item_retry_attempts=settings.item_retry_attempts,
        item_retry=RetryPolicy(settings.item_retry_initial_s, settings.item_retry_max_s),
        alias=route.alias,
        next_alias=next_alias,
        next_alias_exists=(lambda: bool(es.indices.exists_alias(name=next_alias))) if next_alias else None,
        next_alias_check_s=settings.next_alias_check_s,
    )
    client_id = settings.client_id or f"newswire-{SERVICE}"
    consumer = make_consumer(
        settings.kafka,
        route.group_id,
        [route.input_topic],
        client_id,
        max_poll_records=settings.max_batch,
        # Prefetched records wait in memory while batches are in flight: fetch a batch's worth
        # (compressed), not the default 16/64 MiB. A bigger record still comes through whole.
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=8 * 1024 * 1024,
        # A broker-side linger: each bulk request and offset commit has a fixed cost in
        # Elasticsearch, the broker and here, which one document at a time pays per document.
        **fetch_linger(settings),
    )
    producer = make_producer(settings.kafka, client_id)
    return Worker(
        name=SERVICE,
        stage=FailureStage.INDEX,
        handler=handler,
        consumer=consumer,
        producer=producer,
        max_batch=settings.max_batch,
        dlq_payload_max_bytes=settings.dlq_payload_max_bytes,
        retry=RetryPolicy(settings.retry_initial_s, settings.retry_max_s),
        pipeline_depth=settings.pipeline_depth,
        lag_observer=catch_up.observe,
        on_stop=catch_up.leave,
    )


def fetch_linger(settings: Settings) -> dict[str, int]:
    """The consumer's fetch.min.bytes and fetch.max.wait.ms for ``linger_ms``."""
    if not settings.linger_ms:
        # Any record returns the fetch at once; the wait only bounds an empty long poll.
        return {"fetch_min_bytes": 1, "fetch_max_wait_ms": 500}
    return {"fetch_min_bytes": settings.linger_min_bytes, "fetch_max_wait_ms": settings.linger_ms}


def main() -> None:
    settings = load_settings(Settings)
    route = route_of(settings) if settings.reprocess_run else None
    run_service(
        SERVICE,
        Settings,
        lambda loaded: build_worker(loaded, route),
        group_id=lambda loaded: route.group_id if route else loaded.group_id,
        input_topic=route.input_topic if route else settings.input_topic,
        startup_errors=(ApiError,),
    )
