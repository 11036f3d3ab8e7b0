"""Publish-to-searchable latency: articles published at a steady rate, each timed until a search finds it.

A paced producer (configured like ``newswire publish``) sends structured articles at ``rate`` per
second; a poller asks Elasticsearch every ``poll_interval_s`` which of the articles still pending
are searchable (an ``ids`` query on the alias, so only documents a refresh made visible answer).
An article's latency is the time from just before its ``send()`` to the poll that first finds it,
so it includes the poll interval (the figure errs on the slow side by at most that much).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from bench.speed import es_tools
from bench.speed.corpus import expected_id
from bench.speed.measure import percentile
from services.cli.submissions import InputFormat, prepare_bytes
from services.runtime.kafka import make_producer
from services.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)


@dataclass
class LatencyResult:
    rate_per_s: float
    published: int
    seconds_publishing: float
    latencies_s: list[float] = field(default_factory=list)
    missing: int = 0
    #: Per stage (publish->ingested, ->enriched, ->indexed, ->searchable), seconds per article, from
    #: the timestamps the services stamp on each article (same machine, same clock).
    stages_s: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        values = self.latencies_s
        return {
            "target_rate_per_s": round(self.rate_per_s, 1),
            "achieved_rate_per_s": round(self.published / self.seconds_publishing, 1)
            if self.seconds_publishing
            else 0.0,
            "published": self.published,
            "searchable": len(values),
            "missing": self.missing,
            "p50_s": round(percentile(values, 50), 3),
            "p95_s": round(percentile(values, 95), 3),
            "p99_s": round(percentile(values, 99), 3),
            "max_s": round(max(values), 3) if values else None,
            "stages": {
                stage: {
                    "p50_s": round(percentile(times, 50), 3),
                    "p95_s": round(percentile(times, 95), 3),
                    "p99_s": round(percentile(times, 99), 3),
                }
                for stage, times in self.stages_s.items()
            },
        }


def measure(
    bootstrap: str,
    es_url: str,
    index: str,
    topic: str,
    articles: Sequence[dict[str, Any]],
    rate_per_s: float,
    *,
    poll_interval_s: float = 0.05,
    drain_timeout_s: float = 60.0,
) -> LatencyResult:
    """Publish ``articles`` at ``rate_per_s`` and time each one until it is searchable."""
    pending: dict[str, float] = {}
    sent_wall: dict[str, float] = {}
    seen_wall: dict[str, float] = {}
    lock = threading.Lock()
    result = LatencyResult(rate_per_s=rate_per_s, published=0, seconds_publishing=0.0)
    publishing_done = threading.Event()
    poller = threading.Thread(
        target=_poll,
        args=(
            es_url,
            index,
            pending,
            seen_wall,
            lock,
            result,
            publishing_done,
            poll_interval_s,
            drain_timeout_s,
        ),
        name="bench-latency-poller",
        daemon=True,
    )
    producer = make_producer(
        KafkaSettings(bootstrap_servers=bootstrap), client_id="bench-latency", allow_auto_create_topics=False
    )
    poller.start()
    started = time.monotonic()
    try:
        for number, article in enumerate(articles):
            due = started + number / rate_per_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            message = prepare_bytes(
                orjson.dumps(article), InputFormat.JSON, source_name="bench-latency"
            ).messages[0]
            article_id = expected_id(article)
            with lock:
                pending[article_id] = time.monotonic()
                sent_wall[article_id] = time.time()
            producer.send(topic, value=message.value, headers=list(message.headers))
            result.published += 1
        producer.flush(timeout=60)
        result.seconds_publishing = time.monotonic() - started
    finally:
        producer.close(timeout=10)
        publishing_done.set()
        poller.join(drain_timeout_s + 30)
    result.stages_s = _stages(es_url, index, sent_wall, seen_wall)
    return result


def _stages(
    es_url: str, index: str, sent: dict[str, float], seen: dict[str, float]
) -> dict[str, list[float]]:
    """Where each found article's latency went, from the service timestamps in its document."""
    es = es_tools.client(es_url, timeout_s=60)
    stages: dict[str, list[float]] = {
        "to_ingested": [],
        "to_enriched": [],
        "to_indexed": [],
        "to_searchable": [],
    }
    try:
        ids = sorted(seen)
        for start in range(0, len(ids), 1000):
            batch = ids[start : start + 1000]
            found = es.search(
                index=index,
                query={"ids": {"values": batch}},
                source_includes=["ingested_at", "enriched_at", "indexed_at"],
                size=len(batch),
            )
            for hit in found["hits"]["hits"]:
                doc = hit["_source"]
                try:
                    marks = [
                        sent[hit["_id"]],
                        datetime.fromisoformat(doc["ingested_at"]).timestamp(),
                        datetime.fromisoformat(doc["enriched_at"]).timestamp(),
                        datetime.fromisoformat(doc["indexed_at"]).timestamp(),
                        seen[hit["_id"]],
                    ]
                except (KeyError, TypeError, ValueError):
                    continue
                for stage, begin, end in zip(stages, marks, marks[1:], strict=False):
                    stages[stage].append(end - begin)
    finally:
        es.close()
    return stages


def _poll(
    es_url: str,
    index: str,
    pending: dict[str, float],
    seen_wall: dict[str, float],
    lock: threading.Lock,
    result: LatencyResult,
    publishing_done: threading.Event,
    interval_s: float,
    drain_timeout_s: float,
) -> None:
    es = es_tools.client(es_url, timeout_s=30)
    drain_deadline: float | None = None
    try:
        while True:
            with lock:
                wanted = list(pending)
            if wanted:
                hits: list[dict[str, Any]] = []
                try:
                    found = es.search(
                        index=index,
                        query={"ids": {"values": wanted}},
                        source=False,
                        size=len(wanted),
                        track_total_hits=False,
                    )
                    hits = found["hits"]["hits"]
                except Exception as exc:  # keep timing; a slow answer only delays the poll
                    log.debug("latency poll failed: %s", exc)
                seen_at, seen_at_wall = time.monotonic(), time.time()
                with lock:
                    for hit in hits:
                        sent_at = pending.pop(hit["_id"], None)
                        if sent_at is not None:
                            result.latencies_s.append(seen_at - sent_at)
                            seen_wall[hit["_id"]] = seen_at_wall
            if publishing_done.is_set():
                drain_deadline = drain_deadline or time.monotonic() + drain_timeout_s
                with lock:
                    left = len(pending)
                if not left or time.monotonic() > drain_deadline:
                    result.missing = left
                    return
            time.sleep(interval_s)
    finally:
        es.close()
