"""Health states, the HTTP endpoints, what the worker loop records, and the one-line settings errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter

from schemas.dead_letter import FailureReason, FailureStage
from schemas.topics import TOPICS
from services.runtime import metrics
from services.runtime.dead_letters import dead_letter_record
from services.runtime.messages import Dropped, Emit, Emitted, Message, Outcome, Rejected, TransientError
from services.runtime.metrics import Health, MetricsServer
from services.runtime.worker import RetryPolicy, Worker

REPO_ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_health_is_alive_while_starting_and_not_ready_until_told() -> None:
    health = Health(stall_after_s=60, clock=Clock())
    assert health.liveness() == (True, "starting")
    assert health.readiness() == (False, "starting")
    health.set_ready(True)
    assert health.readiness() == (True, "ready")
    health.set_ready(False, "retrying after a transient failure: es down")
    assert health.readiness() == (False, "retrying after a transient failure: es down")


def test_a_loop_without_beats_for_too_long_is_dead_and_not_ready() -> None:
    clock = Clock()
    health = Health(stall_after_s=60, clock=clock)
    health.beat()
    health.set_ready(True)
    clock.now += 59
    assert health.liveness()[0] and health.readiness()[0]
    clock.now += 2
    alive, why = health.liveness()
    assert not alive and why == "no progress for 61s"
    assert health.readiness() == (False, "no progress for 61s")
    health.beat()
    assert health.liveness() == (True, "alive")


@pytest.fixture
def server() -> Iterator[tuple[str, Health, CollectorRegistry]]:
    health = Health(stall_after_s=60, clock=Clock())
    registry = CollectorRegistry()
    Counter("test_things", "Things.", registry=registry).inc(3)
    running = MetricsServer("127.0.0.1", 0, health=health, registry=registry).start()
    host, port = running.address
    yield f"http://{host}:{port}", health, registry
    running.close()


def test_endpoints_answer_with_the_health_and_the_registry(
    server: tuple[str, Health, CollectorRegistry],
) -> None:
    url, health, _ = server
    scraped = httpx.get(f"{url}/metrics")
    assert scraped.status_code == 200 and "test_things_total 3.0" in scraped.text
    assert scraped.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{url}/healthz").status_code == 200
    not_ready = httpx.get(f"{url}/readyz")
    assert (not_ready.status_code, not_ready.text) == (503, "starting\n")
    health.set_ready(True)
    assert httpx.get(f"{url}/readyz?verbose").status_code == 200
    assert httpx.get(f"{url}/other").status_code == 404


def test_a_taken_port_is_reported_not_fatal(server: tuple[str, Health, CollectorRegistry]) -> None:
    url = server[0]
    port = int(url.rsplit(":", 1)[1])
    assert metrics.serve("test", "127.0.0.1", port) is None


def test_dead_letters_are_counted_by_the_reason_inside_them() -> None:
    message = Message(TOPICS.ingested, 0, 5, b"k", b"{}", {})
    letter = dead_letter_record(
        message, Rejected(FailureReason.OUTPUT_TOO_LARGE, "why"), FailureStage.ENRICH, "enrich", 100
    )
    before = sample("newswire_events_dead_lettered_total", reason="output_too_large")
    produced = sample("newswire_events_produced_total", topic=TOPICS.enriched)
    metrics.record_outputs([letter, Emit(TOPICS.enriched, b"k", b"{}")])
    assert sample("newswire_events_dead_lettered_total", reason="output_too_large") == before + 1
    assert sample("newswire_events_produced_total", topic=TOPICS.enriched) == produced + 1
    assert metrics.dead_letter_reason(b"not json") == "unknown"


def test_record_age_and_ingest_to_indexed_latency() -> None:
    count = sample("newswire_record_age_seconds_count", topic="test.age")
    total = sample("newswire_record_age_seconds_sum", topic="test.age")
    metrics.record_consumed([Message("test.age", 0, 0, None, b"", {}, 1_000_000)], now_ms=1_002_500)
    assert sample("newswire_record_age_seconds_count", topic="test.age") == count + 1
    assert sample("newswire_record_age_seconds_sum", topic="test.age") == pytest.approx(total + 2.5)

    latency = sample("newswire_ingest_to_indexed_seconds_sum")
    now = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    metrics.record_indexed((now - timedelta(seconds=30)).isoformat(), now=now)
    metrics.record_indexed("not a time", now=now)
    metrics.record_indexed(None, now=now)
    assert sample("newswire_ingest_to_indexed_seconds_sum") == pytest.approx(latency + 30)


class FakeRecord:
    def __init__(self, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset = "test.worker.metrics", 0, offset
        self.key, self.value, self.timestamp = None, value, None
        self.headers: list[tuple[str, bytes]] = []


class FakeConsumer:
    def __init__(self, records: list[FakeRecord]) -> None:
        self.records = records

    def poll(self, **_: Any) -> dict[str, list[FakeRecord]]:
        records, self.records = self.records, []
        return {"tp": records} if records else {}

    def assignment(self) -> set[Any]:
        return set()

    def pause(self, *_: Any) -> None: ...

    def resume(self, *_: Any) -> None: ...

    def commit(self, _: Any) -> None: ...


class Acknowledged:
    exception = None

    def failed(self) -> bool:
        return False


class FakeProducer:
    def send(self, *_: Any, **__: Any) -> Acknowledged:
        return Acknowledged()

    def flush(self, **_: Any) -> None: ...


class ByValue:
    """Emits, rejects or drops each message by its value; fails transiently once if asked."""

    def __init__(self, fail_once: bool = False) -> None:
        self.fail_once = fail_once

    def process(self, messages: Any) -> list[Outcome]:
        if self.fail_once:
            self.fail_once = False
            raise TransientError("elasticsearch down")
        outcomes: list[Outcome] = []
        for message in messages:
            if message.value == b"bad":
                outcomes.append(Rejected(FailureReason.NOT_AN_OBJECT, "bad"))
            elif message.value == b"dup":
                outcomes.append(Dropped("test_duplicate"))
            else:
                outcomes.append(Emitted((Emit("test.worker.out", None, b"x"),)))
        return outcomes


def test_the_worker_loop_counts_what_it_consumes_produces_and_quarantines() -> None:
    records = [FakeRecord(n, value) for n, value in enumerate([b"ok", b"bad", b"dup", b"ok"])]
    consumer = FakeConsumer(records)
    worker = Worker(
        name="test",
        stage=FailureStage.INGEST,
        handler=ByValue(fail_once=True),
        consumer=consumer,
        producer=FakeProducer(),
        retry=RetryPolicy(initial_s=0.001, max_s=0.001),
    )
    before = {
        "in": sample("newswire_events_consumed_total", topic="test.worker.metrics"),
        "out": sample("newswire_events_produced_total", topic="test.worker.out"),
        "dlq": sample("newswire_events_dead_lettered_total", reason="not_an_object"),
        "dropped": sample("newswire_events_dropped_total", reason="test_duplicate"),
        "transient": sample("newswire_events_failed_total", kind="transient"),
        "batches": sample("newswire_process_seconds_count"),
    }
    assert worker.run_once() == 4
    assert sample("newswire_events_consumed_total", topic="test.worker.metrics") == before["in"] + 4
    assert sample("newswire_events_produced_total", topic="test.worker.out") == before["out"] + 2
    assert sample("newswire_events_dead_lettered_total", reason="not_an_object") == before["dlq"] + 1
    assert sample("newswire_events_dropped_total", reason="test_duplicate") == before["dropped"] + 1
    assert sample("newswire_events_failed_total", kind="transient") == before["transient"] + 1
    # The failed attempt is timed too: a slow failing dependency shows in the latency.
    assert sample("newswire_process_seconds_count") == before["batches"] + 2
    assert metrics.HEALTH.readiness() == (True, "ready"), "ready again once the retry succeeded"


def run_service(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "variable", "value", "message"),
    [
        ("services.index", "NEWSWIRE_INDEX_MAX_BATCH", "lots", "Input should be a valid integer"),
        ("services.ingest", "NEWSWIRE_KAFKA_SECURITY_PROTOCOL", "TLS", "Input should be 'PLAINTEXT'"),
        ("services.enrich", "NEWSWIRE_ENRICH_METRICS_PORT", "99999", "less than or equal to 65535"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(
    module: str, variable: str, value: str, message: str
) -> None:
    result = run_service(module, **{variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[-1]], f"expected one line, got:\n{result.stderr}"
    assert lines[0].startswith(f"invalid setting {variable}: ") and message in lines[0]


def test_secret_values_are_never_echoed() -> None:
    result = run_service(
        "services.index", NEWSWIRE_ES_API_KEY="", NEWSWIRE_ES_REQUEST_TIMEOUT_S="hunter2-secret"
    )
    assert "invalid setting NEWSWIRE_ES_REQUEST_TIMEOUT_S" in result.stderr
    assert "hunter2" not in result.stderr


def test_orjson_dead_letter_payload_reason_roundtrip() -> None:
    assert metrics.dead_letter_reason(orjson.dumps({"reason": "too_large"})) == "too_large"
