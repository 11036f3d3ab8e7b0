from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from schemas.articles import Article, EnrichedArticle
from schemas.dead_letter import DeadLetter, FailureStage
from schemas.envelope import ArticleEnriched, EventEnvelope
from schemas.topics import TOPICS
from services.enrich import handler
from services.enrich.handler import output_too_large, process_event
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Emit
from tests.unit.enrich.factories import article, event_dict, ingested_event, record, record_of

MAX_PAYLOAD = 1_000_000


def dead_letter(records: list[Emit]) -> DeadLetter:
    assert len(records) == 1
    assert records[0].topic == TOPICS.dlq
    return DeadLetter.model_validate_json(records[0].value)


def test_a_valid_event_becomes_one_enriched_event_keyed_by_article_id() -> None:
    source = article()
    event = ingested_event(source, trace_id="trace-123")
    records = process_event(record_of(event), MAX_PAYLOAD)

    assert len(records) == 1
    out = records[0]
    assert out.topic == TOPICS.enriched
    assert out.key == source.id.encode()
    assert dict(out.headers) == {TRACE_HEADER: b"trace-123", ARTICLE_HEADER: source.id.encode()}
    enriched = ArticleEnriched.model_validate_json(out.value)
    assert enriched.trace_id == "trace-123"
    assert enriched.producer == "enrich"
    assert enriched.event_id != event.event_id
    assert enriched.article.model_dump(include=set(Article.model_fields)) == source.model_dump()
    assert enriched.article.language == "en"
    assert enriched.article.word_count > 0


def test_a_newer_minor_version_is_accepted() -> None:
    data = event_dict(ingested_event())
    data["schema_version"] = "1.7"
    assert [r.topic for r in process_event(record_of(data), MAX_PAYLOAD)] == [TOPICS.enriched]


def test_invalid_json_is_dead_lettered_with_the_original_bytes() -> None:
    raw = b'{"not": json'
    letter = dead_letter(process_event(record(raw, {TRACE_HEADER: b"t-1"}), MAX_PAYLOAD))
    assert letter.reason == "invalid_json"
    assert letter.stage == FailureStage.ENRICH
    assert letter.producer == "enrich"
    assert letter.trace_id == "t-1"
    assert letter.payload() == raw
    assert (letter.source_record.topic, letter.source_record.partition, letter.source_record.offset) == (
        TOPICS.ingested,
        2,
        7,
    )


def test_another_schema_major_is_dead_lettered_as_unsupported() -> None:
    source = article()
    data = event_dict(ingested_event(source, trace_id="trace-v2"))
    data["schema_version"] = "2.0"
    records = process_event(record_of(data), MAX_PAYLOAD)
    letter = dead_letter(records)
    assert letter.reason == "unsupported_schema_version"
    assert letter.article_id == source.id
    assert letter.trace_id == "trace-v2"
    assert records[0].key == source.id.encode()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["article"].update(id="not-a-hex-id"),
        lambda d: d["article"].update(paragraphs=[]),
        lambda d: d.update(type="article.enriched"),
        lambda d: d.update(unexpected="field"),
        lambda d: d.pop("event_id"),
        lambda d: d.update(schema_version="one"),
    ],
)
def test_an_invalid_event_is_dead_lettered_as_validation_failed(
    mutate: Callable[[dict[str, Any]], object],
) -> None:
    data = event_dict(ingested_event(trace_id="trace-bad"))
    mutate(data)
    letter = dead_letter(process_event(record_of(data), MAX_PAYLOAD))
    assert letter.reason == "validation_failed"
    assert letter.trace_id == "trace-bad"
    assert orjson.loads(letter.payload()) == data


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"[1, 2]", "validation_failed"),
        (b"", "empty_message"),
        (None, "empty_message"),
        (b"\xff\xfe", "invalid_json"),
    ],
)
def test_non_object_and_empty_records_are_dead_lettered(value: bytes | None, reason: str) -> None:
    assert dead_letter(process_event(record(value), MAX_PAYLOAD)).reason == reason


def test_an_enricher_raising_is_dead_lettered_as_enrich_failed() -> None:
    source = article()

    def broken(_: Article) -> EnrichedArticle:
        raise RuntimeError("model not loaded")

    letter = dead_letter(process_event(record_of(ingested_event(source)), MAX_PAYLOAD, enrich_article=broken))
    assert letter.reason == "enrich_failed"
    assert "model not loaded" in letter.detail
    assert letter.article_id == source.id


def test_a_bug_in_the_handler_is_dead_lettered_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(handler, "handle", explode)
    assert dead_letter(process_event(record_of(ingested_event()), MAX_PAYLOAD)).reason == "unhandled_error"


def test_a_garbage_trace_header_cannot_break_the_dead_letter() -> None:
    limit = EventEnvelope.model_fields["trace_id"].metadata
    max_chars = next(rule.max_length for rule in limit if getattr(rule, "max_length", None))
    letter = dead_letter(process_event(record(b"nope", {TRACE_HEADER: b"x" * 500}), MAX_PAYLOAD))
    assert letter.reason == "invalid_json"
    assert letter.trace_id != "x" * 500 and len(letter.trace_id) <= max_chars
    assert "trace id unusable (500 characters)" in letter.detail


def test_the_dead_letter_payload_is_cut_to_the_configured_size() -> None:
    raw = b"not json " * 100
    letter = dead_letter(process_event(record(raw), 50))
    assert letter.payload_truncated
    assert letter.payload_size == len(raw)
    assert base64.b64decode(letter.payload_b64) == raw[:50]


def test_output_too_large_dead_letters_the_input_with_a_small_payload() -> None:
    source = article()
    message = record_of(ingested_event(source, trace_id="trace-big"))
    [enriched] = process_event(message, MAX_PAYLOAD)
    letter = dead_letter([output_too_large(message, enriched, "MessageSizeTooLargeError", 16)])
    assert letter.reason == "output_too_large"
    assert letter.article_id == source.id
    assert letter.trace_id == "trace-big"
    assert letter.payload() == (message.value or b"")[:16]


def test_a_body_larger_than_ingest_ever_emits_is_dead_lettered_not_enriched() -> None:
    def never(_: Article) -> EnrichedArticle:
        raise AssertionError("enriched a body over the limit")

    paragraphs = ["x" * 1_000_000, "y" * 1_000_001]
    letter = dead_letter(
        process_event(record_of(ingested_event(article(paragraphs=paragraphs))), MAX_PAYLOAD, never)
    )
    assert letter.reason == "too_long" and "2000001 characters" in letter.detail
