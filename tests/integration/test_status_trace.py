"""``newswire status`` and ``newswire trace`` on a live pipeline: a good and a deliberately broken article.

The pipeline is the test's own (``running_pipeline`` from ``test_metrics``: own consumer groups and
metrics ports); the CLI runs with the same environment, so ``status`` reports those groups and
services, as it reports the real ones for a user whose environment names them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from tests.integration.test_metrics import Pipeline, running_pipeline

pytestmark = pytest.mark.integration

WAIT_S = 180.0


@pytest.fixture(scope="module")
def pipeline(
    endpoints: Any, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    ensure_index(es)
    with running_pipeline(tmp_path_factory.mktemp("status-trace-pipeline")) as running:
        yield running


def newswire(pipeline: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**pipeline.env, "COLUMNS": "200"},
        check=False,
    )


def trace_json(pipeline: Pipeline, target: str) -> dict[str, Any]:
    result = newswire(pipeline, "trace", target, "--json", "--since", "1h")
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def wait_for_trace(pipeline: Pipeline, target: str, done: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = trace_json(pipeline, target)
        if (done == "document" and report["document"]) or (done == "dead_letters" and report["dead_letters"]):
            return report
        time.sleep(1)
    pytest.fail(f"trace of {target} never showed a {done}: {report}")


@pytest.fixture(scope="module")
def published(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """A good and a broken article, published with the CLI; their publish summaries by name."""
    run = uuid.uuid4().hex[:10]
    folder = tmp_path_factory.mktemp("articles")
    articles = {
        "good": {
            "title": f"Trace test {run}: ferry timetable changes for the winter",
            "body": "The harbour authority published the winter ferry timetable on Monday.\n\n"
            "Crossings will run every two hours until March.",
            "url": f"https://example.org/newswire-trace-test/{run}/good?utm_source=test",
            "source": "newswire tests",
        },
        # "titel" is a typo: unknown fields are rejected, so this can never become an article.
        "broken": {
            "titel": f"Trace test {run}: a submission with a typo",
            "body": "Nothing wrong with the text.",
            "url": f"https://example.org/newswire-trace-test/{run}/broken",
        },
    }
    summaries = {}
    for name, article in articles.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(article), encoding="utf-8")
        result = newswire(pipeline, "publish", str(path), "--json")
        assert result.returncode == 0, result.stderr
        message = json.loads(result.stdout)["messages"][0]
        summaries[name] = {**message, "url": article["url"]}
    return summaries


def test_trace_says_why_the_broken_article_is_not_indexed(
    pipeline: Pipeline, published: dict[str, dict[str, Any]]
) -> None:
    broken = published["broken"]
    report = wait_for_trace(pipeline, broken["trace_id"], "dead_letters")

    assert report["document"] is None
    letter = report["dead_letters"][0]
    assert (letter["stage"], letter["reason"]) == ("ingest", "validation_failed")
    assert "titel" in letter["detail"]
    assert letter["source"] == f"{TOPICS.raw}/{broken['partition']}@{broken['offset']}"
    raw_hops = [hop for hop in report["hops"] if hop["topic"] == TOPICS.raw]
    assert [(hop["partition"], hop["offset"]) for hop in raw_hops] == [
        (broken["partition"], broken["offset"])
    ]
    assert report["verdict"].startswith("not indexed: ingest dead-lettered it (validation_failed)")

    # The URL finds it too, although it was rejected before it had an article id.
    by_url = trace_json(pipeline, broken["url"])
    assert {(d["stage"], d["reason"]) for d in by_url["dead_letters"]} == {("ingest", "validation_failed")}

    human = newswire(pipeline, "trace", broken["trace_id"], "--since", "1h")
    assert human.returncode == 0, human.stderr
    assert "validation_failed" in human.stdout and "titel" in human.stdout


def test_trace_follows_the_good_article_to_its_document(
    pipeline: Pipeline, published: dict[str, dict[str, Any]]
) -> None:
    good = published["good"]
    report = wait_for_trace(pipeline, good["url"], "document")

    assert report["verdict"].startswith("indexed:")
    assert good["trace_id"] in report["trace_ids"]
    topics = {hop["topic"] for hop in report["hops"]}
    assert {TOPICS.raw, TOPICS.ingested, TOPICS.enriched} <= topics
    raw = [
        hop for hop in report["hops"] if hop["topic"] == TOPICS.raw and hop["trace_id"] == good["trace_id"]
    ]
    assert [(hop["partition"], hop["offset"]) for hop in raw] == [(good["partition"], good["offset"])]
    enriched = [hop for hop in report["hops"] if hop["topic"] == TOPICS.enriched]
    assert all(hop["enrichers"] for hop in enriched), "the enrichers' names and versions come with the event"
    assert report["document"]["id"] in report["article_ids"]
    assert report["document"]["trace_id"] == good["trace_id"]
    assert not report["dead_letters"]

    # The same article by its id.
    by_id = trace_json(pipeline, report["document"]["id"])
    assert by_id["document"]["id"] == report["document"]["id"]


def test_status_shows_the_stages_the_dead_letters_and_the_index(
    pipeline: Pipeline, published: dict[str, dict[str, Any]], es: Elasticsearch
) -> None:
    wait_for_trace(pipeline, published["broken"]["trace_id"], "dead_letters")
    wait_for_trace(pipeline, published["good"]["trace_id"], "document")

    result = newswire(pipeline, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    stages = {stage["stage"]: stage for stage in status["stages"]}
    assert list(stages) == ["ingest", "enrich", "index"]
    for name, service in pipeline.services.items():
        assert stages[name]["group_id"] == service.group_id
        assert stages[name]["input_topic"] == service.input_topic
        assert stages[name]["service"] == "ready", stages[name]
        assert stages[name]["lag"] >= 0 and stages[name]["partitions"] >= 1
    assert stages["ingest"]["in_per_min"] > 0, "two articles were published within the window"
    reasons = {(row["stage"], row["reason"]): row["count"] for row in status["dead_letters"]}
    assert reasons.get(("ingest", "validation_failed"), 0) >= 1
    es.indices.refresh(index="articles")
    assert status["index"]["documents"] >= 1 and status["index"]["last_indexed_at"]

    screen = newswire(pipeline, "status")
    assert screen.returncode == 0, screen.stderr
    for expected in ("ingest", "enrich", "index", "validation_failed", "documents"):
        assert expected in screen.stdout
