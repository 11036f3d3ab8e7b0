"""The index service against a real Elasticsearch and Kafka.

Kafka and Elasticsearch come from the session fixtures in ``tests/conftest.py`` (``endpoints``,
``es``). Handler tests write to a throwaway index (own alias, mappings copied from the committed template)
and delete it afterwards. The service test runs ``python -m services.index`` on the real
``articles.enriched`` topic with its own consumer group, which starts at the topic's end so it
only reads what the test produces; its documents are deleted by id.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from schemas.articles import EnricherRun
from schemas.envelope import ArticleEnriched
from schemas.search_index import ALIAS, INDEX, TEMPLATE_NAME, index_template
from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from services.index.handler import IndexHandler
from services.runtime.kafka import ensure_topics, pipeline_topics
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Dropped, Emitted, Rejected, TransientError
from services.runtime.settings import KafkaSettings, TopicSettings
from tests.integration.endpoints import free_port, ready, scrape, value
from tests.unit.index.factories import enriched_article, enriched_event, event_bytes, message

pytestmark = pytest.mark.integration

BBC_CORPUS = Path("/work/shared/corpora/bbc-news")
REPO_ROOT = Path(__file__).resolve().parents[2]
# Lucene refuses a single indexed term longer than this many bytes (keyword fields are one term).
MAX_TERM_BYTES = 32_766


@pytest.fixture(scope="module")
def template_analysis_error(es: Elasticsearch) -> str | None:
    """Why this cluster cannot build the committed template's analyzers (None when it can).

    They need the newswire analysis plugin and the core analysis module (``keyword`` tokenizer).
    """
    probe = f"newswire-test-probe-{uuid.uuid4().hex}"
    settings = index_template()["template"]["settings"]
    try:
        es.indices.create(index=probe, settings={"analysis": settings["analysis"]})
    except BadRequestError as exc:
        plugins = es.cat.plugins(h="component")
        return f"{exc} (installed plugins: {plugins.strip() or 'none'})"
    es.indices.delete(index=probe)
    return None


@pytest.fixture
def test_alias(es: Elasticsearch, template_analysis_error: str | None) -> Iterator[str]:
    """An alias over a fresh index mapped like the template (standard analyzers without the plugin)."""
    name = f"newswire-test-{uuid.uuid4().hex[:12]}"
    body = copy.deepcopy(index_template()["template"])
    if template_analysis_error:
        # Only ``english_text`` is referenced by the mappings; the core's standard analyzer stands in.
        body["settings"]["analysis"] = {"analyzer": {"english_text": {"type": "standard"}}}
    es.indices.create(
        index=f"{name}-index", settings=body["settings"], mappings=body["mappings"], aliases={name: {}}
    )
    yield name
    es.indices.delete(index=f"{name}-index", ignore_unavailable=True)


@pytest.fixture(scope="module")
def kafka_settings(endpoints: Any) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap, startup_timeout_s=10)


def bbc_articles(count: int) -> list[dict[str, Any]]:
    """Title and paragraphs of real news stories when the corpus is present, else synthetic ones."""
    files = sorted(BBC_CORPUS.glob("*/*.txt"))[:count]
    stories = []
    for path in files:
        lines = [line.strip() for line in path.read_text(encoding="latin-1").splitlines() if line.strip()]
        if len(lines) >= 2:
            stories.append({"title": lines[0], "paragraphs": lines[1:]})
    while len(stories) < count:
        n = len(stories)
        stories.append({"title": f"Story {n}", "paragraphs": [f"Body of synthetic story number {n}."]})
    return stories


def bbc_events(count: int) -> tuple[list[ArticleEnriched], list[str]]:
    """``count`` enriched events of real stories, and their article ids."""
    events = [enriched_event(enriched_article(**story)) for story in bbc_articles(count)]
    return events, [event.article.id for event in events]


def count_ids(es: Elasticsearch, index: str, ids: list[str]) -> int:
    return int(es.count(index=index, query={"ids": {"values": ids}})["count"])


def count_ids_once_created(es: Elasticsearch, index: str, ids: list[str]) -> int:
    try:
        return count_ids(es, index, ids)
    except ApiError as exc:
        if exc.status_code in (404, 503):
            return 0  # the service has not created the index yet, or its shard is still starting
        raise


def test_handler_indexes_a_batch(es: Elasticsearch, test_alias: str) -> None:
    events, ids = bbc_events(20)
    handler = IndexHandler(es, alias=test_alias)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert outcomes == [Emitted((), event.article.id, event.trace_id) for event in events]
    es.indices.refresh(index=test_alias)
    assert count_ids(es, test_alias, ids) == len(events)
    sample = events[3]
    stored = es.get(index=test_alias, id=sample.article.id)["_source"]
    assert stored["title"] == sample.article.title
    assert stored["trace_id"] == sample.trace_id
    title_words = " ".join(sample.article.title.split()[:3])
    hits = es.search(index=test_alias, query={"match_phrase": {"title": title_words}})["hits"]["hits"]
    assert sample.article.id in [hit["_id"] for hit in hits]


def test_same_event_twice_leaves_one_document(es: Elasticsearch, test_alias: str) -> None:
    event = enriched_event()
    handler = IndexHandler(es, alias=test_alias)

    in_one_batch = handler.process([message(event, 0), message(event, 1)])
    redelivered = handler.process([message(event, 0)])

    assert in_one_batch == [
        Dropped("superseded_in_batch", event.article.id),
        Emitted((), event.article.id, event.trace_id),
    ]
    assert redelivered == [Emitted((), event.article.id, event.trace_id)]
    es.indices.refresh(index=test_alias)
    assert count_ids(es, test_alias, [event.article.id]) == 1
    assert es.count(index=test_alias)["count"] == 1
    # External versioning: the document's version is the article's revision, and rewriting the
    # same revision (a redelivery) is accepted rather than refused as a conflict.
    assert es.get(index=test_alias, id=event.article.id)["_version"] == event.article.revision


def test_document_elasticsearch_refuses_is_rejected_and_the_rest_indexed(
    es: Elasticsearch, test_alias: str
) -> None:
    # Lineage names are keywords without ignore_above: one over Lucene's term limit is refused.
    huge_name = "enricher-" + "a" * (MAX_TERM_BYTES + 10)
    refused = enriched_event(enriched_article(enrichers=[EnricherRun(name=huge_name, version="1")]))
    fine = [enriched_event() for _ in range(2)]
    handler = IndexHandler(es, alias=test_alias)

    outcomes = handler.process([message(fine[0], 0), message(refused, 1), message(fine[1], 2)])

    rejected = outcomes[1]
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "es_rejected"
    assert rejected.article_id == refused.article.id
    assert "immense term" in rejected.detail
    assert [outcomes[0], outcomes[2]] == [Emitted((), e.article.id, e.trace_id) for e in fine]
    es.indices.refresh(index=test_alias)
    assert count_ids(es, test_alias, [e.article.id for e in fine]) == 2
    assert count_ids(es, test_alias, [refused.article.id]) == 0


def test_writes_to_a_missing_alias_are_transient_not_auto_created(es: Elasticsearch) -> None:
    missing = f"newswire-test-missing-{uuid.uuid4().hex[:12]}"
    handler = IndexHandler(es, alias=missing, item_retry_attempts=1, sleep=lambda _: None)

    with pytest.raises(TransientError, match="index_not_found_exception"):
        handler.process([message(enriched_event())])
    assert not es.indices.exists(index=missing)


@pytest.fixture
def real_index(es: Elasticsearch, template_analysis_error: str | None) -> Elasticsearch:
    if template_analysis_error:
        pytest.skip(
            f"this Elasticsearch cannot build the committed index template: {template_analysis_error}"
        )
    ensure_index(es)
    return es


def test_ensure_index_is_idempotent(real_index: Elasticsearch) -> None:
    ensure_index(real_index)

    assert real_index.indices.exists_index_template(name=TEMPLATE_NAME)
    assert set(real_index.indices.get_alias(name=ALIAS)) == {INDEX}
    mapping = real_index.indices.get_mapping(index=INDEX)[INDEX]["mappings"]
    assert mapping["dynamic"] == "strict"


def pin_group_at_end(settings: KafkaSettings, group_id: str, topic: str) -> None:
    """Commit the topic's end offsets for a new group, so it reads only what is produced from now on."""
    consumer = KafkaConsumer(**settings.client_config(), group_id=group_id, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"topic {topic} has no partitions"
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(ends[tp], "", -1) for tp in partitions})
    finally:
        consumer.close(autocommit=False)


@dataclass
class IndexService:
    """``python -m services.index`` as a subprocess under a test's own consumer group."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def fail_if_exited(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"service exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_until(self, condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.5) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            self.fail_if_exited()
            if time.monotonic() > deadline:
                pytest.fail(f"condition not met within {timeout_s}s; service log:\n{self.log_tail()}")
            time.sleep(interval_s)

    def stop(self) -> str:
        """SIGTERM; check a clean exit and return the whole log."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=60) == 0, self.log_tail()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def index_service(
    tmp_path: Path, es_url: str, kafka_settings: KafkaSettings, group_id: str, **settings: str
) -> Iterator[IndexService]:
    """Run the service (``settings``: ``NEWSWIRE_INDEX_*`` without the prefix); kill it if left running."""
    env = {
        **os.environ,
        "NEWSWIRE_INDEX_GROUP_ID": group_id,
        "NEWSWIRE_INDEX_METRICS_PORT": "0",  # the running pipeline may hold the default port
        "NEWSWIRE_ES_URL": es_url,
        "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "NEWSWIRE_INDEX_LOG_JSON": "true",
        **{f"NEWSWIRE_INDEX_{name.upper()}": value for name, value in settings.items()},
    }
    log_path = tmp_path / f"index-service-{group_id}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.index"],
            cwd=REPO_ROOT,
            env=env,
            stderr=log_file,
            stdout=log_file,
        )
    try:
        yield IndexService(process, log_path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def new_group(kafka_settings: KafkaSettings) -> str:
    """A consumer group of ``articles.enriched`` that starts at the topic's current end."""
    group_id = f"newswire-index-test-{uuid.uuid4().hex[:12]}"
    ensure_topics(kafka_settings, pipeline_topics(TopicSettings()))
    pin_group_at_end(kafka_settings, group_id, TOPICS.enriched)
    return group_id


def delete_documents(es: Elasticsearch, alias: str, ids: list[str]) -> None:
    # By id: _delete_by_query needs the reindex module, which a slim cluster may lack.
    es.bulk(operations=[{"delete": {"_index": alias, "_id": doc_id}} for doc_id in ids], refresh=True)


def produce_events(
    kafka_settings: KafkaSettings, events: list[ArticleEnriched], *, every_s: float = 0.0
) -> list[Any]:
    """Produce ``events`` to ``articles.enriched``, one at a time ``every_s`` apart if set; their metadata."""
    producer = KafkaProducer(**kafka_settings.client_config(), acks="all")
    try:
        futures = []
        for event in events:
            futures.append(
                producer.send(
                    TOPICS.enriched,
                    key=event.article.id.encode(),
                    value=event_bytes(event),
                    headers=[
                        (TRACE_HEADER, event.trace_id.encode()),
                        (ARTICLE_HEADER, event.article.id.encode()),
                    ],
                )
            )
            if every_s:
                producer.flush()
                time.sleep(every_s)
        producer.flush()
        return [future.get(timeout=30) for future in futures]
    finally:
        producer.close()


def test_service_indexes_from_kafka_and_commits_on_sigterm(
    real_index: Elasticsearch, endpoints: Any, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    """50 events become searchable; SIGTERM exits cleanly with every event's offset committed."""
    group_id = new_group(kafka_settings)
    events, ids = bbc_events(50)
    admin = KafkaAdminClient(**kafka_settings.client_config(), client_id="newswire-index-test")
    try:
        with index_service(tmp_path, endpoints.es_url, kafka_settings, group_id) as service:
            produced = produce_events(kafka_settings, events)
            started = time.monotonic()
            service.wait_until(lambda: count_ids_once_created(real_index, ALIAS, ids) == len(ids), 120)
            print(f"50 events searchable {time.monotonic() - started:.1f}s after producing")
            assert '"worker stopped"' in service.stop()

        committed = admin.list_group_offsets({group_id: None})[group_id]
        for record in produced:
            tp = TopicPartition(record.topic, record.partition)
            assert tp in committed, f"nothing committed for {tp}"
            assert committed[tp].offset > record.offset, (
                f"{tp} committed {committed[tp].offset}, record {record.offset}"
            )
    finally:
        delete_documents(real_index, ALIAS, ids)
        try:
            admin.delete_groups([group_id])
        finally:
            admin.close()


def test_service_lingers_at_a_trickle_so_documents_share_bulk_requests(
    real_index: Elasticsearch, endpoints: Any, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    """40 events 25 ms apart: with the default 200 ms linger they go in a few bulk requests, not 40.

    Each bulk request and offset commit has a fixed cost; one per document at a trickle is what
    the linger avoids (bench/speed measures the CPU it saves).
    """
    group_id = new_group(kafka_settings)
    events, ids = bbc_events(40)
    port = free_port()
    metrics_url = f"http://127.0.0.1:{port}"
    try:
        with index_service(
            tmp_path, endpoints.es_url, kafka_settings, group_id, metrics_port=str(port)
        ) as service:
            # Ready means the consumer joined its group: a trickle produced before would be a backlog.
            service.wait_until(lambda: ready(metrics_url), 120)
            produce_events(kafka_settings, events, every_s=0.025)
            service.wait_until(lambda: count_ids_once_created(real_index, ALIAS, ids) == len(ids), 120)
            samples = scrape(metrics_url)
            requests = value(samples, "newswire_index_bulk_documents_count")
            documents = value(samples, "newswire_index_bulk_documents_sum")
            service.stop()
        assert documents == len(events), f"{documents} documents in bulk requests, {len(events)} produced"
        assert requests <= len(events) / 4, f"{requests} bulk requests for {len(events)} trickled events"
    finally:
        delete_documents(real_index, ALIAS, ids)


def _refresh_interval(es: Elasticsearch) -> str | None:
    settings = es.indices.get_settings(index=ALIAS, name="index.refresh_interval")
    return next(iter(settings.values()))["settings"].get("index", {}).get("refresh_interval")


def test_service_catches_up_on_a_backlog_with_a_longer_refresh_then_restores_it(
    real_index: Elasticsearch, endpoints: Any, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    """A backlog above NEWSWIRE_INDEX_CATCH_UP_LAG: refresh every 30 s while behind, 1 s after."""
    group_id = new_group(kafka_settings)
    events, ids = bbc_events(1000)
    produce_events(kafka_settings, events)
    assert _refresh_interval(real_index) == "1s"

    seen: set[str | None] = set()
    try:
        with index_service(
            tmp_path, endpoints.es_url, kafka_settings, group_id, max_batch="20", catch_up_lag="100"
        ) as service:
            # Sampled often: with a fast cluster the catch-up lasts about a second.
            def all_searchable() -> bool:
                seen.add(_refresh_interval(real_index))
                return count_ids_once_created(real_index, ALIAS, ids) == len(ids)

            service.wait_until(all_searchable, 180, interval_s=0.02)
            log_text = service.stop()
        assert '"catch-up mode on"' in log_text and '"catch-up mode off"' in log_text, log_text[-4000:]
        assert "30s" in seen, f"refresh intervals seen while catching up: {seen}"
        assert _refresh_interval(real_index) == "1s"
    finally:
        if _refresh_interval(real_index) != "1s":
            real_index.indices.put_settings(index=ALIAS, settings={"index": {"refresh_interval": "1s"}})
        delete_documents(real_index, ALIAS, ids)
