"""IndexHandler logic against a scripted bulk endpoint: parsing, collapsing, per-item outcomes, retries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AuthenticationException, ConnectionError, ConnectionTimeout

from schemas.search_index import ALIAS
from services.index import handler as handler_module
from services.index.handler import IndexHandler, ItemResult, classify_item, describe_item_error
from services.runtime.messages import Dropped, Emitted, Rejected, TransientError
from services.runtime.worker import RetryPolicy
from tests.unit.index.factories import enriched_article, enriched_event, event_bytes, message

ItemScript = Callable[[str, Mapping[str, Any]], Mapping[str, Any] | None]


def item(status: int, error_type: str | None = None, reason: str = "because") -> dict[str, Any]:
    result: dict[str, Any] = {"_index": "articles-v1", "status": status}
    if error_type:
        result["error"] = {"type": error_type, "reason": reason}
    return {"index": result}


def api_error(status: int, error_type: str = "error") -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError(error_type, meta, {"error": {"type": error_type, "reason": "scripted"}, "status": status})


def bulk_pairs(body: bytes) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (action, source) pairs of an NDJSON bulk body, checking it is well formed."""
    assert body.endswith(b"\n"), "a bulk body ends with a newline"
    lines = [orjson.loads(line) for line in body.splitlines()]
    assert len(lines) % 2 == 0, "every index action has a source line"
    return [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]


class FakeBulk:
    """Answers bulk requests like Elasticsearch would; ``script`` picks a non-default item result."""

    def __init__(self, script: ItemScript | None = None, raises: list[Exception] | None = None) -> None:
        self.script = script
        self.raises = list(raises or [])
        self.requests: list[list[tuple[dict[str, Any], dict[str, Any]]]] = []
        self.params: list[dict[str, Any]] = []

    def bulk(self, *, operations: bytes, **params: Any) -> dict[str, Any]:
        pairs = bulk_pairs(operations)
        self.requests.append(pairs)
        self.params.append(params)
        if self.raises:
            raise self.raises.pop(0)
        items = []
        for action, document in pairs:
            scripted = self.script(action["index"]["_id"], document) if self.script else None
            items.append(scripted or item(201))
        return {"errors": any("error" in i["index"] for i in items), "items": items}

    def ids(self, request: int) -> list[str]:
        return [action["index"]["_id"] for action, _ in self.requests[request]]


def fail_times(failures: dict[str, list[dict[str, Any]]]) -> ItemScript:
    """Per article id, the item results of its first attempts; later attempts succeed."""

    def script(article_id: str, _: Mapping[str, Any]) -> Mapping[str, Any] | None:
        queue = failures.get(article_id)
        return queue.pop(0) if queue else None

    return script


def make_handler(es: FakeBulk, **kwargs: Any) -> tuple[IndexHandler, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("item_retry", RetryPolicy(initial_s=0.1, max_s=0.4))
    return IndexHandler(es, sleep=sleeps.append, **kwargs), sleeps


def test_batch_is_one_bulk_request_of_index_actions_on_the_alias() -> None:
    events = [enriched_event() for _ in range(5)]
    es = FakeBulk()
    handler, _ = make_handler(es)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert len(es.requests) == 1
    assert es.params[0]["refresh"] is False
    assert es.params[0]["require_alias"] is True
    for (action, document), event in zip(es.requests[0], events, strict=True):
        assert action == {
            "index": {
                "_index": ALIAS,
                "_id": event.article.id,
                "version": event.article.revision,
                "version_type": "external_gte",
            }
        }
        assert document["id"] == event.article.id
        assert document["trace_id"] == event.trace_id
    assert outcomes == [Emitted((), event.article.id, event.trace_id) for event in events]


def test_duplicates_in_a_batch_collapse_to_the_last_revision() -> None:
    article_id = enriched_article().id
    revisions = [enriched_event(enriched_article(article_id, title=f"Revision {n}")) for n in range(3)]
    other = enriched_event()
    batch = [revisions[0], other, revisions[1], revisions[2]]
    es = FakeBulk()
    handler, _ = make_handler(es)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(batch)])

    assert len(es.requests) == 1
    assert sorted(es.ids(0)) == sorted([article_id, other.article.id])
    written = {action["index"]["_id"]: document for action, document in es.requests[0]}
    assert written[article_id]["title"] == "Revision 2"
    assert outcomes[0] == Dropped("superseded_in_batch", article_id)
    assert outcomes[2] == Dropped("superseded_in_batch", article_id)
    assert outcomes[1] == Emitted((), other.article.id, other.trace_id)
    assert outcomes[3] == Emitted((), article_id, revisions[2].trace_id)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b"", "empty_message"),  # the enrich stage's code for it too, since they share one decoder
        (b"[1, 2]", "validation_failed"),
        (orjson.dumps({"type": "article.enriched"}), "validation_failed"),
    ],
)
def test_unreadable_messages_are_rejected_without_a_request(value: bytes, reason: str) -> None:
    es = FakeBulk()
    handler, _ = make_handler(es)

    [outcome] = handler.process([message(value)])

    assert isinstance(outcome, Rejected)
    assert outcome.reason == reason
    assert outcome.detail
    assert es.requests == []


def test_invalid_event_is_rejected_with_its_ids_and_the_rest_indexed() -> None:
    good = enriched_event()
    bad_payload = orjson.loads(event_bytes(enriched_event()))
    bad_payload["article"]["word_count"] = -3
    es = FakeBulk()
    handler, _ = make_handler(es)

    rejected, emitted = handler.process([message(bad_payload, 0), message(good, 1)])

    assert isinstance(rejected, Rejected)
    assert rejected.reason == "validation_failed"
    assert "article.word_count" in rejected.detail
    assert rejected.article_id == bad_payload["article"]["id"]
    assert rejected.trace_id == bad_payload["trace_id"]
    assert emitted == Emitted((), good.article.id, good.trace_id)
    assert es.ids(0) == [good.article.id]


def test_wrong_event_type_is_a_validation_failure() -> None:
    payload = orjson.loads(event_bytes(enriched_event()))
    payload["type"] = "article.ingested"
    handler, _ = make_handler(FakeBulk())

    [outcome] = handler.process([message(payload)])

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "validation_failed"


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
def test_other_schema_major_is_unsupported(version: str) -> None:
    payload = orjson.loads(event_bytes(enriched_event()))
    payload["schema_version"] = version
    payload["article"]["field_from_the_future"] = True
    handler, _ = make_handler(FakeBulk())

    [outcome] = handler.process([message(payload)])

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "unsupported_schema_version"
    assert version in outcome.detail
    assert outcome.article_id == payload["article"]["id"]


def test_newer_minor_of_the_same_major_is_accepted() -> None:
    payload = orjson.loads(event_bytes(enriched_event()))
    payload["schema_version"] = "1.7"
    handler, _ = make_handler(FakeBulk())

    [outcome] = handler.process([message(payload)])

    assert isinstance(outcome, Emitted)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (item(201), ItemResult.INDEXED),
        (item(200), ItemResult.INDEXED),
        (item(429, "es_rejected_execution_exception"), ItemResult.TRANSIENT),
        (item(429, "too_many_requests"), ItemResult.TRANSIENT),
        (item(503, "unavailable_shards_exception"), ItemResult.TRANSIENT),
        (item(503), ItemResult.TRANSIENT),
        (item(500, "null_pointer_exception"), ItemResult.TRANSIENT),
        (item(404, "index_not_found_exception"), ItemResult.TRANSIENT),
        (item(403, "cluster_block_exception"), ItemResult.TRANSIENT),
        (item(400, "es_rejected_execution_exception"), ItemResult.TRANSIENT),
        (item(400, "mapper_parsing_exception"), ItemResult.PERMANENT),
        (item(400, "document_parsing_exception"), ItemResult.PERMANENT),
        (item(400, "strict_dynamic_mapping_exception"), ItemResult.PERMANENT),
        (item(400, "illegal_argument_exception"), ItemResult.PERMANENT),
        (item(413, "request_entity_too_large"), ItemResult.PERMANENT),
        (item(409, "version_conflict_engine_exception"), ItemResult.STALE),
    ],
)
def test_item_classification(result: dict[str, Any], expected: ItemResult) -> None:
    assert classify_item(result) is expected


def test_item_error_description_has_type_reason_and_cause() -> None:
    result = item(400, "document_parsing_exception", "[1:20] failed to parse field [word_count]")
    result["index"]["error"]["caused_by"] = {"type": "number_format_exception", "reason": 'For input "x"'}

    detail = describe_item_error(result)

    assert detail.startswith("document_parsing_exception: [1:20] failed to parse field [word_count]")
    assert "number_format_exception" in detail


def test_permanent_item_error_rejects_only_that_message() -> None:
    events = [enriched_event() for _ in range(3)]
    doomed = events[1].article.id
    es = FakeBulk(fail_times({doomed: [item(400, "strict_dynamic_mapping_exception", "no field [x]")]}))
    handler, sleeps = make_handler(es)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert outcomes[1] == Rejected(
        "es_rejected", "strict_dynamic_mapping_exception: no field [x]", doomed, events[1].trace_id
    )
    assert [type(o) for o in (outcomes[0], outcomes[2])] == [Emitted, Emitted]
    assert len(es.requests) == 1
    assert sleeps == []


def test_transient_item_errors_retry_only_the_failed_items() -> None:
    events = [enriched_event() for _ in range(4)]
    busy, moving = events[0].article.id, events[3].article.id
    es = FakeBulk(
        fail_times(
            {
                busy: [
                    item(429, "es_rejected_execution_exception"),
                    item(429, "es_rejected_execution_exception"),
                ],
                moving: [item(503, "unavailable_shards_exception")],
            }
        )
    )
    handler, sleeps = make_handler(es, item_retry_attempts=3)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert all(isinstance(outcome, Emitted) for outcome in outcomes)
    assert len(es.requests) == 3
    assert sorted(es.ids(1)) == sorted([busy, moving])
    assert es.ids(2) == [busy]
    assert len(sleeps) == 2
    # Capped exponential with jitter: attempt n waits between half and all of min(max, initial * 2^(n-1)).
    assert 0.05 <= sleeps[0] <= 0.1
    assert 0.1 <= sleeps[1] <= 0.2


def test_items_failing_transiently_past_the_attempts_raise_transient_error() -> None:
    events = [enriched_event() for _ in range(2)]
    stuck = events[0].article.id
    es = FakeBulk(fail_times({stuck: [item(429, "es_rejected_execution_exception")] * 10}))
    handler, sleeps = make_handler(es, item_retry_attempts=2)

    with pytest.raises(TransientError, match="es_rejected_execution_exception"):
        handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert len(es.requests) == 3
    assert es.ids(1) == es.ids(2) == [stuck]
    assert len(sleeps) == 2
    assert all(delay <= 0.4 for delay in sleeps)


def test_zero_item_retries_raise_at_the_first_transient_item() -> None:
    event = enriched_event()
    es = FakeBulk(fail_times({event.article.id: [item(503, "unavailable_shards_exception")]}))
    handler, sleeps = make_handler(es, item_retry_attempts=0)

    with pytest.raises(TransientError):
        handler.process([message(event)])

    assert len(es.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("connection refused"),
        ConnectionTimeout("read timed out"),
        api_error(429, "es_rejected_execution_exception"),
        api_error(503, "cluster_block_exception"),
        api_error(502, "bad_gateway"),
    ],
)
def test_whole_request_failures_are_transient(error: Exception) -> None:
    es = FakeBulk(raises=[error])
    handler, _ = make_handler(es)

    with pytest.raises(TransientError):
        handler.process([message(enriched_event())])


def test_authentication_failure_is_not_retried() -> None:
    meta = ApiResponseMeta(401, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    es = FakeBulk(raises=[AuthenticationException("security_exception", meta, {})])
    handler, _ = make_handler(es)

    with pytest.raises(AuthenticationException):
        handler.process([message(enriched_event())])


def test_request_too_large_is_split_until_the_oversized_document_is_alone() -> None:
    events = [enriched_event() for _ in range(4)]
    huge = events[2]
    huge_id = huge.article.id

    class TooLargeWithHuge(FakeBulk):
        def bulk(self, *, operations: bytes, **params: Any) -> dict[str, Any]:
            if any(action["index"]["_id"] == huge_id for action, _ in bulk_pairs(operations)):
                self.raises = [api_error(413, "request_entity_too_large")]
            return super().bulk(operations=operations, **params)

    es = TooLargeWithHuge()
    handler, _ = make_handler(es)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    rejected = outcomes[2]
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "es_rejected"
    assert rejected.article_id == huge_id
    assert rejected.detail.startswith("request_entity_too_large")
    assert [type(o) for i, o in enumerate(outcomes) if i != 2] == [Emitted] * 3
    assert [huge_id] in [es.ids(n) for n in range(len(es.requests))]


def test_batches_over_bulk_max_bytes_are_split_into_several_requests() -> None:
    long_paragraphs = ["word " * 400] * 2
    events = [enriched_event(enriched_article(paragraphs=long_paragraphs)) for _ in range(10)]
    es = FakeBulk()
    handler, _ = make_handler(es, bulk_max_bytes=12_000)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert all(isinstance(outcome, Emitted) for outcome in outcomes)
    assert len(es.requests) > 1
    for request in es.requests:
        body = sum(
            len(orjson.dumps(action)) + len(orjson.dumps(document)) + 2 for action, document in request
        )
        assert body <= 12_000 or len(request) == 1
    written = [article_id for n in range(len(es.requests)) for article_id in es.ids(n)]
    assert written == [event.article.id for event in events]


def test_empty_batch_makes_no_request() -> None:
    es = FakeBulk()
    handler, _ = make_handler(es)

    assert handler.process([]) == []
    assert es.requests == []


def test_unexpected_error_preparing_a_message_rejects_only_that_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = [enriched_event() for _ in range(2)]
    broken_id = events[0].article.id
    real_document_from = handler_module.document_from

    def document_from(article: Any, trace_id: str, indexed_at: Any = None) -> dict[str, Any]:
        if article.id == broken_id:
            raise KeyError("boom")
        return real_document_from(article, trace_id, indexed_at)

    monkeypatch.setattr(handler_module, "document_from", document_from)
    es = FakeBulk()
    handler, _ = make_handler(es)

    outcomes = handler.process([message(event, offset) for offset, event in enumerate(events)])

    assert isinstance(outcomes[0], Rejected)
    assert outcomes[0].reason == "unhandled_error"
    assert "KeyError" in outcomes[0].detail
    assert outcomes[1] == Emitted((), events[1].article.id, events[1].trace_id)
    assert es.ids(0) == [events[1].article.id]
