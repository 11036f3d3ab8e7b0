"""The index handler's speed lever keeps its behaviour (candidates for tests/unit/index/test_handler.py).

``parse_event`` validates the usual, valid event straight from the JSON bytes; the outcome must be
exactly what the checked path gives, and every rejection must keep its precise reason.
"""

from __future__ import annotations

import orjson

from services.index.handler import parse_event
from services.runtime.messages import Rejected
from tests.unit.index.factories import enriched_event, event_bytes, message


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
