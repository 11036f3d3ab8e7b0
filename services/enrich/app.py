"""The enrich worker as a faust app: ``articles.ingested`` -> enrich -> ``articles.enriched``.

Delivery is at least once. faust acks an event when the agent's ``async for`` moves on to the
next one and commits acked offsets every ``commit_interval_s`` seconds, on rebalance and on
shutdown. The agent waits for the broker to acknowledge (``acks=all``) every record it produces
before moving on, so an offset is never committed before its output is safely in Kafka. A crash
replays the uncommitted tail; the index absorbs those duplicates with writes keyed on the article id.

Records that can never be enriched (bad JSON, another schema major, invalid event, an enricher
raising) go to ``articles.dlq`` with the original bytes; the agent itself never raises on input.

Near-duplicates (``duplicate_of``) are found in state shared by every worker: a faust GlobalTable
of article signatures, replicated to each worker from its changelog topic, which also rebuilds it
when a worker starts (the agent only consumes once it is recovered). Every record the replica
applies also goes into the in-memory band index (a tombstone takes an article out); the rules that
keep replicas consistent, and the window that bounds the state (articles ingested more than
``NEWSWIRE_ENRICH_DUPLICATE_WINDOW_DAYS`` before the newest leave the index and the table), are in
:mod:`services.enrich.dedup`. Following faust's advice for GlobalTables with several workers, the
changelog has one partition, is written through the partitioner and recovered one record at a time.

After a rebalance faust (0.15.3 with aiokafka 0.14) loses records of the partitions it resumes:
:mod:`services.enrich.faust_fixes` explains how and is installed here (``faust_rebalance_fixes``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import cast

import faust
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.helpers import create_ssl_context
from faust.exceptions import ProducerSendError
from faust.types.auth import CredentialsT
from faust.types.tables import GlobalTableT

from schemas.articles import Article, EnrichedArticle
from schemas.dead_letter import FailureStage
from schemas.envelope import ArticleIngested
from schemas.topics import TOPICS
from services.enrich.dedup import NearDuplicateIndex, mark
from services.enrich.faust_fixes import EnrichTableManager, fetch_only_active_partitions
from services.enrich.handler import PRODUCER, output_too_large, process_event
from services.enrich.partition_probe import partition_states
from services.enrich.pipeline import enrich
from services.enrich.producer import broker_urls
from services.enrich.settings import Settings
from services.reprocess.modes import enrich_route, load_run, selected
from services.reprocess.rate import TokenBucket
from services.runtime import metrics
from services.runtime.dead_letters import smaller_dead_letter
from services.runtime.events import decode_event
from services.runtime.header_names import tolerate_non_utf8_header_names
from services.runtime.messages import Emit, Message, Rejected, message_from_record
from services.runtime.service import start_monitoring
from services.runtime.settings import KafkaSettings, load_settings
from services.runtime.watchdog import Watchdog
from services.runtime.worker import RetryPolicy

log = logging.getLogger(__name__)

#: Small enough for a broker's default 1 MB record limit, base64 and envelope included.
TOO_LARGE_PAYLOAD_BYTES = 64 * 1024


def broker_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """faust's form of the SASL/SSL part of the shared Kafka settings."""
    ssl_context = (
        create_ssl_context(cafile=kafka.ssl_cafile) if kafka.security_protocol.endswith("SSL") else None
    )
    if kafka.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism or "PLAIN",
            ssl_context=ssl_context,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


settings = load_settings(Settings)
# Live, or re-enriching the archive for a reprocess run (services/reprocess): the run decides the
# group, the topics, which articles and how fast.
route = enrich_route(
    settings.app_id,
    settings.input_topic,
    settings.output_topic,
    settings.rate,
    load_run(settings.reprocess_run) if settings.reprocess_run else None,
)
if route.app_id != settings.app_id:
    settings = settings.model_copy(update={"app_id": route.app_id})
#: Bounds this worker's pace (a reprocess run must leave the live pipeline its latency); None: no bound.
rate_limit = TokenBucket(route.rate) if route.rate else None
# A record whose header name is not UTF-8 must not stop the consumer (runtime/header_names.py).
tolerate_non_utf8_header_names()
# faust loses records of stream partitions after a rebalance without these (enrich/faust_fixes.py).
if settings.faust_rebalance_fixes:
    fetch_only_active_partitions()

app = faust.App(
    settings.app_id,
    # Its scheme names faust's aiokafka transport with an idempotent producer (enrich/producer.py).
    broker=broker_urls(settings.kafka),
    broker_credentials=broker_credentials(settings.kafka),
    autodiscover=False,
    # faust lets unprefixed variables (WEB_PORT, TOPIC_PARTITIONS, PRODUCER_ACKS...) override these
    # arguments; with a prefix only NEWSWIRE_ENRICH_FAUST_<SETTING> does, deliberately.
    env_prefix="NEWSWIRE_ENRICH_FAUST_",
    # Values are our own JSON (orjson + pydantic); faust passes the bytes through untouched.
    key_serializer="raw",
    value_serializer="raw",
    store="memory://",
    datadir=str(settings.faust_data_dir),
    # Sizes the topics faust would create (tables, repartitioning) to match articles.ingested,
    # so they stay co-partitioned with it; __main__ sets it from the topic's real count.
    topic_partitions=settings.topics.partitions,
    topic_replication_factor=settings.topics.replication_factor,
    # No on_leader timers here, so faust need not create its __assignor-__leader topic.
    topic_disable_leader=True,
    producer_acks=-1,
    # One per worker (several share the app id, the group): newswire status tells them apart by it.
    broker_client_id=settings.client_id or "newswire-enrich",
    producer_max_request_size=settings.max_message_bytes,
    consumer_auto_offset_reset="earliest",
    broker_commit_interval=settings.commit_interval_s,
    web_enabled=settings.web_enabled,
    web_bind=settings.web_host,  # faust binds to web_bind (default 0.0.0.0); web_host only names it
    web_host=settings.web_host,
    web_port=settings.web_port,
    TableManager=EnrichTableManager if settings.faust_rebalance_fixes else "faust.tables:TableManager",
)

ingested_topic = app.topic(route.input_topic, key_type=bytes, value_type=bytes, internal=False)
enriched_topic = app.topic(route.output_topic, key_type=bytes, value_type=bytes, internal=False)
dlq_topic = app.topic(TOPICS.dlq, key_type=bytes, value_type=bytes, internal=False)
# The handler names articles.enriched; the route may send its records elsewhere (a run's topic).
output_topics = {TOPICS.enriched: enriched_topic, TOPICS.dlq: dlq_topic}


#: Topic configs of the near-duplicate changelog: segments roll daily (the broker compacts closed ones
#: only) and the cleaner starts once a fifth of the log is superseded (the broker's default: half).
CHANGELOG_CONFIGS = {"segment.ms": str(24 * 3600 * 1000), "min.cleanable.dirty.ratio": "0.2"}


async def _remember_signature(event: faust.EventT) -> None:
    # Already decoded with the table's key and value types (str, bytes).
    near_duplicates.remember(cast(str, event.key), cast(bytes | None, event.value))


# Read at startup (the agent waits for it) and kept up to date with the other workers' writes.
duplicate_signatures: GlobalTableT = app.GlobalTable(
    "near-duplicate-signatures",
    key_type=str,
    value_type=bytes,
    partitions=1,
    use_partitioner=True,
    recovery_buffer_size=1,
    on_changelog_event=_remember_signature,
    # Articles leaving the window are deleted (tombstones): closed segments and an eager cleaner let
    # the broker compact them away within a day or so, so a restart reads about the window only.
    # The topic is made (or an existing one's configs put back) by __main__.ensure_changelog_topic.
    extra_topic_configs=CHANGELOG_CONFIGS,
)
near_duplicates = NearDuplicateIndex(
    duplicate_signatures,
    threshold=settings.duplicate_threshold,
    window=settings.duplicate_window,
    slack=timedelta(days=settings.duplicate_window_slack_days),
    max_entries=settings.duplicate_max_entries or None,
)


def enrich_and_mark_duplicates(article: Article) -> EnrichedArticle:
    """The enrichment of an article, near-duplicate check included."""
    enriched = mark(near_duplicates, enrich(article, budget_chars=settings.text_budget_chars or None))
    if enriched.duplicate_of:
        log.info("near-duplicate", extra={"article_id": article.id, "duplicate_of": enriched.duplicate_of})
    return enriched


@duplicate_signatures.on_recover
async def near_duplicates_recovered() -> None:
    log.info(
        "near-duplicate state recovered",
        extra={
            "signatures": len(duplicate_signatures),
            "indexed": near_duplicates.entries,
            "band_keys": len(near_duplicates),
            "window_days": settings.duplicate_window_days,
        },
    )


@app.agent(ingested_topic)
async def enrich_articles(stream: faust.StreamT[bytes]) -> None:
    """For each ingested article: enrich it, or dead-letter it, and wait until Kafka has the result."""
    async for event in stream.events():
        message = message_from_event(event)
        processed_offsets[(message.topic, message.partition)] = message.offset
        metrics.record_consumed([message])
        if not selected(route.subset, message):
            # Outside the run's subset: the new index has it from the old one. Its signature still
            # counts, or a copy inside the subset of an original outside it would lose duplicate_of.
            remember_signature(message)
            continue
        if rate_limit is not None:
            await rate_limit.take()
        with metrics.PROCESS_SECONDS.time():
            records = process_event(message, settings.dlq_payload_max_bytes, enrich_and_mark_duplicates)
        with metrics.PRODUCE_SECONDS.time():
            for record in records:
                await deliver(message, record)
        metrics.record_outputs(records)


def remember_signature(message: Message) -> None:
    """Record an archived article in the near-duplicate state without enriching it."""
    event = decode_event(message, ArticleIngested)
    if not isinstance(event, Rejected):
        article = event.article
        near_duplicates.check(article.id, article.ingested_at, article.content_hash, article.body)


def message_from_event(event: faust.EventT) -> Message:
    """The faust-free view of a consumed record that the handler works on."""
    raw = event.message
    # Every header kept, repeated names and None values included.
    timestamp_ms = int(raw.timestamp * 1000) if raw.timestamp else None
    return message_from_record(
        raw.topic, raw.partition, raw.offset, raw.key, raw.value, raw.headers, timestamp_ms
    )


async def deliver(message: Message, record: Emit) -> None:
    """Produce ``record`` and wait for the broker's ack, retrying while Kafka is unavailable.

    A record the broker refuses as too large is replaced by a dead letter with a smaller payload,
    and a dead letter refused as too large by a smaller one (at last a minimal letter without
    payload), so the event is never skipped.
    """
    retry = RetryPolicy()
    attempt = 0
    while True:
        try:
            await _send(record)
            if attempt:
                metrics.HEALTH.set_ready(True)
            return
        except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
            if record.topic == TOPICS.dlq:
                smaller = smaller_dead_letter(message, record, FailureStage.ENRICH, PRODUCER)
                log.error(
                    "dead letter too large for the broker, sending a smaller one",
                    extra={"error": repr(exc), "topic": message.topic, "offset": message.offset},
                )
                if smaller is None:  # even a minimal letter: retry it like any failed send
                    attempt += 1
                    await asyncio.sleep(retry.delay(attempt))
                else:
                    record = smaller
                continue
            record = output_too_large(message, record, repr(exc), TOO_LARGE_PAYLOAD_BYTES)
        except KafkaError as exc:
            attempt += 1
            delay = retry.delay(attempt)
            # A known retry: not ready, and not a stall for the watchdog to end.
            metrics.HEALTH.set_retrying(f"produce failed, retrying: {exc!r}"[:300])
            log.warning(
                "produce failed, retrying",
                extra={
                    "attempt": attempt,
                    "delay_s": round(delay, 2),
                    "error": repr(exc),
                    "topic": record.topic,
                },
            )
            await asyncio.sleep(delay)


async def _send(record: Emit) -> None:
    try:
        acknowledged = await output_topics[record.topic].send(
            key=record.key, value=record.value, headers=list(record.headers)
        )
    except ProducerSendError as exc:  # faust wraps errors raised before the record is queued
        if isinstance(exc.__cause__, KafkaError):
            raise exc.__cause__ from exc
        raise
    await acknowledged


#: The stall watchdog (None while not started or when NEWSWIRE_ENRICH_STALL_TIMEOUT_S is 0).
watchdog: Watchdog | None = None


@app.task
async def serve_metrics() -> None:
    """Once the app has started: the endpoints, the lag sampler and stall watchdog, and readiness."""
    global watchdog
    watchdog = start_monitoring(PRODUCER, settings, group_id=settings.app_id, input_topic=route.input_topic)
    metrics.HEALTH.set_ready(True)


#: The last offset the agent took up, by (topic, partition): what the partition probe compares with.
processed_offsets: dict[tuple[str, int], int] = {}


async def log_partition_states() -> None:
    """With the Kafka libraries at DEBUG: each assigned partition as faust and aiokafka see it."""
    log.info("partition states", extra=partition_states(app, processed_offsets))


if settings.library_log_level == "DEBUG":
    app.timer(interval=5.0)(log_partition_states)


@app.timer(interval=5.0)
async def heartbeat() -> None:
    """Liveness, and the partitions the watchdog watches, from the event loop.

    A blocked loop stops the beats and leaves the last assignment published: the watchdog then sees
    those partitions' committed offsets stand still while records wait, and ends the process. The
    assignment is published during table recovery too, so a recovery that hangs is caught as well.
    """
    metrics.HEALTH.beat()
    if watchdog is not None:
        held = app.consumer.assignment()
        watchdog.assignment.publish((tp.topic, tp.partition) for tp in held if tp.topic == route.input_topic)
