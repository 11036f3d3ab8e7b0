"""``python -m services.enrich`` against the real broker: enrich, dead-letter, stop on SIGTERM, resume.

The pipeline topics are shared with anything else running, so the test runs the service under its
own faust app id (its own consumer group), starts that group at the current end of
``articles.ingested`` so it ignores older events, and recognises its own records by fresh ids.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError

from schemas.dead_letter import DeadLetter
from schemas.envelope import ArticleEnriched
from schemas.topics import TOPICS
from services.runtime.header_names import tolerate_non_utf8_header_names
from services.runtime.kafka import committed_offsets, end_offsets, ensure_topics, pipeline_topics
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings, TopicSettings
from tests.unit.enrich.factories import article, ingested_event

pytestmark = pytest.mark.integration
ModelT = TypeVar("ModelT", bound=BaseModel)

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 10.0
OUTPUT_WITHIN_S = 60.0
# After a restart the new member may wait out the old one's session (faust's default 60 s) before
# it gets the partitions back, on a loaded machine: give it that plus the start-up.
OUTPUT_AFTER_RESTART_WITHIN_S = 150.0


class EnrichProcess:
    """One ``python -m services.enrich`` subprocess with its JSON log lines collected from a file."""

    def __init__(self, env: dict[str, str], log_path: Path, module: str = "services.enrich") -> None:
        self.log_path = log_path
        self.log_file = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    def logs(self) -> list[dict[str, Any]]:
        """The JSON lines written so far; the last one only once it is complete (the process writes on)."""
        *complete, _partial = self.log_path.read_text(encoding="utf-8", errors="replace").split("\n")
        return [json.loads(line) for line in complete if line.startswith("{")]

    def logged(self, msg: str) -> list[dict[str, Any]]:
        return [entry for entry in self.logs() if entry.get("msg") == msg]

    def stop(self) -> tuple[int | None, float]:
        """SIGTERM; the exit code (None if it had to be killed) and seconds it took."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout=STOP_WITHIN_S * 3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self.log_file.close()
        return code, time.monotonic() - started


@pytest.fixture
def kafka() -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )


@pytest.fixture
def start_enrich(kafka: KafkaSettings, tmp_path: Path) -> Iterator[Callable[[str], EnrichProcess]]:
    """Starts the service as a subprocess under a given app id; kills what is left at the end."""
    started: list[EnrichProcess] = []

    def start(app_id: str, **settings: str) -> EnrichProcess:
        """``settings``: more environment variables, over the defaults below."""
        env = {
            **os.environ,
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "NEWSWIRE_ENRICH_APP_ID": app_id,
            "NEWSWIRE_ENRICH_METRICS_PORT": "0",  # the running pipeline may hold the default port
            "NEWSWIRE_ENRICH_DATA_DIR": str(tmp_path / "faust"),
            # No periodic commit during the test: offsets found committed were committed on SIGTERM.
            "NEWSWIRE_ENRICH_COMMIT_INTERVAL_S": "600",
            # Commits that never move while records wait are exactly what the stall watchdog ends
            # (test_enrich_watchdog.py proves that); here they are the test's choice.
            "NEWSWIRE_ENRICH_STALL_TIMEOUT_S": "0",
            **settings,
        }
        process = EnrichProcess(env, tmp_path / f"enrich-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()
        process.log_file.close()


def wait_for_own(
    process: EnrichProcess, msg: str, matches: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    """The first ``msg`` line of ``process``'s log that ``matches``, waited for up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [entry for entry in process.logged(msg) if matches(entry)]
        if found:
            return found[0]
        assert process.proc.poll() is None, process.log_path.read_text()
        time.sleep(0.5)
    raise AssertionError(f"no matching {msg!r} within {timeout_s}s:\n{process.log_path.read_text()[-20000:]}")


def start_group_at_end(kafka: KafkaSettings, group_id: str, topic: str) -> dict[int, int]:
    """Commit ``group_id`` at the end of ``topic`` so a new consumer ignores what is already there."""
    ends = end_offsets(kafka, topic)
    consumer = KafkaConsumer(**kafka.client_config(), group_id=group_id, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, partition) for partition in ends])
        consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(end, "", -1) for p, end in ends.items()})
    finally:
        consumer.close(autocommit=False)
    return ends


def read_from(
    kafka: KafkaSettings,
    topic: str,
    start: dict[int, int],
    until: Callable[[list[Any]], bool],
    timeout_s: float,
) -> list[Any]:
    """Records of ``topic`` after ``start`` offsets, read until ``until(records)`` or the timeout."""
    tolerate_non_utf8_header_names()  # the bad-input tests write such headers to the shared topics
    consumer = KafkaConsumer(**kafka.client_config(), enable_auto_commit=False, consumer_timeout_ms=500)
    records: list[Any] = []
    try:
        partitions = [TopicPartition(topic, p) for p in start]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not until(records):
            records.extend(consumer)
        return records
    finally:
        consumer.close()


def valid(model: type[ModelT], records: list[Any]) -> list[ModelT]:
    """The records that are ``model``s; others on the shared broker write anything (bad-input tests)."""
    parsed = []
    for record in records:
        try:
            parsed.append(model.model_validate_json(record.value or b""))
        except ValidationError:
            continue
    return parsed


def enriched_with_ids(records: list[Any], article_ids: set[str]) -> list[ArticleEnriched]:
    return [e for e in valid(ArticleEnriched, records) if e.article.id in article_ids]


def dead_letters_with_trace(records: list[Any], trace_id: str) -> list[DeadLetter]:
    return [letter for letter in valid(DeadLetter, records) if letter.trace_id == trace_id]


def publish(
    kafka: KafkaSettings, *records: tuple[bytes | None, bytes, list[tuple[str, bytes]]]
) -> list[tuple[int, int]]:
    """Produce to ``articles.ingested``; the (partition, offset) each record got."""
    producer = KafkaProducer(**kafka.client_config(), acks="all")
    try:
        sent = [
            producer.send(TOPICS.ingested, key=key, value=value, headers=headers)
            for key, value, headers in records
        ]
        return [(meta.partition, meta.offset) for meta in (future.get(timeout=30) for future in sent)]
    finally:
        producer.close()


def test_enrich_service_enriches_dead_letters_stops_on_sigterm_and_resumes_without_replaying(
    kafka: KafkaSettings, start_enrich: Callable[[str], EnrichProcess]
) -> None:
    run = uuid.uuid4().hex[:12]
    app_id = f"newswire-enrich-test-{run}"
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    start_group_at_end(kafka, app_id, TOPICS.ingested)
    enriched_start = end_offsets(kafka, TOPICS.enriched)
    dlq_start = end_offsets(kafka, TOPICS.dlq)

    first = ingested_event(article(), trace_id=f"enrich-it-{run}-valid")
    garbage_trace = f"enrich-it-{run}-garbage"
    garbage = b"this is not an event {" + run.encode()
    first_id = first.article.id
    positions = publish(
        kafka,
        (
            first_id.encode(),
            orjson.dumps(first.model_dump(mode="json")),
            [(TRACE_HEADER, first.trace_id.encode())],
        ),
        # Keyed: articles.ingested is compacted, and the broker refuses unkeyed records there.
        (f"garbage-{run}".encode(), garbage, [(TRACE_HEADER, garbage_trace.encode())]),
    )

    service = start_enrich(app_id)
    # Its own decisions come from its log: other enrich groups on the shared broker (the running
    # pipeline) may read the same events and write the same outputs.
    wait_for_own(service, "enriched", lambda e: e.get("article_id") == first_id, OUTPUT_WITHIN_S)
    wait_for_own(service, "dead-lettered", lambda e: e.get("trace_id") == garbage_trace, OUTPUT_WITHIN_S)
    enriched = enriched_with_ids(
        read_from(
            kafka,
            TOPICS.enriched,
            enriched_start,
            lambda rs: bool(enriched_with_ids(rs, {first_id})),
            OUTPUT_WITHIN_S,
        ),
        {first_id},
    )
    assert enriched, service.log_path.read_text()
    for out in enriched:
        assert out.trace_id == first.trace_id
        assert out.producer == "enrich"
        assert out.article.language == "en"
        assert out.article.word_count > 0
        names = [run_.name for run_ in out.article.enrichers]
        assert names[:3] == ["language", "word_count", "reading_time"]
        assert names[-1] == "near_duplicates"

    letters = dead_letters_with_trace(
        read_from(
            kafka,
            TOPICS.dlq,
            dlq_start,
            lambda rs: bool(dead_letters_with_trace(rs, garbage_trace)),
            OUTPUT_WITHIN_S,
        ),
        garbage_trace,
    )
    assert letters
    assert {letter.reason for letter in letters} == {"invalid_json"}
    assert all(letter.payload() == garbage for letter in letters)

    [ready] = service.logged("enrich ready")
    code, stop_s = service.stop()
    assert code == 0, service.log_path.read_text()
    assert stop_s < STOP_WITHIN_S
    assert not [e for e in service.logs() if e.get("level") in ("error", "critical")]
    committed = committed_offsets(kafka, app_id, TOPICS.ingested)
    assert all(committed[partition] > offset for partition, offset in positions)  # committed on SIGTERM

    # A restart under the same group must carry on after what was committed: only the new event
    # comes out, the first one and the garbage are not processed again.
    second = ingested_event(article(), trace_id=f"enrich-it-{run}-second")
    publish(kafka, (second.article.id.encode(), orjson.dumps(second.model_dump(mode="json")), []))
    restarted = start_enrich(app_id)
    ids = {first_id, second.article.id}
    wait_for_own(
        restarted,
        "enriched",
        lambda e: e.get("article_id") == second.article.id,
        OUTPUT_AFTER_RESTART_WITHIN_S,
    )
    after_restart = enriched_with_ids(
        read_from(
            kafka,
            TOPICS.enriched,
            enriched_start,
            lambda rs: second.article.id in {e.article.id for e in enriched_with_ids(rs, ids)},
            OUTPUT_WITHIN_S,
        ),
        ids,
    )
    assert {e.article.id for e in after_restart} == ids
    code, stop_s = restarted.stop()
    assert code == 0 and stop_s < STOP_WITHIN_S
    # What the restarted service itself did: the new event, neither the first one nor the garbage again.
    assert {entry["article_id"] for entry in restarted.logged("enriched")} & ids == {second.article.id}
    assert not [e for e in restarted.logged("dead-lettered") if e.get("trace_id") == garbage_trace]

    cpu_ms = [entry["cpu_ms"] for p in (service, restarted) for entry in p.logged("enriched")]
    print(f"\nenrich startup_s={ready['startup_s']} stop_s={stop_s:.2f} per-article cpu_ms={cpu_ms}")
