"""Near-duplicates in ``python -m services.enrich`` on the real broker: across partitions and restarts.

An article and its copies are published on different partitions of ``articles.ingested``; every copy
must point at the first article, also after the worker was stopped and started again (the state is
rebuilt from the GlobalTable's changelog topic); an article older than the window leaves the changelog
(a tombstone) and is not recovered. The service runs under its own app id, so its consumer group and
changelog topic are its own; the topic is deleted at the end.

Other enrich workers on the shared broker (the running pipeline, other tests) enrich the same
events into the same ``articles.enriched`` topic, so this worker's decisions are read from its own
log: a ``near-duplicate`` line for each copy and none for the original, once it logged ``enriched``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from schemas.articles import Article
from schemas.topics import TOPICS
from services.runtime.kafka import end_offsets, ensure_topics, pipeline_topics
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings, TopicSettings
from tests.integration.test_enrich_service import (
    OUTPUT_WITHIN_S,
    STOP_WITHIN_S,
    EnrichProcess,
    enriched_with_ids,
    read_from,
    start_group_at_end,
)
from tests.unit.enrich.factories import article, ingested_event

pytestmark = pytest.mark.integration

READY_WITHIN_S = 90.0
STORY = [
    "The harbour authority of Port Elwood approved a new container terminal on Tuesday, ending a "
    "two-year dispute with the fishing crews who use the northern breakwater.",
    "The terminal will double the capacity of the port and is expected to open in the spring of 2027, "
    "the chair of the authority said after a vote that passed by seven votes to four.",
    "Fishing crews had argued that dredging the channel would damage the breakwater and the spawning "
    "grounds behind it, and had collected more than three thousand signatures against the plan.",
    "The authority promised to pay for a new fishing harbour on the southern shore before any "
    "construction starts, and to publish the results of an independent survey of the seabed.",
    "Shipping companies welcomed the decision, saying that the port had turned away larger vessels "
    "for years because its quays were too short and its channel too shallow for them.",
    "Opponents said they would ask the regional court to review the vote, which they described as "
    "rushed, and called on the national government to withhold its share of the funding.",
]


@pytest.fixture
def kafka() -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )


@pytest.fixture
def start_enrich(kafka: KafkaSettings, tmp_path: Path) -> Iterator[Callable[..., EnrichProcess]]:
    started: list[EnrichProcess] = []

    def start(app_id: str, **settings: str) -> EnrichProcess:
        env = {
            **{f"NEWSWIRE_ENRICH_{name.upper()}": value for name, value in settings.items()},
            **os.environ,
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "NEWSWIRE_ENRICH_APP_ID": app_id,
            # A fresh data directory for each run: nothing survives a restart but the changelogs.
            "NEWSWIRE_ENRICH_DATA_DIR": str(tmp_path / f"faust-{len(started)}"),
            "NEWSWIRE_ENRICH_METRICS_PORT": "0",  # the running pipeline's enrich may hold the default port
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


@pytest.fixture
def app_id(kafka: KafkaSettings) -> Iterator[str]:
    """A unique app id; its changelog topics are deleted afterwards."""
    name = f"newswire-dedup-test-{uuid.uuid4().hex[:12]}"
    yield name
    admin = KafkaAdminClient(**kafka.client_config(), client_id="newswire-dedup-test")
    try:
        mine = [topic for topic in admin.list_topics() if topic.startswith(name)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def publish_on(
    kafka: KafkaSettings, source: Article, partition: int, trace_id: str, topic: str = TOPICS.ingested
) -> None:
    event = ingested_event(source, trace_id=trace_id)
    producer = KafkaProducer(**kafka.client_config(), acks="all")
    try:
        producer.send(
            topic,
            key=source.id.encode(),
            value=orjson.dumps(event.model_dump(mode="json")),
            headers=[(TRACE_HEADER, trace_id.encode())],
            partition=partition,
        ).get(timeout=30)
    finally:
        producer.close()


def sprinkle(sentence: str, token: str) -> str:
    words = sentence.split()
    return " ".join(word if i % 4 else f"{token} {word}" for i, word in enumerate(words))


def wait_for_log(process: EnrichProcess, msg: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = process.logged(msg)
        if found:
            return found[0]
        assert process.proc.poll() is None, process.log_path.read_text()
        time.sleep(0.5)
    raise AssertionError(f"no {msg!r} log within {timeout_s}s:\n{process.log_path.read_text()}")


def test_copies_point_at_the_first_article_across_partitions_and_restarts(
    kafka: KafkaSettings, start_enrich: Callable[..., EnrichProcess], app_id: str
) -> None:
    run = uuid.uuid4().hex[:12]
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    start_group_at_end(kafka, app_id, TOPICS.ingested)
    enriched_start = end_offsets(kafka, TOPICS.enriched)
    t0 = datetime.now(UTC)
    # A run token in every 5-word window: the other workers on the broker, which remember earlier runs,
    # must see this run's original as an original too.
    story = [sprinkle(sentence, f"r{run}") for sentence in STORY]
    title = f"Port Elwood approves container terminal {run}"
    original = article(title=title, paragraphs=story, ingested_at=t0)
    edited = article(
        title=f"Container terminal approved after two-year dispute {run}",
        paragraphs=[story[0], story[1], story[3], story[2], story[5]],  # one dropped, two swapped
        ingested_at=t0 + timedelta(seconds=1),
    )
    identical = article(title=title, paragraphs=story, ingested_at=t0 + timedelta(seconds=2))
    after_restart = article(
        title=f"Fishing crews lose fight over Port Elwood terminal {run}",
        paragraphs=[*story[1:], "The authority declined to comment further on Wednesday."],
        ingested_at=t0 + timedelta(seconds=3),
    )
    assert identical.content_hash == original.content_hash and identical.id != original.id

    def decisions(process: EnrichProcess, ids: set[str]) -> dict[str, str | None]:
        """What ``process`` decided for ``ids``: duplicate_of, or None for an original."""
        deadline = time.monotonic() + OUTPUT_WITHIN_S
        while time.monotonic() < deadline:
            done = {entry["article_id"] for entry in process.logged("enriched")} & ids
            if done == ids:
                marked = {e["article_id"]: e["duplicate_of"] for e in process.logged("near-duplicate")}
                return {article_id: marked.get(article_id) for article_id in ids}
            assert process.proc.poll() is None, process.log_path.read_text()
            time.sleep(0.3)
        raise AssertionError(f"{ids} not all enriched:\n{process.log_path.read_text()}")

    service = start_enrich(app_id)
    publish_on(kafka, original, 0, f"dedup-it-{run}-original")
    assert decisions(service, {original.id}) == {original.id: None}
    publish_on(kafka, edited, 2, f"dedup-it-{run}-edited")
    publish_on(kafka, identical, 3, f"dedup-it-{run}-identical")
    assert decisions(service, {edited.id, identical.id}) == {
        edited.id: original.id,
        identical.id: original.id,
    }

    ready = wait_for_log(service, "enrich ready", READY_WITHIN_S)
    code, stop_s = service.stop()
    assert code == 0, service.log_path.read_text()
    assert stop_s < STOP_WITHIN_S

    restarted = start_enrich(app_id)
    ready_again = wait_for_log(restarted, "enrich ready", READY_WITHIN_S)
    recovered = wait_for_log(restarted, "near-duplicate state recovered", READY_WITHIN_S)
    assert recovered["signatures"] >= 3  # and whatever else was published meanwhile
    publish_on(kafka, after_restart, 1, f"dedup-it-{run}-after-restart")
    assert decisions(restarted, {after_restart.id}) == {after_restart.id: original.id}
    code, _ = restarted.stop()
    assert code == 0
    assert not [e for p in (service, restarted) for e in p.logs() if e.get("level") in ("error", "critical")]

    # The enriched events carry it (other workers' events for the same ids may be there too).
    events = read_from(
        kafka,
        TOPICS.enriched,
        enriched_start,
        lambda rs: bool(enriched_with_ids(rs, {after_restart.id})),
        OUTPUT_WITHIN_S,
    )
    marked = [
        event
        for event in enriched_with_ids(events, {edited.id, after_restart.id})
        if event.article.duplicate_of == original.id
    ]
    assert {event.article.id for event in marked} == {edited.id, after_restart.id}
    assert all(event.article.enrichers[-1].name == "near_duplicates" for event in marked)
    print(
        f"\ndedup startup_s first={ready['startup_s']} restarted={ready_again['startup_s']} "
        f"recovered signatures={recovered['signatures']} band_keys={recovered['band_keys']}"
    )


def decisions_of(process: EnrichProcess, ids: set[str]) -> dict[str, str | None]:
    """What ``process`` decided for ``ids`` once it enriched them all: duplicate_of, or None."""
    deadline = time.monotonic() + OUTPUT_WITHIN_S
    while time.monotonic() < deadline:
        if {entry["article_id"] for entry in process.logged("enriched")} >= ids:
            marked = {e["article_id"]: e["duplicate_of"] for e in process.logged("near-duplicate")}
            return {article_id: marked.get(article_id) for article_id in ids}
        assert process.proc.poll() is None, process.log_path.read_text()
        time.sleep(0.3)
    raise AssertionError(f"{ids} not all enriched:\n{process.log_path.read_text()}")


def changelog_records(kafka: KafkaSettings, app_id: str) -> list[tuple[str, bytes | None]]:
    """Every record of the service's near-duplicate changelog, in order: (article id, value or None)."""
    topic = f"{app_id}-near-duplicate-signatures-changelog"
    consumer = KafkaConsumer(**kafka.client_config(), enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        records: list[tuple[str, bytes | None]] = []
        deadline = time.monotonic() + OUTPUT_WITHIN_S
        while consumer.position(partition) < end and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend((orjson.loads(record.key), record.value) for record in batch)
        return records
    finally:
        consumer.close()


def test_an_article_older_than_the_window_is_deleted_from_the_changelog_and_not_recovered(
    kafka: KafkaSettings, start_enrich: Callable[..., EnrichProcess], app_id: str
) -> None:
    run = uuid.uuid4().hex[:12]
    # Topics of its own: no other article may move the newest ingested_at this worker has seen.
    own = {"input_topic": f"{app_id}-in", "output_topic": f"{app_id}-out"}
    ensure_topics(kafka, {**pipeline_topics(TopicSettings()), own["input_topic"]: 3, own["output_topic"]: 3})
    now = datetime.now(UTC)
    story = [sprinkle(sentence, f"w{run}") for sentence in STORY]
    window = {"duplicate_window_days": "1", "duplicate_window_slack_days": "0", **own}
    old = article(title=f"Port Elwood terminal {run}", paragraphs=story, ingested_at=now - timedelta(days=3))
    copy = article(title=f"Terminal approved {run}", paragraphs=story[1:], ingested_at=now)
    later_copy = article(
        title=f"Terminal row {run}", paragraphs=story[:5], ingested_at=now + timedelta(seconds=1)
    )

    service = start_enrich(app_id, **window)
    publish_on(kafka, old, 0, f"dedup-window-{run}-old", own["input_topic"])
    assert decisions_of(service, {old.id}) == {old.id: None}
    # Three days later: the old article is out of its window (a new root), and leaves the table.
    publish_on(kafka, copy, 1, f"dedup-window-{run}-copy", own["input_topic"])
    assert decisions_of(service, {copy.id}) == {copy.id: None}
    wait_for_log(service, "enrich ready", READY_WITHIN_S)
    code, _ = service.stop()
    assert code == 0, service.log_path.read_text()
    written = [(key, value is None) for key, value in changelog_records(kafka, app_id)]
    assert written == [(old.id, False), (copy.id, False), (old.id, True)]

    restarted = start_enrich(app_id, **window)
    recovered = wait_for_log(restarted, "near-duplicate state recovered", READY_WITHIN_S)
    assert (recovered["signatures"], recovered["indexed"]) == (1, 1)  # the tombstone was applied
    publish_on(kafka, later_copy, 2, f"dedup-window-{run}-later-copy", own["input_topic"])
    assert decisions_of(restarted, {later_copy.id}) == {later_copy.id: copy.id}
    code, _ = restarted.stop()
    assert code == 0
    assert not [e for p in (service, restarted) for e in p.logs() if e.get("level") in ("error", "critical")]
