"""The shared event decoder: the fast path for valid events, a precise reason for everything else."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.dead_letter import FailureReason
from schemas.envelope import ArticleEnriched, ArticleIngested
from services.runtime.events import decode_event, schema_major
from services.runtime.messages import Message, Rejected
from tests.unit.enrich.factories import ingested_event
from tests.unit.index.factories import enriched_event


def message(value: bytes | None, **headers: bytes) -> Message:
    return Message(
        "articles.enriched", 0, 0, b"k", value, {k.replace("_", "-"): v for k, v in headers.items()}
    )


def payload() -> dict[str, Any]:
    return orjson.loads(orjson.dumps(enriched_event().model_dump(mode="json")))


def rejected(value: bytes | None, **headers: bytes) -> Rejected:
    outcome = decode_event(message(value, **headers), ArticleEnriched)
    assert isinstance(outcome, Rejected), outcome
    return outcome


def test_a_valid_event_decodes_to_the_same_event() -> None:
    event = enriched_event()
    assert decode_event(message(orjson.dumps(event.model_dump(mode="json"))), ArticleEnriched) == event


@pytest.mark.parametrize(
    ("value", "reason", "detail"),
    [
        (None, FailureReason.EMPTY_MESSAGE, "tombstone"),
        (b"", FailureReason.EMPTY_MESSAGE, "empty"),
        (b"not json at all {", FailureReason.INVALID_JSON, "not JSON"),
        (b"\xff\xfe", FailureReason.INVALID_JSON, "not JSON"),
        (b"[" * 10_000 + b"]" * 10_000, FailureReason.INVALID_JSON, "not JSON"),
        (b"[1, 2]", FailureReason.VALIDATION_FAILED, "a JSON array"),
        (b'"text"', FailureReason.VALIDATION_FAILED, "a JSON string"),
        (b"null", FailureReason.VALIDATION_FAILED, "JSON null"),
    ],
)
def test_unreadable_records_get_precise_reasons(
    value: bytes | None, reason: FailureReason, detail: str
) -> None:
    outcome = rejected(value, newswire_trace_id=b"trace-1")
    assert (outcome.reason, outcome.trace_id) == (reason, "trace-1")
    assert detail in outcome.detail


def test_an_object_nested_ten_thousand_deep_is_invalid_json() -> None:
    assert rejected(b'{"a":' * 10_000 + b"1" + b"}" * 10_000).reason is FailureReason.INVALID_JSON


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
def test_another_major_is_unsupported_whatever_else_is_wrong(version: str) -> None:
    data = payload()
    data["schema_version"] = version
    data["article"]["field_from_the_future"] = True
    outcome = rejected(orjson.dumps(data))
    assert outcome.reason is FailureReason.UNSUPPORTED_SCHEMA_VERSION
    assert version in outcome.detail
    assert (outcome.article_id, outcome.trace_id) == (data["article"]["id"], data["trace_id"])


def test_a_newer_minor_is_read() -> None:
    data = payload()
    data["schema_version"] = "1.99"
    assert isinstance(decode_event(message(orjson.dumps(data)), ArticleEnriched), ArticleEnriched)


@pytest.mark.parametrize(
    ("version", "major"), [("1.0", 1), ("12.3", 12), ("1", None), ("1.0\n", None), (1.0, None)]
)
def test_schema_major(version: object, major: int | None) -> None:
    assert schema_major(version) == major


def test_an_event_for_another_topic_is_named_as_such() -> None:
    ingested = ingested_event()
    outcome = rejected(orjson.dumps(ingested.model_dump(mode="json")))
    assert outcome.reason is FailureReason.VALIDATION_FAILED
    assert "'article.ingested' event on articles.enriched" in outcome.detail
    assert (outcome.article_id, outcome.trace_id) == (ingested.article.id, ingested.trace_id)
    enriched = enriched_event()
    inverse = decode_event(message(orjson.dumps(enriched.model_dump(mode="json"))), ArticleIngested)
    assert isinstance(inverse, Rejected) and "'article.enriched' event" in inverse.detail


def test_an_article_breaking_a_limit_is_a_validation_failure_with_its_field() -> None:
    data = payload()
    data["article"]["title"] = "x" * 100_000
    outcome = rejected(orjson.dumps(data))
    assert outcome.reason is FailureReason.VALIDATION_FAILED
    assert "article.title" in outcome.detail
    assert "x" * 100 not in outcome.detail, "the summary names the field, not the input"


def test_a_summary_of_thousands_of_errors_stays_short() -> None:
    data = payload()
    data["article"]["keywords"] = [{"bad": n} for n in range(5000)]
    outcome = rejected(orjson.dumps(data))
    assert "more" in outcome.detail and len(outcome.detail) < 5000


def test_unusable_trace_ids_in_the_event_fall_back_to_the_header_then_to_none() -> None:
    data = payload()
    data["trace_id"] = "t" * 200
    data["article"]["word_count"] = -1
    assert rejected(orjson.dumps(data), newswire_trace_id=b"from-header").trace_id == "from-header"
    assert rejected(orjson.dumps(data), newswire_trace_id=b"y" * 200).trace_id is None


def test_the_article_id_header_names_an_event_without_one() -> None:
    assert rejected(b"{}", newswire_article_id=b"a-1").article_id == "a-1"


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.binary(max_size=2000)), st.binary(max_size=300))
def test_any_bytes_decode_or_are_rejected_never_raise(value: bytes | None, trace: bytes) -> None:
    outcome = decode_event(message(value, newswire_trace_id=trace), ArticleEnriched)
    assert isinstance(outcome, ArticleEnriched | Rejected)
