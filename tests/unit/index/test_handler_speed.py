"""The index handler's speed levers keep its behaviour.

Parallel bulk requests for big batches, one request for small ones, outcomes in message order,
prepare/write giving what process gives, and the fast JSON path of ``parse_event`` giving exactly
what the checked path gives.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from services.index.handler import IndexHandler, _chunks, _Pending, parse_event
from services.runtime.messages import Emitted, Rejected
from tests.unit.index.factories import enriched_event, event_bytes, message
from tests.unit.index.test_handler import bulk_pairs


class RecordingBulk:
    """Succeeds every item; remembers each request's ids and how many requests overlapped."""

    def __init__(self, hold_s: float = 0.0) -> None:
        self.requests: list[list[str]] = []
        self.hold = threading.Event()
        self.hold_s = hold_s
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def bulk(self, *, operations: bytes, **_: Any) -> dict[str, Any]:
        pairs = bulk_pairs(operations)
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.requests.append([action["index"]["_id"] for action, _ in pairs])
        self.hold.wait(self.hold_s)
        with self.lock:
            self.in_flight -= 1
        return {"errors": False, "items": [{"index": {"status": 201}} for _ in pairs]}


def test_a_big_batch_goes_out_as_parallel_requests_and_outcomes_stay_in_order() -> None:
    events = [enriched_event() for _ in range(240)]
    es = RecordingBulk(hold_s=0.2)
    outcomes = IndexHandler(es, parallel_requests=2).process(
        [message(e, offset=i) for i, e in enumerate(events)]
    )
    assert [len(ids) for ids in es.requests] == [120, 120]
    assert es.most_in_flight == 2
    assert sorted(es.requests[0] + es.requests[1]) == sorted(e.article.id for e in events)
    assert all(isinstance(o, Emitted) for o in outcomes)
    assert [o.article_id for o in outcomes if isinstance(o, Emitted)] == [e.article.id for e in events]


def test_a_small_batch_stays_one_request() -> None:
    es = RecordingBulk()
    IndexHandler(es, parallel_requests=2).process([message(enriched_event(), offset=i) for i in range(150)])
    assert [len(ids) for ids in es.requests] == [150]


def test_one_parallel_request_means_sequential() -> None:
    es = RecordingBulk()
    IndexHandler(es, parallel_requests=1).process([message(enriched_event(), offset=i) for i in range(400)])
    assert [len(ids) for ids in es.requests] == [400]


def test_chunks_respect_both_the_document_and_the_byte_limit() -> None:
    pending = [_Pending(i, str(i), "t", 1, None, b"x" * 100) for i in range(7)]
    assert [len(c) for c in _chunks(pending, 10_000, 3)] == [3, 3, 1]
    assert [len(c) for c in _chunks(pending, 250, 3)] == [2, 2, 2, 1]
    assert [len(c) for c in _chunks(pending, 10_000)] == [7]


def test_fast_parse_gives_the_same_event_as_the_checked_path() -> None:
    event = enriched_event()
    parsed = parse_event(message(event))
    assert parsed == event


def test_another_schema_major_is_still_rejected_as_such() -> None:
    payload = orjson.loads(event_bytes(enriched_event()))
    payload["schema_version"] = "9.0"
    parsed = parse_event(message(orjson.dumps(payload)))
    assert isinstance(parsed, Rejected)
    assert parsed.reason == "unsupported_schema_version"


def test_invalid_events_keep_their_precise_reasons() -> None:
    not_json = parse_event(message(b"{nope"))
    not_object = parse_event(message(b"[1, 2]"))
    payload = orjson.loads(event_bytes(enriched_event()))
    del payload["article"]["title"]
    invalid = parse_event(message(orjson.dumps(payload)))
    assert isinstance(not_json, Rejected) and not_json.reason == "invalid_json"
    assert isinstance(not_object, Rejected) and not_object.reason == "validation_failed"
    assert isinstance(invalid, Rejected) and invalid.reason == "validation_failed"
    assert "article.title" in invalid.detail


def test_prepare_then_write_gives_what_process_gives_and_write_can_be_repeated() -> None:
    events = [enriched_event() for _ in range(5)]
    batch = [message(e, offset=i) for i, e in enumerate(events)] + [message(b"{nope", offset=5)]
    handler = IndexHandler(RecordingBulk(), parallel_requests=1)
    prepared = handler.prepare(batch)
    first, again = handler.write(prepared), handler.write(prepared)
    expected = IndexHandler(RecordingBulk(), parallel_requests=1).process(batch)
    assert [type(o) for o in first] == [type(o) for o in expected] == [Emitted] * 5 + [Rejected]
    assert [getattr(o, "article_id", None) for o in first] == [getattr(o, "article_id", None) for o in again]


def test_a_bulk_body_is_ndjson_of_versioned_actions_on_the_alias() -> None:
    event = enriched_event()
    prepared = IndexHandler(RecordingBulk()).prepare([message(event)])
    ((action, source),) = bulk_pairs(b"".join(entry.item for entry in prepared.pending))
    assert action == {
        "index": {
            "_index": "articles",
            "_id": event.article.id,
            "version": event.article.revision,
            "version_type": "external_gte",
        }
    }
    assert source["id"] == event.article.id and source["trace_id"] == event.trace_id
