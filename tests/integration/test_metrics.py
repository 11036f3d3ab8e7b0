"""The three services' metrics and health endpoints, scraped while articles flow through them.

The services run as subprocesses on the session's real Kafka and Elasticsearch with their own
consumer groups, committed at the end of their input topics before they start (so they read only
what arrives during the test, and take nothing from a pipeline already running there) and their
own metrics ports. ``running_pipeline`` is shared with ``test_status_trace``.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from services.runtime.kafka import end_offsets, ensure_topics, pipeline_topics
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings, TopicSettings
from tests.integration.endpoints import Samples, free_port, ready, scrape, value

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN_S = 180.0
FLOW_WITHIN_S = 180.0


@dataclass
class Service:
    name: str
    group_id: str
    input_topic: str
    metrics_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]


@dataclass
class Pipeline:
    """Test-owned ingest, enrich and index processes, and the environment that describes them."""

    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    def scrape(self, name: str) -> Samples:
        """Every sample of the service's ``/metrics``."""
        return scrape(self.services[name].metrics_url)


def commit_at_end(kafka: KafkaSettings, group_id: str, topic: str) -> None:
    ends = end_offsets(kafka, topic)
    consumer = KafkaConsumer(**kafka.client_config(), group_id=group_id, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, partition) for partition in ends])
        consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(end, "", -1) for p, end in ends.items()})
    finally:
        consumer.close(autocommit=False)


def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float, pipeline: Pipeline) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for service in pipeline.services.values():
            if service.process is not None and service.process.poll() is not None:
                pytest.fail(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    logs = "\n".join(f"--- {s.name}\n{s.log_tail()}" for s in pipeline.services.values())
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}\n{logs}")


@contextmanager
def running_pipeline(workdir: Path) -> Iterator[Pipeline]:
    """Start ingest, enrich and index under fresh groups and ports; SIGTERM them afterwards."""
    kafka = KafkaSettings()
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    run = uuid.uuid4().hex[:10]
    specs = {
        "ingest": ("NEWSWIRE_INGEST_GROUP_ID", f"newswire-ingest-test-{run}", TOPICS.raw),
        "enrich": ("NEWSWIRE_ENRICH_APP_ID", f"newswire-enrich-test-{run}", TOPICS.ingested),
        "index": ("NEWSWIRE_INDEX_GROUP_ID", f"newswire-index-test-{run}", TOPICS.enriched),
    }
    env = {
        **os.environ,
        "NEWSWIRE_ENRICH_DATA_DIR": str(workdir / "faust"),
        "NEWSWIRE_ENRICH_COMMIT_INTERVAL_S": "1",
    }
    pipeline = Pipeline(env)
    for name, (group_variable, group_id, topic) in specs.items():
        port = free_port()
        env[group_variable] = group_id
        env[f"NEWSWIRE_{name.upper()}_METRICS_PORT"] = str(port)
        commit_at_end(kafka, group_id, topic)
        pipeline.services[name] = Service(
            name, group_id, topic, f"http://127.0.0.1:{port}", workdir / f"{name}.log"
        )
    try:
        for service in pipeline.services.values():
            with service.log_path.open("wb") as log_file:
                service.process = subprocess.Popen(
                    [sys.executable, "-m", f"services.{service.name}"],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
        for service in pipeline.services.values():
            url = service.metrics_url
            wait_for(functools.partial(ready, url), f"{service.name} ready", READY_WITHIN_S, pipeline)
        yield pipeline
    finally:
        for service in pipeline.services.values():
            if service.process is not None and service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in pipeline.services.values():
            if service.process is None:
                continue
            try:
                service.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        admin = KafkaAdminClient(**kafka.client_config(), client_id="newswire-metrics-test")
        try:
            admin.delete_groups([service.group_id for service in pipeline.services.values()])
        except Exception:  # a group still rebalancing is left for Kafka to expire
            pass
        finally:
            admin.close()


def publish(articles: list[bytes], content_type: str = "application/json") -> list[str]:
    """Send raw submissions to ``articles.raw`` with fresh trace ids; return the trace ids."""
    producer = KafkaProducer(**KafkaSettings().client_config(), acks="all")
    trace_ids = []
    try:
        for body in articles:
            trace_id = uuid.uuid4().hex
            trace_ids.append(trace_id)
            headers = [(TRACE_HEADER, trace_id.encode()), ("content-type", content_type.encode())]
            producer.send(TOPICS.raw, value=body, headers=headers).get(timeout=30)
    finally:
        producer.close()
    return trace_ids


def indexed(es: Elasticsearch, trace_ids: list[str]) -> list[dict[str, Any]]:
    es.indices.refresh(index=ALIAS)
    response = es.search(index=ALIAS, query={"terms": {"trace_id": trace_ids}}, size=len(trace_ids))
    return list(response["hits"]["hits"])


def article_json(run: str, n: int) -> bytes:
    return orjson.dumps(
        {
            "title": f"Metrics test {run} article {n} on harbour wind turbines",
            "body": f"Article {n} of metrics test run {run}. The council approved new turbines "
            "for the harbour after a long public consultation.\n\nConstruction starts next spring.",
            "url": f"https://example.org/newswire-metrics-test/{run}/{n}",
            "source": "newswire tests",
        }
    )


@pytest.fixture(scope="module")
def pipeline(
    endpoints: Any, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    ensure_index(es)
    with running_pipeline(tmp_path_factory.mktemp("metrics-pipeline")) as running:
        yield running


def test_every_service_is_alive_and_ready(pipeline: Pipeline) -> None:
    for service in pipeline.services.values():
        live = httpx.get(f"{service.metrics_url}/healthz", timeout=5)
        assert live.status_code == 200, (service.name, live.text)
        assert httpx.get(f"{service.metrics_url}/readyz", timeout=5).status_code == 200
        assert httpx.get(f"{service.metrics_url}/nothing-here", timeout=5).status_code == 404
        samples = pipeline.scrape(service.name)
        assert value(samples, "newswire_ready") == 1.0
        assert value(samples, "newswire_service_info", service=service.name) == 1.0


def test_metrics_count_the_articles_flowing_through(pipeline: Pipeline, es: Elasticsearch) -> None:
    run = uuid.uuid4().hex[:8]
    good = [article_json(run, n) for n in range(3)]
    before = {name: pipeline.scrape(name) for name in pipeline.services}
    trace_ids = publish([*good, b'{"title": "cut off'])
    wait_for(lambda: len(indexed(es, trace_ids[:3])) == 3, "3 articles indexed", FLOW_WITHIN_S, pipeline)

    expected = [
        ("ingest", "newswire_events_consumed_total", 4, {"topic": TOPICS.raw}),
        ("ingest", "newswire_events_produced_total", 3, {"topic": TOPICS.ingested}),
        ("ingest", "newswire_events_dead_lettered_total", 1, {"reason": "invalid_json"}),
        ("ingest", "newswire_record_age_seconds_count", 4, {"topic": TOPICS.raw}),
        ("enrich", "newswire_events_consumed_total", 3, {"topic": TOPICS.ingested}),
        ("enrich", "newswire_events_produced_total", 3, {"topic": TOPICS.enriched}),
        ("enrich", "newswire_process_seconds_count", 3, {}),
        ("index", "newswire_events_consumed_total", 3, {"topic": TOPICS.enriched}),
        ("index", "newswire_index_bulk_documents_count", 1, {}),
        ("index", "newswire_index_bulk_documents_sum", 3, {}),
        ("index", "newswire_ingest_to_indexed_seconds_count", 3, {}),
        ("index", "newswire_process_seconds_count", 1, {}),
    ]

    def short_of_expected() -> list[str]:
        # Each test service reads from where its group was committed, so every published record
        # reaches it; a pipeline already running on the stack may index them first, hence the wait.
        now = {name: pipeline.scrape(name) for name in pipeline.services}
        return [
            f"{name} {sample}{labels}"
            for name, sample, at_least, labels in expected
            if value(now[name], sample, **labels) - value(before[name], sample, **labels) < at_least
        ]

    wait_for(
        lambda: not short_of_expected(),
        "every stage's metrics to count the articles",
        FLOW_WITHIN_S,
        pipeline,
    )
    assert short_of_expected() == []
    latency = pipeline.scrape("index")
    assert value(latency, "newswire_ingest_to_indexed_seconds_sum") > 0


def test_consumer_lag_is_sampled_per_partition_and_drains(pipeline: Pipeline) -> None:
    partitions = len(end_offsets(KafkaSettings(), TOPICS.raw))

    def lags(name: str) -> dict[str, float]:
        service = pipeline.services[name]
        return {
            dict(labels)["partition"]: sample_value
            for (sample, labels), sample_value in pipeline.scrape(name).items()
            if sample == "newswire_consumer_lag"
            and dict(labels).get("group") == service.group_id
            and dict(labels).get("topic") == service.input_topic
        }

    def drained(name: str) -> dict[str, float] | None:
        lag = lags(name)
        return lag if len(lag) == partitions and sum(lag.values()) == 0 else None

    for name in pipeline.services:
        # Sampled every 15 s: the lag drains to 0 once the group has committed everything.
        found = wait_for(functools.partial(drained, name), f"{name} lag sampled and drained", 90, pipeline)
        assert set(found) == {str(p) for p in range(partitions)}
