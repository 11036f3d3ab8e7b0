"""The whole pipeline as separate processes: publish -> ingest -> enrich -> index -> search.

The three services run as real subprocesses (``services.stack.pipeline``) against the session's
real Kafka and Elasticsearch; articles go in through the CLI and kcat, as users publish them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.dead_letter import DeadLetter
from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from services.runtime.kafka import ensure_topics, pipeline_topics
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline

SEED_TITLE = "Putin, Xi meet at Central Asian summit in show of deepening cooperation"
WAIT_S = 120.0


@pytest.fixture(scope="module")
def running_pipeline(endpoints, es: Elasticsearch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    ensure_topics(KafkaSettings(), pipeline_topics(TopicSettings()))
    ensure_index(es)
    # A supervisor waiting out its backoff has no service pid but is still someone else's service.
    before = {proc.name for proc in pipeline.status(endpoints.state_dir) if proc.supervised or proc.running}
    pipeline.start(endpoints.state_dir)
    yield
    # Leave services that were already running (e.g. from `make up`) as they were.
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


def newswire(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def docs_with_trace(es: Elasticsearch, trace_id: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=ALIAS)
    response = es.search(index=ALIAS, query={"term": {"trace_id": trace_id}}, size=10)
    return [hit for hit in response["hits"]["hits"]]


def seed_docs(es: Elasticsearch) -> list[dict[str, Any]]:
    es.indices.refresh(index=ALIAS)
    response = es.search(index=ALIAS, query={"term": {"title.raw": SEED_TITLE}}, size=10)
    return list(response["hits"]["hits"])


def test_seed_published_with_the_cli_is_searchable_with_highlights(
    running_pipeline: None, es: Elasticsearch, seed_path: Path
) -> None:
    published = newswire("publish", str(seed_path), "--json")
    assert published.returncode == 0, published.stderr
    summary = json.loads(published.stdout)
    assert summary["sent"] == 1
    trace_id = summary["messages"][0]["trace_id"]
    wait_for(lambda: docs_with_trace(es, trace_id), f"seed article with trace {trace_id} in the index")

    for query in ("Shanghai Cooperation Organization", "Astana", "Putin Xi"):
        result = newswire("search", query, "--json")
        assert result.returncode == 0, result.stderr
        hits = json.loads(result.stdout)["hits"]
        titles = [hit["title"] for hit in hits]
        assert SEED_TITLE in titles, f"{query!r} did not find the seed: {titles}"
        if query == "Shanghai Cooperation Organization":
            seed_hit = hits[titles.index(SEED_TITLE)]
            snippets = " ".join(s for field in seed_hit["highlights"].values() for s in field)
            highlighted = " ".join(re.findall(r"<em>(.*?)</em>", snippets))
            assert "Shanghai" in highlighted and "Organization" in highlighted, snippets

    doc = seed_docs(es)[0]["_source"]
    assert doc["section"] == "Russia"
    assert doc["caption"].startswith("Russia’s President Vladimir Putin (R) shakes hands")
    assert "SHARE THIS ARTICLE" not in doc["body"] and "alternate addresses" not in doc["body"]
    assert doc["language"] == "en"
    assert 400 < doc["word_count"] < 600  # the body alone, headline and caption excluded


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (.ci/run installs it)")
def test_seed_published_again_with_kcat_replaces_the_same_document(
    running_pipeline: None,
    endpoints,
    es: Elasticsearch,
    seed_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    trace_id = f"kcat-{uuid.uuid4().hex}"
    # One file is one message with kcat -P; the header lets us see this very copy arrive.
    subprocess.run(
        [
            "kcat",
            "-P",
            "-b",
            endpoints.kafka_bootstrap,
            "-t",
            TOPICS.raw,
            "-H",
            f"newswire-trace-id={trace_id}",
            str(seed_path),
        ],
        check=True,
        timeout=60,
    )
    docs = wait_for(lambda: docs_with_trace(es, trace_id), "the kcat copy of the seed in the index")
    assert docs[0]["_source"]["title"] == SEED_TITLE
    # It was published at least twice (CLI test and here; `make up` too), and there is one document.
    assert len(seed_docs(es)) == 1


def test_malformed_event_is_dead_lettered_while_valid_ones_keep_flowing(
    running_pipeline: None,
    endpoints,
    es: Elasticsearch,  # type: ignore[no-untyped-def]
) -> None:
    run_id = uuid.uuid4().hex
    dlq_start = _end_offsets(endpoints.kafka_bootstrap, TOPICS.dlq)
    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    bad_trace, good_trace = f"bad-{run_id}", f"good-{run_id}"
    producer.send(
        TOPICS.raw,
        value=b'{"title": "broken json", "body": ',
        headers=[("newswire-trace-id", bad_trace.encode())],
    )
    good = {
        "title": f"Valid article {run_id} after a broken one",
        "body": "The pipeline keeps flowing after bad input.\n\nA second paragraph.",
    }
    producer.send(TOPICS.raw, value=orjson.dumps(good), headers=[("newswire-trace-id", good_trace.encode())])
    producer.flush()
    producer.close()

    wait_for(lambda: docs_with_trace(es, good_trace), "the valid article behind the malformed one")
    letter = wait_for(
        lambda: _find_dead_letter(endpoints.kafka_bootstrap, dlq_start, bad_trace),
        "the malformed event on the DLQ",
    )
    assert letter.stage == "ingest"
    assert letter.reason == "invalid_json"
    assert letter.payload() == b'{"title": "broken json", "body": '
    assert letter.source_record.topic == TOPICS.raw


def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close()


def _find_dead_letter(bootstrap: str, start: dict[TopicPartition, int], trace_id: str) -> DeadLetter | None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=2000)
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        for record in consumer:
            letter = DeadLetter.model_validate_json(record.value)
            if letter.trace_id == trace_id:
                return letter
        return None
    finally:
        consumer.close()


def test_seed_is_enriched_with_entities_places_countries_and_quotes(
    running_pipeline: None, es: Elasticsearch, seed_path: Path
) -> None:
    """Issue 3's acceptance check, on the document the running pipeline indexed."""
    published = newswire("publish", str(seed_path), "--json")
    trace_id = json.loads(published.stdout)["messages"][0]["trace_id"]
    doc = wait_for(lambda: docs_with_trace(es, trace_id), "the seed in the index")[0]["_source"]

    assert {"Vladimir Putin", "Xi Jinping", "Recep Tayyip Erdogan"} <= set(doc["people"])
    assert "Shanghai Cooperation Organization" in doc["organizations"]
    sco = next(e for e in doc["entities"] if e["name"] == "Shanghai Cooperation Organization")
    assert "SCO" in sco["aliases"]
    assert {"Astana", "Kazakhstan"} <= set(doc["place_names"])
    assert {"KZ", "RU", "CN"} <= set(doc["countries"])
    astana = next(p for p in doc["places"] if p["name"] == "Astana")
    assert astana["country_codes"] == ["KZ"] and astana["location"] is not None
    speakers = {quote["speaker"] for quote in doc["quotes"]}
    assert {"Vladimir Putin", "Xi Jinping"} <= speakers
    assert doc["summary"] and doc["keywords"]
    assert [run["name"] for run in doc["enrichers"]][-1] == "near_duplicates"

    # A geo query finds it around Astana, and the quotes are searchable by speaker and words.
    near_astana = es.search(
        index=ALIAS,
        query={
            "bool": {
                "filter": [
                    {"term": {"id": doc["id"]}},
                    {"geo_distance": {"distance": "50km", "places.location": {"lat": 51.17, "lon": 71.45}}},
                ]
            }
        },
    )
    assert near_astana["hits"]["total"]["value"] == 1
    said = newswire("search", "--quotes", "friendship", "--speaker", "Xi Jinping", "--json")
    assert said.returncode == 0, said.stderr
    assert doc["id"] in [hit["id"] for hit in json.loads(said.stdout)["hits"]]
