"""The alert service against the real broker, the real Elasticsearch and a real webhook receiver.

Articles are stored by the index service's own handler into a throwaway alias (mapped like the
committed template); watches live in a throwaway watches index, sent alerts in a throwaway
sent-alerts index; the webhook receiver is an ``http.server`` on loopback started by the test.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from elasticsearch import BadRequestError, Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from schemas.articles import Entity, EntityType, Quote
from schemas.dead_letter import DeadLetter, FailureReason, FailureStage
from schemas.envelope import ArticleEnriched
from schemas.search_index import index_template
from schemas.topics import TOPICS
from schemas.watches import AlertEvent, Watch
from services.alert.app import build_handler, build_worker
from services.alert.handler import AlertHandler
from services.alert.settings import Settings
from services.alert.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_matches
from services.index.handler import IndexHandler
from services.runtime.kafka import ensure_topics
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Emitted, TransientError
from services.runtime.settings import KafkaSettings
from services.runtime.worker import Worker
from services.watches.settings import WatchStoreSettings
from services.watches.store import WatchStore
from tests.unit.index.factories import enriched_article, enriched_event, event_bytes, message

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-for-tests"
XI_QUOTE = "Our friendship will last for generations to come"


@dataclass
class Receiver:
    """A webhook receiver on loopback: what it got, and how it answers each path."""

    url: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    #: path -> statuses to answer in turn (the last one repeats); 200 when not listed.
    answers: dict[str, list[int]] = field(default_factory=dict)

    def posts(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for got, headers, body in self.received if got == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.received.append((self.path, dict(self.headers.items()), body))
                statuses = state.answers.get(self.path, [200])
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[dict[str, str]]:
    """Fresh names for the alias, the watches and sent-alerts indices and the topics of one test."""
    tag = uuid.uuid4().hex[:10]
    alias = f"newswire-test-alert-{tag}"
    body = copy.deepcopy(index_template()["template"])
    try:
        es.indices.create(
            index=f"{alias}-index", settings=body["settings"], mappings=body["mappings"], aliases={alias: {}}
        )
    except BadRequestError:
        # No analysis plugin on this cluster: the core's standard analyzer stands in.
        body["settings"]["analysis"] = {"analyzer": {"english_text": {"type": "standard"}}}
        es.indices.create(
            index=f"{alias}-index", settings=body["settings"], mappings=body["mappings"], aliases={alias: {}}
        )
    created = {
        "alias": alias,
        "watches": f"newswire-watches-test-{tag}",
        "sent": f"newswire-alerts-sent-test-{tag}",
        "input": f"test.alert.enriched.{tag}",
        "output": f"test.alert.alerts.{tag}",
        "group": f"test-alert-{tag}",
    }
    yield created
    for index in (f"{alias}-index", created["watches"], created["sent"]):
        es.indices.delete(index=index, ignore_unavailable=True)


def settings_for(names: dict[str, str], endpoints: Any, **changes: Any) -> Settings:
    fields: dict[str, Any] = {
        "group_id": names["group"],
        "input_topic": names["input"],
        "output_topic": names["output"],
        "alias": names["alias"],
        "watches_index": names["watches"],
        "sent_index": names["sent"],
        "index_wait_s": 10.0,
        "watches_refresh_s": 0.0,
        "webhook_initial_s": 0.05,
        "webhook_max_s": 0.2,
        "metrics_port": 0,
        "kafka": KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap, startup_timeout_s=20),
    }
    fields.update(changes)
    return Settings(**fields)


def add_watch(
    names: dict[str, str], watch_id: str, webhook_path: str | None, receiver: Receiver, **extra: Any
) -> Watch:
    search = extra.pop("search", {"speaker": "Xi Jinping"})
    watch = Watch.model_validate(
        {
            "id": watch_id,
            "name": watch_id.replace("-", " "),
            "owner": "tests",
            "search": search,
            "webhook": {"url": receiver.url + webhook_path, "secret": SECRET} if webhook_path else None,
            "created_at": datetime.now(UTC),
            **extra,
        }
    )
    with WatchStore(WatchStoreSettings(index=names["watches"], articles=names["alias"])) as store:
        return store.add(watch)


def xi_event(revision: int = 1, article_id: str | None = None) -> ArticleEnriched:
    body = f'Xi Jinping met Vladimir Putin in Astana. "{XI_QUOTE}," Xi said.'
    article = enriched_article(
        article_id=article_id or uuid.uuid4().hex,
        title="Putin, Xi meet at Central Asian summit",
        paragraphs=[body],
        revision=revision,
        url="https://news.example/putin-xi",
        entities=[
            Entity(name="Xi Jinping", type=EntityType.PERSON, mentions=2, first_offset=0),
            Entity(name="Vladimir Putin", type=EntityType.PERSON, mentions=1, first_offset=15),
        ],
        quotes=[Quote(text=XI_QUOTE, speaker="Xi Jinping", speaker_type=EntityType.PERSON, offset=40)],
    )
    return enriched_event(article)


def handler_for(es: Elasticsearch, names: dict[str, str], endpoints: Any, **changes: Any) -> AlertHandler:
    return build_handler(settings_for(names, endpoints, **changes), es)


def alerts_of(outcomes: Any, topic: str) -> list[AlertEvent]:
    return [
        AlertEvent.model_validate_json(record.value)
        for outcome in outcomes
        if isinstance(outcome, Emitted)
        for record in outcome.records
        if record.topic == topic
    ]


def dead_letters_of(outcomes: Any) -> list[DeadLetter]:
    return [
        DeadLetter.model_validate_json(record.value)
        for outcome in outcomes
        if isinstance(outcome, Emitted)
        for record in outcome.records
        if record.topic == TOPICS.dlq
    ]


def test_a_match_alerts_once_with_a_signed_webhook(
    es: Elasticsearch, names: dict[str, str], endpoints: Any, receiver: Receiver
) -> None:
    add_watch(names, "xi-quoted", "/xi", receiver)
    add_watch(names, "someone-else", "/else", receiver, search={"speaker": "Nobody Known"})
    add_watch(names, "putin-words", None, receiver, search={"q": "Putin Astana"})
    event = xi_event()
    IndexHandler(es, alias=names["alias"]).process([message(event)])
    handler = handler_for(es, names, endpoints)

    outcomes = handler.process([message(event)])

    alerts = {alert.watch_id: alert for alert in alerts_of(outcomes, names["output"])}
    assert set(alerts) == {"xi-quoted", "putin-words"}
    xi = alerts["xi-quoted"]
    assert (xi.article_id, xi.revision, xi.url) == (event.article.id, 1, "https://news.example/putin-xi")
    assert xi.quote is not None and (xi.quote.speaker, xi.quote.text) == ("Xi Jinping", XI_QUOTE)
    assert alerts["putin-words"].snippet is not None and "<em>" in alerts["putin-words"].snippet
    ((headers, body),) = receiver.posts("/xi")
    assert signature_matches(body, SECRET, headers[SIGNATURE_HEADER])
    assert not signature_matches(body, "another-secret-entirely", headers[SIGNATURE_HEADER])
    assert AlertEvent.model_validate_json(body) == xi
    assert headers[EVENT_ID_HEADER] == str(xi.event_id)
    assert receiver.posts("/else") == []

    handler.acknowledged([message(event)], outcomes)
    # Read again (a replay, or a restart before the commit): nothing new.
    again = handler_for(es, names, endpoints).process([message(event, offset=1)])
    assert alerts_of(again, names["output"]) == []
    assert len(receiver.posts("/xi")) == 1


def test_a_revision_alerts_again_only_for_a_watch_that_asks(
    es: Elasticsearch, names: dict[str, str], endpoints: Any, receiver: Receiver
) -> None:
    add_watch(names, "once", "/once", receiver)
    add_watch(names, "every-revision", "/every", receiver, alert_on_revisions=True)
    first = xi_event(revision=1)
    indexer = IndexHandler(es, alias=names["alias"])
    indexer.process([message(first)])
    handler = handler_for(es, names, endpoints)
    handler.acknowledged([], handler.process([message(first)]))

    second = xi_event(revision=2, article_id=first.article.id)
    indexer.process([message(second)])
    outcomes = handler.process([message(second, offset=1)])

    assert [(a.watch_id, a.revision) for a in alerts_of(outcomes, names["output"])] == [("every-revision", 2)]
    assert (len(receiver.posts("/once")), len(receiver.posts("/every"))) == (1, 2)


def test_a_pending_alert_is_delivered_again_but_not_its_webhook(
    es: Elasticsearch, names: dict[str, str], endpoints: Any, receiver: Receiver
) -> None:
    add_watch(names, "xi-quoted", "/xi", receiver)
    event = xi_event()
    IndexHandler(es, alias=names["alias"]).process([message(event)])
    handler = handler_for(es, names, endpoints)
    first = alerts_of(handler.process([message(event)]), names["output"])
    # Crash before Kafka acknowledged: no acknowledged() call. The batch is read again.
    again = alerts_of(handler.process([message(event)]), names["output"])
    assert [alert.model_copy(update={"produced_at": None}) for alert in again] == [
        alert.model_copy(update={"produced_at": None}) for alert in first
    ], "the same alert (same event id, same match time) goes to the topic again"
    assert len(receiver.posts("/xi")) == 1, "the webhook already took it"


def test_a_webhook_is_retried_then_dead_lettered(
    es: Elasticsearch, names: dict[str, str], endpoints: Any, receiver: Receiver
) -> None:
    receiver.answers = {"/flaky": [503, 503, 200], "/down": [500], "/gone": [410]}
    add_watch(names, "flaky", "/flaky", receiver)
    add_watch(names, "down", "/down", receiver)
    add_watch(names, "gone", "/gone", receiver)
    event = xi_event()
    IndexHandler(es, alias=names["alias"]).process([message(event)])

    outcomes = handler_for(es, names, endpoints, webhook_attempts=4).process([message(event)])

    assert {a.watch_id for a in alerts_of(outcomes, names["output"])} == {"flaky", "down", "gone"}
    assert (len(receiver.posts("/flaky")), len(receiver.posts("/down")), len(receiver.posts("/gone"))) == (
        3,
        4,
        1,
    )
    letters = {
        AlertEvent.model_validate_json(letter.payload()).watch_id: letter
        for letter in dead_letters_of(outcomes)
    }
    assert set(letters) == {"down", "gone"}
    for letter in letters.values():
        assert (letter.stage, letter.reason) == (FailureStage.ALERT, FailureReason.WEBHOOK_FAILED)
        assert letter.article_id == event.article.id
    assert "4 tries" in letters["down"].detail and "500" in letters["down"].detail
    assert "1 tries" in letters["gone"].detail and "410" in letters["gone"].detail


def test_an_article_the_index_has_not_stored_waits_then_retries(
    es: Elasticsearch, names: dict[str, str], endpoints: Any, receiver: Receiver
) -> None:
    add_watch(names, "xi-quoted", None, receiver)
    handler = handler_for(es, names, endpoints, index_wait_s=0.5)
    with pytest.raises(TransientError, match="none of the batch"):
        handler.process([message(xi_event())])


def run_worker(settings: Settings) -> tuple[Worker, threading.Thread]:
    worker = build_worker(settings)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread


def read_alerts(endpoints: Any, topic: str, expected: int, timeout_s: float) -> list[AlertEvent]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=endpoints.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    alerts: list[AlertEvent] = []
    try:
        for record in consumer:
            alerts.append(AlertEvent.model_validate_json(record.value))
            if len(alerts) > expected:
                break
    finally:
        consumer.close()
    return alerts


def test_the_service_alerts_once_across_republish_restart_and_replay(
    es: Elasticsearch, names: dict[str, str], endpoints: Any, receiver: Receiver
) -> None:
    kafka = KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap)
    ensure_topics(kafka, {names["input"]: 2, names["output"]: 2})
    add_watch(names, "xi-quoted", "/xi", receiver)
    event = xi_event()
    IndexHandler(es, alias=names["alias"]).process([message(event)])
    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)

    def publish() -> None:
        headers = [(TRACE_HEADER, event.trace_id.encode()), (ARTICLE_HEADER, event.article.id.encode())]
        producer.send(
            names["input"], key=event.article.id.encode(), value=event_bytes(event), headers=headers
        )
        producer.flush()

    settings = settings_for(names, endpoints)
    publish()
    worker, thread = run_worker(settings)
    try:
        alerts = read_alerts(endpoints, names["output"], expected=1, timeout_s=30)
        assert [(a.watch_id, a.article_id) for a in alerts] == [("xi-quoted", event.article.id)]
        publish()  # the same article again
        assert len(read_alerts(endpoints, names["output"], expected=1, timeout_s=8)) == 1
    finally:
        worker.stop()
        thread.join(60)
    # A restart, and a replay from the start by a new group: still one alert, one webhook call.
    for restarted in (settings, settings_for(names, endpoints, group_id=names["group"] + "-replay")):
        worker, thread = run_worker(restarted)
        try:
            assert len(read_alerts(endpoints, names["output"], expected=1, timeout_s=8)) == 1
        finally:
            worker.stop()
            thread.join(60)
    producer.close()
    ((headers, body),) = receiver.posts("/xi")
    assert signature_matches(body, SECRET, headers[SIGNATURE_HEADER])
    assert orjson.loads(body)["article_id"] == event.article.id
