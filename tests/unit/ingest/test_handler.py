from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.envelope import ArticleIngested
from schemas.topics import TOPICS
from services.ingest.handler import IngestHandler, incoming_trace_id
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Emitted, Rejected
from tests.unit.ingest.helpers import raw_message

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
handler = IngestHandler(max_message_bytes=64 * 1024, clock=lambda: NOW)


def emitted_event(outcome: Emitted | Rejected) -> ArticleIngested:
    assert isinstance(outcome, Emitted), outcome
    (record,) = outcome.records
    return ArticleIngested.model_validate(orjson.loads(record.value))


def test_seed_is_emitted_to_articles_ingested(seed_bytes: bytes) -> None:
    outcome = handler.handle(raw_message(seed_bytes))

    assert isinstance(outcome, Emitted)
    (record,) = outcome.records
    event = emitted_event(outcome)
    assert record.topic == TOPICS.ingested
    assert record.key == event.article.id.encode()
    assert dict(record.headers) == {
        TRACE_HEADER: event.trace_id.encode(),
        ARTICLE_HEADER: event.article.id.encode(),
    }
    assert event.producer == "ingest"
    assert event.article.section == "Russia"
    assert event.article.ingested_at == NOW
    assert (outcome.article_id, outcome.trace_id) == (event.article.id, event.trace_id)


def test_same_seed_twice_same_key_new_event(seed_bytes: bytes) -> None:
    first = emitted_event(handler.handle(raw_message(seed_bytes, offset=1)))
    second = emitted_event(handler.handle(raw_message(seed_bytes, offset=2)))

    assert first.article.id == second.article.id
    assert first.event_id != second.event_id


def test_incoming_trace_id_is_kept() -> None:
    value = b"Headline\n\nBody paragraph."

    event = emitted_event(handler.handle(raw_message(value, {TRACE_HEADER: b"trace-123"})))

    assert event.trace_id == "trace-123"


def test_traceparent_contributes_its_trace_id() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    message = raw_message(b"H", {"traceparent": f"00-{trace}-00f067aa0ba902b7-01".encode()})

    assert incoming_trace_id(message) == trace


def test_trace_header_name_is_case_insensitive() -> None:
    assert incoming_trace_id(raw_message(b"H", {"Trace-Id": b"abc"})) == "abc"


def test_unusable_trace_header_gets_a_fresh_trace_id() -> None:
    message = raw_message(
        b"Headline\n\nBody.", {TRACE_HEADER: b"has spaces in it", "traceparent": b"garbage"}
    )

    event = emitted_event(handler.handle(message))

    assert incoming_trace_id(message) is None
    assert event.trace_id != "has spaces in it"
    assert uuid.UUID(hex=event.trace_id)


def test_rejection_keeps_reason_detail_and_trace() -> None:
    outcome = handler.handle(raw_message(b'{"titel": "x", "body": "y"}', {TRACE_HEADER: b"t-1"}))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "validation_failed"
    assert "titel" in outcome.detail
    assert outcome.trace_id == "t-1"


def test_content_type_header_is_used() -> None:
    outcome = handler.handle(raw_message(b"{not json", {"Content-Type": b"application/json"}))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "invalid_json"


def test_size_limit_comes_from_the_handler() -> None:
    outcome = handler.handle(raw_message(b"Headline\n\n" + b"word " * 20_000))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "too_large"


def test_process_gives_one_outcome_per_message(seed_bytes: bytes) -> None:
    outcomes = handler.process([raw_message(seed_bytes), raw_message(b"\xff"), raw_message(None)])

    assert [type(outcome) for outcome in outcomes] == [Emitted, Rejected, Rejected]


_HTML_PIECES = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<html>",
        "<body>",
        "<script>",
        "</script>",
        "<figcaption>",
        "<h1>",
        "\n\n",
        " ",
        "News / X",
    ]
)
_CHARS = st.characters(codec="utf-8")
_TEXTS = st.lists(st.one_of(_HTML_PIECES, st.text(_CHARS, max_size=40)), max_size=30).map("".join)
_JSON_DOCUMENTS = st.dictionaries(
    st.sampled_from(["title", "body", "text", "html", "url", "published_at", "authors", "extra"]),
    st.one_of(
        st.none(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.text(_CHARS, max_size=60),
        st.lists(st.text(_CHARS, max_size=10), max_size=3),
    ),
).map(orjson.dumps)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(st.binary(max_size=2_000), _TEXTS.map(str.encode), _JSON_DOCUMENTS))
def test_any_input_is_emitted_or_rejected(value: bytes) -> None:
    outcome = handler.handle(raw_message(value))

    assert isinstance(outcome, Emitted | Rejected)
    if isinstance(outcome, Emitted):
        assert emitted_event(outcome).article.paragraphs
    else:
        assert outcome.reason and outcome.detail
