"""Prometheus metrics and health endpoints: every service serves ``/metrics``, ``/healthz``, ``/readyz``.

The metrics live in prometheus-client's default registry (one service per process), so the worker
loop, the handlers and the faust agent record into the same place the HTTP server reads from.

``/healthz`` (liveness) fails only when the service loop has stopped making progress (no beat for
:data:`STALL_AFTER_S`, or the stall watchdog found a held partition that does not move, see
``services/runtime/watchdog.py``): a dependency being down is not a reason to restart a process.
``/readyz`` (readiness) fails while the service is starting, retrying a failed dependency,
stalled, or stopping.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)

from schemas.topics import TOPICS
from services.runtime.messages import Emit, Message
from services.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)
# ``*_created`` series double the output for nothing a dashboard here uses.
disable_created_metrics()

#: Where the endpoints are served; probes in deploy/k8s and docker-compose.yml use the same paths.
HEALTH_PATHS = {"metrics": "/metrics", "liveness": "/healthz", "readiness": "/readyz"}
#: A loop that has not reported progress for this long is stuck: liveness fails, the pod restarts.
STALL_AFTER_S = 300.0

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_AGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)

SERVICE_INFO = Info("newswire_service", "Which pipeline stage this process runs.")
EVENTS_CONSUMED = Counter("newswire_events_consumed", "Records read from the stage's input topic.", ["topic"])
EVENTS_PRODUCED = Counter(
    "newswire_events_produced", "Records written to an output topic (dead letters not included).", ["topic"]
)
EVENTS_DEAD_LETTERED = Counter(
    "newswire_events_dead_lettered", "Records quarantined on articles.dlq, by reason code.", ["reason"]
)
EVENTS_DROPPED = Counter(
    "newswire_events_dropped", "Records deliberately not passed on, by reason.", ["reason"]
)
EVENTS_FAILED = Counter(
    "newswire_events_failed",
    "Failed attempts by kind: transient (the batch is retried), produce (its output is sent again) "
    "or commit (the batch is re-read later).",
    ["kind"],
)
PROCESS_SECONDS = Histogram(
    "newswire_process_seconds",
    "Time the handler took for one batch (one event in the enrich agent).",
    buckets=_LATENCY_BUCKETS,
)
PRODUCE_SECONDS = Histogram(
    "newswire_produce_seconds",
    "Time until the broker acknowledged a batch's output.",
    buckets=_LATENCY_BUCKETS,
)
COMMIT_SECONDS = Histogram(
    "newswire_commit_seconds", "Time to commit a batch's offsets.", buckets=_LATENCY_BUCKETS
)
BATCH_SIZE = Histogram("newswire_batch_size", "Records per polled batch.", buckets=_SIZE_BUCKETS)
RECORD_AGE_SECONDS = Histogram(
    "newswire_record_age_seconds",
    "Time from a record's Kafka timestamp to its consumption; on articles.raw: publish to ingest.",
    ["topic"],
    buckets=_AGE_BUCKETS,
)
INDEX_BULK_DOCUMENTS = Histogram(
    "newswire_index_bulk_documents", "Documents per Elasticsearch bulk request.", buckets=_SIZE_BUCKETS
)
INDEX_BULK_BYTES = Histogram(
    "newswire_index_bulk_bytes",
    "Estimated body size of a bulk request.",
    buckets=tuple(2**n * 1024 for n in range(0, 15, 2)),
)
INGEST_TO_INDEXED_SECONDS = Histogram(
    "newswire_ingest_to_indexed_seconds",
    "From ingest accepting an article (article.ingested_at) to Elasticsearch acknowledging its document.",
    buckets=_AGE_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "newswire_consumer_lag",
    "Records on the input topic the consumer group has not committed yet (sampled).",
    ["group", "topic", "partition"],
)
LAG_SAMPLED_AT = Gauge("newswire_consumer_lag_sampled_timestamp_seconds", "When the lag was last sampled.")
READY = Gauge("newswire_ready", "1 while the service is ready (what /readyz says).")
INDEXED_BY_ENRICHER_VERSION = Gauge(
    "newswire_indexed_documents_by_enricher_version",
    "Documents behind the alias that each enricher version made (sampled; the index service only).",
    ["enricher", "version"],
)
INDEXED_WITHOUT_LINEAGE = Gauge(
    "newswire_indexed_documents_without_lineage",
    "Documents indexed before the lineage field existed: not in the by-enricher-version counts.",
)
LINEAGE_SAMPLED_AT = Gauge(
    "newswire_indexed_lineage_sampled_timestamp_seconds", "When the enricher versions were last counted."
)


class Health:
    """Liveness and readiness, as the service loop reports them."""

    def __init__(
        self, stall_after_s: float = STALL_AFTER_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stall_after_s = stall_after_s
        self.clock = clock
        self._last_beat: float | None = None
        self._ready = False
        self._reason = "starting"
        self._retrying = False
        self._stalled: str | None = None

    def beat(self) -> None:
        """The loop made progress (it polled, processed or waited on purpose)."""
        self._last_beat = self.clock()

    def set_ready(self, ready: bool, reason: str = "") -> None:
        self._ready = ready
        self._reason = "" if ready else (reason or "not ready")
        self._retrying = False
        READY.set(1 if ready else 0)

    def set_retrying(self, reason: str) -> None:
        """Not ready: the loop knowingly waits for a dependency (until ``set_ready``).

        The stall watchdog holds off meanwhile, as long as the loop keeps beating.
        """
        self.set_ready(False, reason)
        self._retrying = True

    def retrying_within(self, seconds: float) -> bool:
        """Whether the loop reports a retry and beat within the last ``seconds``."""
        return self._retrying and self._last_beat is not None and self.clock() - self._last_beat <= seconds

    def set_stalled(self, reason: str) -> None:
        """The watchdog gave up on the loop: liveness and readiness fail with ``reason`` from now on."""
        self._stalled = reason
        READY.set(0)

    def liveness(self) -> tuple[bool, str]:
        if self._stalled is not None:
            return False, self._stalled
        if self._last_beat is None:
            return True, "starting"
        idle = self.clock() - self._last_beat
        if idle > self.stall_after_s:
            return False, f"no progress for {idle:.0f}s"
        return True, "alive"

    def readiness(self) -> tuple[bool, str]:
        alive, why = self.liveness()
        if not alive:
            return False, why
        return (True, "ready") if self._ready else (False, self._reason)


HEALTH = Health()


def record_consumed(messages: Sequence[Message], now_ms: float | None = None) -> None:
    """Count a polled batch and how long its records waited in Kafka."""
    now_ms = now_ms if now_ms is not None else time.time() * 1000
    BATCH_SIZE.observe(len(messages))
    for message in messages:
        EVENTS_CONSUMED.labels(message.topic).inc()
        if message.timestamp_ms:
            RECORD_AGE_SECONDS.labels(message.topic).observe(max(0.0, (now_ms - message.timestamp_ms) / 1000))


def record_outputs(records: Iterable[Emit]) -> None:
    """Count records a stage produced; dead letters by the reason inside them."""
    for record in records:
        if record.topic == TOPICS.dlq:
            EVENTS_DEAD_LETTERED.labels(dead_letter_reason(record.value)).inc()
        else:
            EVENTS_PRODUCED.labels(record.topic).inc()


def dead_letter_reason(value: bytes) -> str:
    try:
        reason = orjson.loads(value).get("reason")
    except (orjson.JSONDecodeError, AttributeError):
        return "unknown"
    return reason if isinstance(reason, str) else "unknown"


def record_bulk(documents: int, size_bytes: int) -> None:
    INDEX_BULK_DOCUMENTS.observe(documents)
    INDEX_BULK_BYTES.observe(size_bytes)


def record_indexed(ingested_at: object, now: datetime | None = None) -> None:
    """Observe ingest-to-indexed latency from a document's ``ingested_at`` (ISO 8601 string)."""
    if not isinstance(ingested_at, str):
        return
    try:
        moment = datetime.fromisoformat(ingested_at)
    except ValueError:
        return
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    INGEST_TO_INDEXED_SECONDS.observe(seconds_since(moment, now))


def seconds_since(moment: datetime, now: datetime | None = None) -> float:
    return max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())


class _Endpoints(BaseHTTPRequestHandler):
    registry: CollectorRegistry = REGISTRY
    health: Health = HEALTH

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == HEALTH_PATHS["metrics"]:
            self._reply(HTTPStatus.OK, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        elif path in (HEALTH_PATHS["liveness"], HEALTH_PATHS["readiness"]):
            ok, why = self.health.liveness() if path == HEALTH_PATHS["liveness"] else self.health.readiness()
            status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
            self._reply(status, f"{why}\n".encode(), "text/plain; charset=utf-8")
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"try /metrics, /healthz or /readyz\n", "text/plain")

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would drown the service's own log."""


class MetricsServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on a daemon thread."""

    def __init__(self, host: str, port: int, health: Health = HEALTH, registry: CollectorRegistry = REGISTRY):
        handler = type("Endpoints", (_Endpoints,), {"health": health, "registry": registry})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


#: ``(topic, partition)``; kafka-python's and faust's ``TopicPartition`` are such tuples.
Partition = tuple[str, int]


@dataclass(frozen=True)
class PartitionOffsets:
    """One partition in one sample: the group's committed offset and the partition's end.

    ``committed`` is the log start offset while the group has committed nothing there: the
    services' consumers start from the earliest record.
    """

    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


#: Told every sample's offsets, or None when sampling failed (on the sampler's thread).
SampleListener = Callable[[Mapping[Partition, PartitionOffsets] | None], object]


class ConsumerLagSampler:
    """Samples a consumer group's committed lag on its input topic every ``interval_s`` seconds.

    Uses its own Kafka clients on its own thread (the worker's consumer is not thread-safe); the
    committed lag is what an outside exporter would report, so the numbers agree with theirs.
    ``listeners`` (the stall watchdog) get each sample's offsets, or None when sampling failed.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        group_id: str,
        topic: str,
        interval_s: float = 15.0,
        listeners: Sequence[SampleListener] = (),
    ) -> None:
        self.kafka = kafka
        self.group_id = group_id
        self.topic = topic
        self.interval_s = interval_s
        self.listeners = list(listeners)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="consumer-lag", daemon=True)
        self._clients: tuple[Any, Any] | None = None

    def start(self) -> ConsumerLagSampler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def sample(self) -> dict[int, int]:
        """The lag per partition (also set on the gauge)."""
        return {tp[1]: offsets.lag for tp, offsets in self.sample_offsets().items()}

    def sample_offsets(self) -> dict[Partition, PartitionOffsets]:
        """Committed and end offsets of every partition of the topic; sets the lag gauge."""
        from kafka import KafkaAdminClient, KafkaConsumer
        from kafka.structs import TopicPartition

        if self._clients is None:
            config = self.kafka.client_config()
            self._clients = (
                KafkaAdminClient(**config, client_id=f"{self.group_id}-lag"),
                KafkaConsumer(**config, client_id=f"{self.group_id}-lag", enable_auto_commit=False),
            )
        admin, consumer = self._clients
        partitions = [
            TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or ())
        ]
        committed = admin.list_group_offsets({self.group_id: None}).get(self.group_id, {})
        ends = consumer.end_offsets(partitions)
        done = {tp: meta.offset for tp, meta in committed.items() if meta is not None and meta.offset >= 0}
        never = [tp for tp in partitions if tp not in done]
        starts = consumer.beginning_offsets(never) if never else {}
        offsets: dict[Partition, PartitionOffsets] = {}
        for tp in partitions:
            sampled = PartitionOffsets(done.get(tp, starts.get(tp, 0)), ends[tp])
            offsets[(tp.topic, tp.partition)] = sampled
            CONSUMER_LAG.labels(self.group_id, self.topic, str(tp.partition)).set(sampled.lag)
        LAG_SAMPLED_AT.set_to_current_time()
        return offsets

    def _reset_clients(self) -> None:
        clients, self._clients = self._clients, None
        for client in clients or ():
            with contextlib.suppress(Exception):
                client.close()

    def _run(self) -> None:
        failures = 0
        while True:
            offsets: dict[Partition, PartitionOffsets] | None = None
            try:
                offsets = self.sample_offsets()
                failures = 0
            except Exception as exc:  # the sampler must never take the service down
                failures += 1
                self._reset_clients()
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning(
                        "consumer lag sampling failed", extra={"error": str(exc), "failures": failures}
                    )
            for listener in self.listeners:
                try:
                    listener(offsets)
                except Exception:
                    log.exception("consumer lag listener failed")
            if self._stop.wait(self.interval_s if failures == 0 else min(60.0, self.interval_s * 4)):
                self._reset_clients()
                return


def serve(
    service: str,
    host: str,
    port: int,
    *,
    kafka: KafkaSettings | None = None,
    group_id: str | None = None,
    input_topic: str | None = None,
) -> MetricsServer | None:
    """Start the endpoints (and the lag sampler when a group is given); None if the port is taken.

    A taken port is logged, not fatal: processing matters more than metrics, and a second local
    instance (or a test) can run beside the first with ``..._METRICS_PORT`` set.
    """
    SERVICE_INFO.info({"service": service})
    try:
        server = MetricsServer(host, port).start()
    except OSError as exc:
        log.error(
            "cannot serve metrics and health endpoints",
            extra={"address": f"{host}:{port}", "error": str(exc)},
        )
        return None
    if kafka is not None and group_id and input_topic:
        ConsumerLagSampler(kafka, group_id, input_topic).start()
    log.info(
        "metrics and health endpoints up", extra={"address": f"http://{host}:{server.address[1]}/metrics"}
    )
    return server


class LineageSampler:
    """Counts the documents per enricher version behind ``alias`` every ``interval_s`` seconds.

    One terms aggregation over doc values (``schemas.search_index.lineage_aggregations``) on its
    own thread, never per request; a version no document carries any more (reprocessed away)
    leaves the gauge instead of staying at its last count.
    """

    def __init__(self, es: Any, alias: str, interval_s: float = 60.0) -> None:
        self.es = es
        self.alias = alias
        self.interval_s = interval_s
        self._seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lineage-sampler", daemon=True)

    def start(self) -> LineageSampler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def sample(self) -> dict[tuple[str, str], int]:
        """Documents per (enricher, version); also set on the gauges."""
        from schemas.search_index import lineage_aggregations, lineage_counts

        response = self.es.search(index=self.alias, size=0, aggs=lineage_aggregations())
        counts = lineage_counts(response["aggregations"])
        for gone in self._seen - set(counts.versions):
            with contextlib.suppress(KeyError):
                INDEXED_BY_ENRICHER_VERSION.remove(*gone)
        for (enricher, version), documents in counts.versions.items():
            INDEXED_BY_ENRICHER_VERSION.labels(enricher, version).set(documents)
        self._seen = set(counts.versions)
        INDEXED_WITHOUT_LINEAGE.set(counts.without_lineage)
        LINEAGE_SAMPLED_AT.set_to_current_time()
        return counts.versions

    def _run(self) -> None:
        failures = 0
        while True:
            try:
                self.sample()
                failures = 0
            except Exception as exc:  # metrics must never take the service down
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning(
                        "enricher version sampling failed", extra={"error": str(exc), "failures": failures}
                    )
            if self._stop.wait(self.interval_s):
                return
