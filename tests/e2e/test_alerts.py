"""Issue 15's "done when": a watch on the speaker Xi Jinping fires once for the seed article.

The pipeline (ingest, enrich, index) runs as supervised subprocesses (``services.stack.pipeline``),
the alert service as ``python -m services.alert`` under the test's own consumer group (starting at
the end of ``articles.enriched``), watches index and sent-alerts index; the webhook receiver is an
``http.server`` on loopback. The seed goes in through the CLI, as users publish it. Then: the same
article published again alerts nothing; the service stopped and started again with its group moved
back before the first publish (a restart after a crash before its commit: everything replayed)
alerts nothing either.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from schemas.watches import AlertEvent, Watch
from services.alert.webhooks import SIGNATURE_HEADER, signature_matches
from services.index.bootstrap import ensure_index
from services.runtime.kafka import ensure_topics, pipeline_topics
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline
from services.watches.settings import WatchStoreSettings
from services.watches.store import WatchStore
from tests.integration.endpoints import free_port, ready

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_TITLE = "Putin, Xi meet at Central Asian summit in show of deepening cooperation"
SECRET = "e2e-webhook-secret-0123456789"
WAIT_S = 180.0


@pytest.fixture(scope="module")
def running_pipeline(endpoints, es: Elasticsearch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    ensure_topics(KafkaSettings(), pipeline_topics(TopicSettings()))
    ensure_index(es)
    before = {proc.name for proc in pipeline.status(endpoints.state_dir) if proc.supervised or proc.running}
    pipeline.start(endpoints.state_dir)
    yield
    started_here = [name for name in pipeline.SERVICES if name not in before]
    pipeline.stop(endpoints.state_dir, started_here, timeout=90)


class Receiver:
    """A webhook receiver on loopback that keeps every POST (path, headers, raw body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        lock = threading.Lock()
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    posts.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/xi"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def about(self, article_id: str) -> list[tuple[dict[str, str], bytes]]:
        return [
            (headers, body)
            for headers, body in list(self.posts)
            if json.loads(body)["article_id"] == article_id
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def newswire(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )


def publish_seed(es: Elasticsearch, seed_path: Path) -> None:
    """Publish the seed with the CLI and wait until the index has this copy."""
    published = newswire("publish", str(seed_path), "--json")
    assert published.returncode == 0, published.stderr
    trace_id = json.loads(published.stdout)["messages"][0]["trace_id"]

    def indexed() -> bool:
        es.indices.refresh(index=ALIAS)
        return bool(es.count(index=ALIAS, query={"term": {"trace_id": trace_id}})["count"])

    wait_for(indexed, f"the seed with trace {trace_id} in the index")


def enriched_partitions(consumer: KafkaConsumer) -> list[TopicPartition]:
    partitions = consumer.partitions_for_topic(TOPICS.enriched) or set()
    return [TopicPartition(TOPICS.enriched, partition) for partition in sorted(partitions)]


def move_group(
    bootstrap: str, group_id: str, offsets: dict[TopicPartition, int] | None = None
) -> dict[TopicPartition, int]:
    """Commit ``offsets`` (default: the ends of articles.enriched) for the group; the offsets committed."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    try:
        partitions = enriched_partitions(consumer)
        consumer.assign(partitions)
        chosen = offsets or consumer.end_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(chosen[tp], "", -1) for tp in partitions})
        return dict(chosen)
    finally:
        consumer.close(autocommit=False)


def caught_up(bootstrap: str, group_id: str) -> bool:
    """The group has committed up to the current end of every partition of articles.enriched."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    try:
        partitions = enriched_partitions(consumer)
        ends = consumer.end_offsets(partitions)
        return all((consumer.committed(tp) or 0) >= ends[tp] for tp in partitions)
    finally:
        consumer.close(autocommit=False)


def alerts_on_topic(bootstrap: str, watch_id: str) -> list[AlertEvent]:
    consumer = KafkaConsumer(
        TOPICS.alerts,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    try:
        prefix = f"{watch_id}:".encode()
        return [
            AlertEvent.model_validate_json(r.value) for r in consumer if (r.key or b"").startswith(prefix)
        ]
    finally:
        consumer.close()


class AlertService:
    """``python -m services.alert`` as a subprocess with the test's group and indices."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{env['NEWSWIRE_ALERT_METRICS_PORT']}"

    def start(self) -> None:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.alert"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log_file,
                stderr=log_file,
            )
        wait_for(lambda: self._alive() and ready(self.url), "the alert service to be ready", timeout=120)

    def _alive(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"alert service exited with {self.process.returncode}:\n{self.log_tail()}")
        return True

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=90) == 0, self.log_tail()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]


def test_a_watch_on_xi_jinping_fires_once_for_the_seed(
    running_pipeline: None, endpoints: Any, es: Elasticsearch, seed_path: Path, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:10]
    watches_index, sent_index, group = (
        f"newswire-watches-e2e-{tag}",
        f"newswire-alerts-sent-e2e-{tag}",
        f"e2e-alert-{tag}",
    )
    receiver = Receiver()
    watch = Watch.model_validate(
        {
            "id": f"xi-jinping-quoted-{tag}",
            "name": "Xi Jinping quoted",
            "owner": "e2e",
            "search": {"speaker": "Xi Jinping"},
            "webhook": {"url": receiver.url, "secret": SECRET},
            "created_at": datetime.now(UTC),
        }
    )
    with WatchStore(WatchStoreSettings(index=watches_index)) as store:
        store.add(watch)
    before_first = move_group(endpoints.kafka_bootstrap, group)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NEWSWIRE_ALERT_GROUP_ID": group,
        "NEWSWIRE_ALERT_WATCHES_INDEX": watches_index,
        "NEWSWIRE_ALERT_SENT_INDEX": sent_index,
        "NEWSWIRE_ALERT_METRICS_PORT": str(free_port()),
        "NEWSWIRE_ALERT_LOG_JSON": "false",
    }
    service = AlertService(env, tmp_path / "alert.log")
    try:
        service.start()
        publish_seed(es, seed_path)
        (seed,) = es.search(index=ALIAS, query={"term": {"title.raw": SEED_TITLE}}, size=1)["hits"]["hits"]
        seed_id = seed["_id"]
        wait_for(lambda: receiver.about(seed_id), "the webhook to receive the seed's alert")
        ((headers, body),) = receiver.about(seed_id)
        assert signature_matches(body, SECRET, headers[SIGNATURE_HEADER]), headers
        alert = AlertEvent.model_validate_json(body)
        assert (alert.watch_id, alert.article_id, alert.title) == (watch.id, seed_id, SEED_TITLE)
        assert alert.quote is not None and alert.quote.speaker == "Xi Jinping"

        # The same article again (a new revision): the index takes it, the watch stays quiet.
        publish_seed(es, seed_path)
        wait_for(
            lambda: caught_up(endpoints.kafka_bootstrap, group), "the alert service to read the second copy"
        )
        assert len(receiver.about(seed_id)) == 1

        # A restart that reads everything since before the first publish again.
        service.stop()
        move_group(endpoints.kafka_bootstrap, group, before_first)
        service.start()
        wait_for(lambda: caught_up(endpoints.kafka_bootstrap, group), "the restarted service to catch up")
        assert len(receiver.about(seed_id)) == 1
        on_topic = [
            a for a in alerts_on_topic(endpoints.kafka_bootstrap, watch.id) if a.article_id == seed_id
        ]
        assert [a.event_id for a in on_topic] == [alert.event_id]
    finally:
        service.kill()
        receiver.close()
        for index in (watches_index, sent_index):
            es.indices.delete(index=index, ignore_unavailable=True)
