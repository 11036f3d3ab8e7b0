"""The ``newswire`` command as a separate process against the session's real Kafka and Elasticsearch.

``publish`` writes to the real ``articles.raw`` (the messages are valid articles marked with a
unique run id; a running pipeline archives them like any other submission). ``search`` runs
against a throwaway index with the committed mappings, deleted afterwards, so the archive's
alias is never touched.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from elasticsearch import BadRequestError, Elasticsearch
from kafka import KafkaConsumer, TopicPartition

from schemas.search_index import index_template
from schemas.topics import TOPICS
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings

pytestmark = pytest.mark.integration


def newswire(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the installed console script (``python -m services.cli`` where it is not on PATH)."""
    script = shutil.which("newswire")
    command = [script] if script else [sys.executable, "-m", "services.cli"]
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, timeout=120, env={**os.environ, "COLUMNS": "200"}
    )


def end_offsets(consumer: KafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    assert partitions, f"{topic} has no partitions"
    return consumer.end_offsets(partitions)


def read_from(consumer: KafkaConsumer, start: dict[TopicPartition, int], wanted: int) -> list[Any]:
    """Records from ``start`` on until ``wanted`` arrived or 30 s passed."""
    consumer.assign(list(start))
    for partition, offset in start.items():
        consumer.seek(partition, offset)
    records: list[Any] = []
    deadline = time.monotonic() + 30
    while len(records) < wanted and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    return records


def test_topics_create_lists_the_pipeline_topics() -> None:
    result = newswire("topics", "create", "--json")

    assert result.returncode == 0, result.stderr.decode()
    topics = {entry["topic"]: entry for entry in orjson.loads(result.stdout)}
    assert set(topics) == set(TOPICS.all())
    assert all(entry["partitions"] >= 1 for entry in topics.values())


def test_publish_jsonl_puts_each_line_on_articles_raw_with_headers(tmp_path: Path) -> None:
    assert newswire("topics", "create").returncode == 0
    run_id = uuid.uuid4().hex
    articles = [
        {
            "title": f"newswire CLI integration test {run_id} #{n}",
            "body": f"Article {n} published by the CLI integration test run {run_id}.",
            "source": "newswire tests",
        }
        for n in range(3)
    ]
    feed = tmp_path / f"cli-test-{run_id}.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in articles) + "\n\n", encoding="utf-8")
    consumer = KafkaConsumer(**KafkaSettings().client_config(), enable_auto_commit=False)
    try:
        before = end_offsets(consumer, TOPICS.raw)

        result = newswire("publish", str(feed), "--json")

        assert result.returncode == 0, result.stderr.decode()
        summary = orjson.loads(result.stdout)
        assert (summary["sent"], summary["failed"], summary["skipped"]) == (3, 0, 0)
        records = read_from(consumer, before, wanted=len(articles) + 50)
    finally:
        consumer.close()

    ours = {
        dict(record.headers)[TRACE_HEADER].decode(): record
        for record in records
        if run_id.encode() in record.value
    }
    assert set(ours) == {message["trace_id"] for message in summary["messages"]}
    for message in summary["messages"]:
        record = ours[message["trace_id"]]
        assert (record.partition, record.offset) == (message["partition"], message["offset"])
        headers = dict(record.headers)
        assert headers["content-type"] == b"application/json"
        assert headers["newswire-source-file"] == feed.name.encode()
    titles = sorted(orjson.loads(record.value)["title"] for record in ours.values())
    assert titles == sorted(article["title"] for article in articles)


def test_publish_raw_text_from_stdin_is_sent_byte_for_byte(seed_path: Path) -> None:
    page = seed_path.read_bytes()
    consumer = KafkaConsumer(**KafkaSettings().client_config(), enable_auto_commit=False)
    try:
        before = end_offsets(consumer, TOPICS.raw)
        result = newswire("publish", "-", "--json", stdin=page)
        assert result.returncode == 0, result.stderr.decode()
        [message] = orjson.loads(result.stdout)["messages"]
        records = read_from(consumer, before, wanted=1)
    finally:
        consumer.close()

    [record] = [r for r in records if dict(r.headers)[TRACE_HEADER].decode() == message["trace_id"]]
    assert record.value == page
    assert dict(record.headers)["content-type"] == b"text/plain"


@pytest.fixture
def search_index(es: Elasticsearch, seed_path: Path) -> Iterator[str]:
    """A throwaway index with the template's mappings holding the seed article and two decoys."""
    name = f"newswire-test-cli-{uuid.uuid4().hex[:10]}"
    template = copy.deepcopy(index_template()["template"])
    try:
        es.indices.create(index=name, settings=template["settings"], mappings=template["mappings"])
    except BadRequestError:
        # This cluster lacks the template's analyzers (plugin or analysis module missing); the
        # index tests report that. The CLI's query and highlighting work the same on standard text.
        mappings = json.loads(json.dumps(template["mappings"]).replace('"english_text"', '"standard"'))
        es.indices.create(index=name, settings={"number_of_replicas": 0}, mappings=mappings)
    paragraphs = [p.strip() for p in seed_path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    documents: list[dict[str, Any]] = [
        {
            "id": "a" * 32,
            "title": paragraphs[1],
            "caption": paragraphs[2],
            "body": "\n\n".join(paragraphs[3:]),
            "source": "Press TV",
            "section": "Russia",
            "published_at": "2024-07-03T12:00:00Z",
        },
        {
            "id": "b" * 32,
            "title": "Shanghai shares rise on hopes of trade cooperation",
            "body": "Shanghai markets rose as an organization of exporters promised cooperation.",
            "source": "Other",
            "section": "Business",
            "published_at": "2024-06-01T00:00:00Z",
        },
        # Shares only a stem with the query's words ("Cooper", "cooperation"): must not come in.
        {
            "id": "d" * 32,
            "title": "Cooper retires",
            "body": "The veteran batsman Cooper said he would retire at the end of the season.",
            "source": "Other",
            "section": "Sport",
            "published_at": "2024-05-01T00:00:00Z",
        },
        {
            "id": "c" * 32,
            "title": "Cooperation between the organization's members in Shanghai",
            "body": "Members of the organization met in Shanghai to discuss cooperation.",
            "source": "Other",
            "section": "World",
            "published_at": "2024-08-01T00:00:00Z",
        },
    ]
    for document in documents:
        es.index(index=name, id=document["id"], document=document)
    es.indices.refresh(index=name)
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


def search_json(index: str, *args: str) -> dict[str, Any]:
    result = newswire("search", *args, "--index", index, "--json")
    assert result.returncode == 0, result.stderr.decode()
    output: dict[str, Any] = orjson.loads(result.stdout)
    return output


def test_search_ranks_the_exact_phrase_first_with_highlights(search_index: str) -> None:
    output = search_json(search_index, "Shanghai Cooperation Organization")

    assert output["total"] == 3
    first = output["hits"][0]
    assert first["id"] == "a" * 32
    assert first["source"] == "Press TV"
    assert any("<em>" in fragment for fragment in first["highlights"]["body"])


def test_a_stemmed_fragment_alone_brings_nothing_in_unless_nothing_else_matches(search_index: str) -> None:
    strict = search_json(search_index, "Shanghai Cooperation Organization")
    assert "d" * 32 not in {hit["id"] for hit in strict["hits"]}
    assert strict["relaxed"] is False

    # No article has two of these words: rather than nothing, the articles with one of them.
    relaxed = search_json(search_index, "Cooper Kathmandu Himalaya")

    assert relaxed["relaxed"] is True
    assert "d" * 32 in {hit["id"] for hit in relaxed["hits"]}


@pytest.mark.parametrize(
    ("args", "expected_ids"),
    [
        (("Astana",), ["a" * 32]),
        (("Shanghai", "--section", "Business"), ["b" * 32]),
        (("Shanghai", "--since", "2024-07-03", "--until", "2024-07-03"), ["a" * 32]),
        (("Shanghai", "--source", "Other", "--since", "2024-07-04"), ["c" * 32]),
        (("Kathmandu",), []),
    ],
)
def test_search_filters(search_index: str, args: tuple[str, ...], expected_ids: list[str]) -> None:
    output = search_json(search_index, *args)

    assert [hit["id"] for hit in output["hits"]] == expected_ids
    assert output["total"] == len(expected_ids)


def test_search_of_a_missing_index_is_a_clear_error() -> None:
    result = newswire("search", "Astana", "--index", f"newswire-test-missing-{uuid.uuid4().hex}")

    assert result.returncode == 2
    assert b"does not exist" in result.stderr


def test_index_init_is_idempotent_and_reports_the_alias() -> None:
    for _ in range(2):
        result = newswire("index", "init")

        assert result.returncode == 0, result.stderr.decode()
        assert b"alias articles" in result.stdout


def test_topics_list_json_shows_end_offsets() -> None:
    result = newswire("topics", "list", "--json")

    assert result.returncode == 0, result.stderr.decode()
    raw = next(entry for entry in orjson.loads(result.stdout) if entry["topic"] == TOPICS.raw)
    assert len(raw["end_offsets"]) == raw["partitions"]
    assert raw["messages_written"] == sum(raw["end_offsets"].values())


@pytest.mark.parametrize("command", [("topics", "list"), ("publish", "-")])
def test_unreachable_kafka_is_a_one_line_error_with_exit_code_2(command: tuple[str, ...]) -> None:
    # Nothing listens on port 9; the client gives up after the CLI's connect timeout (10 s).
    result = newswire("--bootstrap-servers", "127.0.0.1:9", *command, stdin=b'{"title": "t", "body": "b"}')

    assert result.returncode == 2
    [line] = result.stderr.decode().strip().splitlines()
    assert line.startswith("error: Kafka is not reachable at 127.0.0.1:9")
