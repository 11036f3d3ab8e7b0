"""Bad input never stops the flow; revisions never go backwards; dead letters can be replayed.

The bad-input catalogue (``tests/faults/bad_events.py``) goes through the running services, each
event interleaved with good articles; every bad one must reach ``articles.dlq`` with its reason,
stage and original bytes, and every good one must be indexed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, MessageSizeTooLargeError

from schemas.dead_letter import DeadLetter, FailureStage, SourceRecord
from schemas.envelope import new_envelope_fields
from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from services.index.handler import IndexHandler
from services.index.settings import Settings as IndexSettings
from services.ingest.handler import IngestHandler
from services.ingest.normalize import normalize
from services.ingest.parsing import parse_submission
from services.runtime.kafka import committed_offsets, ensure_topics, make_producer, pipeline_topics
from services.runtime.messages import TRACE_HEADER, Dropped, Emitted, Message
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline
from tests.faults.bad_events import HUGE_BYTES, JSON, HostileRecord, canary, catalogue, hostile_records

WAIT_S = 180.0
DLQ_PAYLOAD_MAX_BYTES = 1_048_576


@pytest.fixture(scope="module")
def running_pipeline(endpoints: Any, es: Elasticsearch) -> Iterator[None]:
    ensure_topics(KafkaSettings(), pipeline_topics(TopicSettings()))
    ensure_index(es)
    # A supervisor waiting out its backoff has no service pid but is still someone else's service.
    before = {proc.name for proc in pipeline.status(endpoints.state_dir) if proc.supervised or proc.running}
    pipeline.start(endpoints.state_dir)
    yield
    started_here = [name for name in pipeline.SERVICES if name not in before]
    # Their supervisors restart a service that crashed, which would hide it: their records must show none.
    crashed = [
        f"{proc.name}: {proc.restarts} restarts, last {proc.last_exit}: {proc.last_error}"
        for proc in pipeline.status(endpoints.state_dir, started_here)
        if proc.restarts or proc.last_exit_code is not None
    ]
    # A service stopping right after a rebalance may wait out LeaveGroup (about 30 s).
    stopped = pipeline.stop(endpoints.state_dir, started_here, timeout=90)
    assert all(stopped.values()), f"services did not stop on SIGTERM: {stopped}"
    assert not crashed, f"services exited on their own during the tests: {crashed}"


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(1.0)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def end_offsets(kafka: KafkaSettings, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**kafka.client_config())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close()


def records_since(kafka: KafkaSettings, start: dict[TopicPartition, int]) -> list[Any]:
    consumer = KafkaConsumer(
        **kafka.client_config(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    try:
        consumer.assign(list(start))
        end = consumer.end_offsets(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        records: list[Any] = []
        while any(consumer.position(tp) < end[tp] for tp in start):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def dead_letters_by_trace(kafka: KafkaSettings, start: dict[TopicPartition, int]) -> dict[str, DeadLetter]:
    letters = {}
    for record in records_since(kafka, start):
        letter = DeadLetter.model_validate(orjson.loads(record.value))
        letters[letter.source_record.headers.get(TRACE_HEADER) or letter.trace_id] = letter
    return letters


def good_article(run_id: str, n: int, **extra: Any) -> bytes:
    return orjson.dumps(
        {
            "title": f"Good article {n} of bad-input run {run_id}",
            "body": f"Good events keep flowing between bad ones.\n\nParagraph two of article {n}.",
            "url": f"https://bad-input.newswire.test/{run_id}/{n}",
            **extra,
        }
    )


def article_id_of(value: bytes, content_type: str | None = None) -> str:
    return normalize(parse_submission(value, content_type)).id


def newswire(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
        check=False,
    )


def test_every_bad_event_is_dead_lettered_and_good_events_keep_flowing(
    running_pipeline: None, es: Elasticsearch
) -> None:
    kafka = KafkaSettings()
    run_id = uuid.uuid4().hex[:12]
    dlq_start = end_offsets(kafka, TOPICS.dlq)
    events = catalogue()
    assert len({event.kind for event in events}) >= 30

    hostile_html = (
        f"<html><head><title>Hostile page {run_id}</title><script>alert('head')</script></head><body>"
        f"<article><h1>Scripts are stripped from page {run_id}</h1><script>document.write('evil')</script>"
        "<p>The article text survives although the page is full of scripts and handlers.</p>"
        "<p onclick=\"alert('x')\">A second paragraph with an inline handler.</p></article></body></html>"
    ).encode()
    good: list[tuple[bytes, str]] = [
        (good_article(run_id, n), "application/json") for n in range(len(events))
    ]
    good.append((hostile_html, "text/html"))
    expected_ids = {article_id_of(value, content_type) for value, content_type in good}

    producer = make_producer(kafka, "test-bad-input")
    bad_traces: dict[str, Any] = {}
    try:
        for n, event in enumerate(events):
            trace_id = f"bad-{run_id}-{event.kind}"
            bad_traces[trace_id] = event
            producer.send(event.topic, key=event.key, value=event.value, headers=event.headers(trace_id))
            value, content_type = good[n]
            headers = [(TRACE_HEADER, f"good-{run_id}-{n}".encode()), ("content-type", content_type.encode())]
            producer.send(TOPICS.raw, value=value, headers=headers)
        producer.send(TOPICS.raw, value=good[-1][0], headers=[("content-type", b"text/html")])
        # The same submission twice (a publisher retry): one document, nothing dead-lettered.
        producer.send(TOPICS.raw, value=good[0][0], headers=[(TRACE_HEADER, f"good-{run_id}-0".encode())])
        producer.flush()
    finally:
        producer.close()

    def indexed() -> set[str]:
        es.indices.refresh(index=ALIAS)
        found = es.mget(index=ALIAS, ids=sorted(expected_ids), source_includes=["id"])["docs"]
        return {doc["_id"] for doc in found if doc.get("found")}

    wait_for(lambda: indexed() == expected_ids, "every good article in the index")
    letters = wait_for(
        lambda: (
            (found := dead_letters_by_trace(kafka, dlq_start)) and set(bad_traces) <= set(found) and found
        ),
        "every bad event on the DLQ",
    )
    problems = []
    for trace_id, event in bad_traces.items():
        letter = letters[trace_id]
        original = event.value or b""
        if (str(letter.stage), letter.reason) != (event.stage, event.reason):
            problems.append(
                f"{event.kind}: {letter.stage}/{letter.reason}, expected {event.stage}/{event.reason}"
            )
        if letter.payload() != original[:DLQ_PAYLOAD_MAX_BYTES] or letter.payload_size != len(original):
            problems.append(f"{event.kind}: the DLQ payload is not the (capped) original")
        if letter.payload_truncated != (len(original) > DLQ_PAYLOAD_MAX_BYTES):
            problems.append(f"{event.kind}: payload_truncated is {letter.payload_truncated}")
        if letter.source_record.topic != event.topic or not letter.detail:
            problems.append(f"{event.kind}: source {letter.source_record.topic}, detail {letter.detail!r}")
    assert not problems, "\n".join(problems)
    good_traces = {trace for trace in letters if trace.startswith(f"good-{run_id}")}
    assert not good_traces, f"good events were dead-lettered: {good_traces}"

    hostile = es.get(index=ALIAS, id=article_id_of(hostile_html, "text/html"))["_source"]
    assert "The article text survives" in hostile["body"]
    assert "alert" not in hostile["body"] and "evil" not in hostile["body"]


def test_hostile_records_on_every_topic_are_dead_lettered_and_canaries_behind_them_indexed(
    running_pipeline: None, endpoints: Any, es: Elasticsearch
) -> None:
    """Issue 10: whatever is written to articles.raw, .ingested or .enriched, no service stops.

    Each hostile record (tests/faults/bad_events.py, ``hostile_records``) is followed by a normal
    canary on the same partition; every canary must become searchable, every hostile record must be
    on the DLQ with its stage and reason (or, if valid whatever else is odd about it, indexed), and
    no service may have exited meanwhile. All records go out first and are waited for once.
    """
    kafka = KafkaSettings()
    run_id = uuid.uuid4().hex[:12]
    dlq_start = end_offsets(kafka, TOPICS.dlq)
    restarts_before = {proc.name: proc.restarts for proc in pipeline.status(endpoints.state_dir)}
    producer = make_producer(kafka, "test-hostile")
    sent: list[tuple[HostileRecord, Any]] = []
    expected_ids: dict[str, str] = {}
    try:
        for topic in (TOPICS.raw, TOPICS.ingested, TOPICS.enriched):
            partitions = sorted(producer.partitions_for(topic))
            for n, case in enumerate(hostile_records(topic, run_id)):
                partition = partitions[n % len(partitions)]
                future = producer.send(
                    topic, key=case.key, value=case.value, headers=list(case.headers), partition=partition
                )
                sent.append((case, future))
                if case.article_id:
                    expected_ids[case.article_id] = f"{topic} {case.kind} itself"
                value, article_id = canary(topic, run_id, n)
                headers = [("content-type", JSON.encode())] if topic == TOPICS.raw else []
                # articles.ingested is compacted: the broker refuses a record without a key there.
                key = None if topic == TOPICS.raw else article_id.encode()
                producer.send(topic, key=key, value=value, headers=headers, partition=partition)
                expected_ids[article_id] = f"the canary behind {topic} {case.kind}"
        producer.flush(timeout=120)
    finally:
        producer.close()
    positions = {}
    for case, future in sent:
        metadata = future.get(timeout=60)
        positions[(metadata.topic, metadata.partition, metadata.offset)] = case
    dead_lettered = {position: case for position, case in positions.items() if case.reason}

    def missing_documents() -> set[str]:
        es.indices.refresh(index=ALIAS)
        found = es.mget(index=ALIAS, ids=sorted(expected_ids), source_includes=["id"])["docs"]
        return set(expected_ids) - {doc["_id"] for doc in found if doc.get("found")}

    deadline = time.monotonic() + WAIT_S
    while (missing := missing_documents()) and time.monotonic() < deadline:
        time.sleep(2.0)
    assert not missing, "not searchable: " + ", ".join(sorted(expected_ids[i] for i in missing))

    def letters_by_position() -> dict[tuple[str, int, int], list[DeadLetter]]:
        # Other consumer groups (other tests' services) may dead-letter the same record too.
        letters: dict[tuple[str, int, int], list[DeadLetter]] = {}
        for record in records_since(kafka, dlq_start):
            letter = DeadLetter.model_validate_json(record.value)
            source = letter.source_record
            letters.setdefault((source.topic, source.partition, source.offset), []).append(letter)
        return letters

    def problems_with(case: HostileRecord, letter: DeadLetter) -> list[str]:
        where = f"{case.topic} {case.kind}"
        problems = []
        if (str(letter.stage), str(letter.reason)) != (case.stage, case.reason):
            problems.append(f"{where}: {letter.stage}/{letter.reason}, expected {case.stage}/{case.reason}")
        original = case.value or b""
        if letter.payload() != original[:DLQ_PAYLOAD_MAX_BYTES] or letter.payload_size != len(original):
            problems.append(f"{where}: the DLQ payload is not the (capped) original")
        problems.extend(problem for check in case.checks if (problem := check(letter)))
        return problems

    letters = wait_for(
        lambda: (found := letters_by_position()) and set(dead_lettered) <= set(found) and found,
        "every hostile record on the DLQ",
    )
    problems = []
    for position, case in dead_lettered.items():
        found = [problems_with(case, letter) for letter in letters[position]]
        if all(found):
            problems.extend(found[-1])
    assert not problems, "\n".join(problems)
    stray = [
        f"{case.topic} {case.kind}"
        for position, case in positions.items()
        if not case.reason and position in letters
    ]
    assert not stray, f"valid records were dead-lettered: {stray}"
    restarts = {
        proc.name: proc.restarts - restarts_before.get(proc.name, 0)
        for proc in pipeline.status(endpoints.state_dir)
    }
    assert not any(restarts.values()), f"services restarted meanwhile: {restarts}"
    assert all(proc.running for proc in pipeline.status(endpoints.state_dir)), "a service is down"


def test_a_20mb_message_is_refused_to_its_publisher_or_dead_lettered(running_pipeline: None) -> None:
    """20 MB is never lost silently: refused by the producer, by the broker, or dead-lettered by ingest.

    The producers' 16 MiB limit applies to the record as sent, the broker's to the compressed batch:
    a highly compressible 20 MB message from a publisher with a higher client limit does get in,
    and ingest rejects it as ``too_large`` before decoding a byte of it.
    """
    kafka = KafkaSettings()
    run_id = uuid.uuid4().hex[:12]
    huge = orjson.dumps({"title": f"Far too big {run_id}", "body": "x" * HUGE_BYTES})
    producer = make_producer(kafka, "test-huge")
    try:
        with pytest.raises(MessageSizeTooLargeError):
            producer.send(TOPICS.raw, value=huge)
    finally:
        producer.close()

    uncompressed = make_producer(
        kafka, "test-huge-raw", max_request_size=64 * 1024 * 1024, compression_type=None
    )
    try:
        future = uncompressed.send(TOPICS.raw, value=huge)
        uncompressed.flush(timeout=60)
        assert future.failed(), "the broker accepted a 20 MB record"
        assert isinstance(future.exception, KafkaError)
    finally:
        uncompressed.close()

    dlq_start = end_offsets(kafka, TOPICS.dlq)
    trace_id = f"huge-{run_id}"
    compressed = make_producer(kafka, "test-huge-gzip", max_request_size=64 * 1024 * 1024)
    try:
        compressed.send(TOPICS.raw, value=huge, headers=[(TRACE_HEADER, trace_id.encode())]).get(60)
    finally:
        compressed.close()
    letters = wait_for(
        lambda: (found := dead_letters_by_trace(kafka, dlq_start)) and trace_id in found and found,
        "the 20 MB message on the DLQ",
    )
    letter = letters[trace_id]
    assert (letter.stage, letter.reason) == (FailureStage.INGEST, "too_large")
    assert letter.payload_size == len(huge) and letter.payload_truncated
    assert letter.payload() == huge[:DLQ_PAYLOAD_MAX_BYTES]


def test_a_20mb_body_that_does_reach_ingest_is_rejected_before_parsing() -> None:
    huge = orjson.dumps({"title": "Far too big", "body": "x" * HUGE_BYTES})
    started = time.perf_counter()
    outcome = IngestHandler().handle(Message(TOPICS.raw, 0, 0, None, huge))
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"20 MB submission rejected in {elapsed_ms:.2f} ms")
    assert getattr(outcome, "reason", None) == "too_large"


def test_an_older_revision_never_overwrites_a_newer_one(es: Elasticsearch) -> None:
    """Revision 2 indexed, revision 1 replayed afterwards: the document stays at revision 2."""
    from tests.unit.index.factories import enriched_article, enriched_event, message

    ensure_index(es)
    article_id = uuid.uuid4().hex
    newer = enriched_event(enriched_article(article_id, title="Revision two", revision=2_000))
    older = enriched_event(enriched_article(article_id, title="Revision one", revision=1_000))
    handler = IndexHandler(es)
    try:
        assert isinstance(handler.process([message(newer, 0)])[0], Emitted)
        assert handler.process([message(older, 1)]) == [Dropped("stale_revision", article_id)]
        # The same revision again (a redelivery) is an idempotent rewrite, not a conflict.
        assert isinstance(handler.process([message(newer, 2)])[0], Emitted)
        doc = es.get(index=ALIAS, id=article_id)
        assert (doc["_source"]["title"], doc["_source"]["revision"], doc["_version"]) == (
            "Revision two",
            2_000,
            2_000,
        )
    finally:
        es.delete(index=ALIAS, id=article_id, refresh=True)


def test_an_older_revision_published_later_loses_in_the_running_pipeline(
    running_pipeline: None, es: Elasticsearch
) -> None:
    kafka = KafkaSettings()
    run_id = uuid.uuid4().hex[:12]
    published = datetime.now(UTC) - timedelta(days=1)
    newer = good_article(
        run_id, 0, title=f"Revision two of {run_id}", updated_at=published + timedelta(hours=2)
    )
    older = good_article(
        run_id, 0, title=f"Revision one of {run_id}", updated_at=published + timedelta(hours=1)
    )
    article_id = article_id_of(newer)
    enriched_start = end_offsets(kafka, TOPICS.enriched)
    producer = make_producer(kafka, "test-revisions")
    try:
        producer.send(TOPICS.raw, value=newer, headers=[(TRACE_HEADER, f"rev2-{run_id}".encode())]).get(30)
        wait_for(lambda: es.exists(index=ALIAS, id=article_id), "revision 2 in the index")
        producer.send(TOPICS.raw, value=older, headers=[(TRACE_HEADER, f"rev1-{run_id}".encode())]).get(30)
    finally:
        producer.close()

    def older_enriched() -> Any:
        return next(
            (
                r
                for r in records_since(kafka, enriched_start)
                if (TRACE_HEADER, f"rev1-{run_id}".encode()) in r.headers
            ),
            None,
        )

    record = wait_for(older_enriched, "revision 1 on articles.enriched")
    group = IndexSettings().group_id
    wait_for(
        lambda: committed_offsets(kafka, group, TOPICS.enriched).get(record.partition, 0) > record.offset,
        "the index service to have processed revision 1",
    )
    doc = es.get(index=ALIAS, id=article_id)["_source"]
    assert doc["title"] == f"Revision two of {run_id}"
    assert doc["revision"] == int((published + timedelta(hours=2)).timestamp() * 1000)


def test_dlq_replay_republishes_the_original_once(running_pipeline: None, es: Elasticsearch) -> None:
    """A good event dead-lettered by a (since fixed) bug is replayed, once, with its original time."""
    kafka = KafkaSettings()
    run_id = uuid.uuid4().hex[:12]
    trace_id = f"replay-{run_id}"
    value = good_article(run_id, 0)
    article_id = article_id_of(value)
    original_ms = int((datetime.now(UTC) - timedelta(hours=3)).timestamp() * 1000)
    payload_b64, size, truncated = DeadLetter.encode_payload(value, DLQ_PAYLOAD_MAX_BYTES)
    letter = DeadLetter(
        **new_envelope_fields("ingest", trace_id),
        stage=FailureStage.INGEST,
        reason="unhandled_error",
        detail="RuntimeError: a bug since fixed",
        source_record=SourceRecord(
            topic=TOPICS.raw,
            partition=0,
            offset=0,
            timestamp_ms=original_ms,
            headers={TRACE_HEADER: trace_id, "content-type": "application/json"},
        ),
        payload_b64=payload_b64,
        payload_size=size,
        payload_truncated=truncated,
    )
    raw_start = end_offsets(kafka, TOPICS.raw)
    producer = KafkaProducer(**kafka.client_config())
    try:
        producer.send(TOPICS.dlq, value=orjson.dumps(letter.model_dump(mode="json"))).get(30)
    finally:
        producer.close()

    listed = newswire("dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert any(row["reason"] == "unhandled_error" for row in json.loads(listed.stdout)["by_reason"])
    shown = newswire("dlq", "show", "--trace-id", trace_id, "--json")
    assert shown.returncode == 0, shown.stderr
    (entry,) = json.loads(shown.stdout)
    assert entry["detail"] == "RuntimeError: a bug since fixed" and entry["source"]["topic"] == TOPICS.raw

    dry = newswire("dlq", "replay", "--trace-id", trace_id, "--dry-run", "--json")
    assert [row["status"] for row in json.loads(dry.stdout)["results"]] == ["would replay"]
    first = newswire("dlq", "replay", "--trace-id", trace_id, "--json")
    assert first.returncode == 0, first.stderr
    assert [row["status"] for row in json.loads(first.stdout)["results"]] == ["replayed"]
    wait_for(lambda: es.exists(index=ALIAS, id=article_id), "the replayed article in the index")

    again = newswire("dlq", "replay", "--trace-id", trace_id, "--json")
    assert [row["status"] for row in json.loads(again.stdout)["results"]] == [
        "skipped: already replayed (use --force)"
    ]
    forced = newswire("dlq", "replay", "--trace-id", trace_id, "--force", "--json")
    assert [row["status"] for row in json.loads(forced.stdout)["results"]] == ["replayed"]

    replays = [
        record
        for record in records_since(kafka, raw_start)
        if (TRACE_HEADER, trace_id.encode()) in record.headers
    ]
    assert len(replays) == 2
    for record in replays:
        assert record.value == value and record.timestamp == original_ms
        assert ("newswire-replay-of", f"dlq/{_dlq_position(kafka, trace_id)}".encode()) in record.headers
    es.indices.refresh(index=ALIAS)
    hits = es.search(index=ALIAS, query={"term": {"id": article_id}})["hits"]["total"]["value"]
    assert hits == 1
    assert es.get(index=ALIAS, id=article_id)["_source"]["revision"] == original_ms


def _dlq_position(kafka: KafkaSettings, trace_id: str) -> str:
    start = {tp: 0 for tp in end_offsets(kafka, TOPICS.dlq)}
    for record in records_since(kafka, start):
        letter = DeadLetter.model_validate(orjson.loads(record.value))
        if letter.trace_id == trace_id:
            return f"{record.partition}/{record.offset}"
    raise AssertionError(f"no dead letter with trace {trace_id}")
