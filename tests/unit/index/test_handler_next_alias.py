"""While a reprocess run builds a new index, every batch is written through its next alias first."""

from __future__ import annotations

from typing import Any

from services.index.handler import IndexHandler
from services.runtime.messages import Emitted
from tests.unit.index.factories import enriched_event, message
from tests.unit.index.test_handler import bulk_pairs

NEXT = "articles-next"


class Targets:
    """A bulk endpoint recording each request's target; ``missing`` aliases fail like require_alias does."""

    def __init__(self, missing: set[str] | None = None) -> None:
        self.requests: list[tuple[str, int]] = []
        self.missing = missing or set()

    def bulk(self, *, operations: bytes, **_: Any) -> dict[str, Any]:
        pairs = bulk_pairs(operations)
        targets = {action["index"]["_index"] for action, _ in pairs}
        assert len(targets) == 1
        target = targets.pop()
        self.requests.append((target, len(pairs)))
        if target in self.missing:
            error = {"type": "index_not_found_exception", "reason": f"no such index [{target}]"}
            return {"errors": True, "items": [{"index": {"status": 404, "error": error}} for _ in pairs]}
        return {"errors": False, "items": [{"index": {"status": 201}} for _ in pairs]}


def _batch(count: int = 3) -> list[Any]:
    return [message(enriched_event(), offset=i) for i in range(count)]


def test_without_a_next_alias_only_the_live_alias_is_written() -> None:
    es = Targets()
    IndexHandler(es, parallel_requests=1).process(_batch())
    assert es.requests == [("articles", 3)]


def test_the_next_alias_is_written_first_while_it_exists() -> None:
    es = Targets()
    handler = IndexHandler(
        es, parallel_requests=1, next_alias="articles-next", next_alias_exists=lambda: True
    )
    outcomes = handler.process(_batch())
    assert es.requests == [("articles-next", 3), ("articles", 3)]
    assert all(isinstance(outcome, Emitted) for outcome in outcomes)


def test_the_alias_is_looked_for_at_most_every_interval() -> None:
    es, asked, now = Targets(), [], [0.0]
    handler = IndexHandler(
        es,
        parallel_requests=1,
        next_alias="articles-next",
        next_alias_exists=lambda: bool(asked.append(1)) or True,
        next_alias_check_s=5.0,
        monotonic=lambda: now[0],
    )
    handler.process(_batch(1))
    now[0] = 4.0
    handler.process(_batch(1))
    assert len(asked) == 1
    now[0] = 5.0
    handler.process(_batch(1))
    assert len(asked) == 2


def test_a_next_alias_gone_meanwhile_is_no_failure() -> None:
    # The run swapped between the check and the write: the live alias now points at the new index.
    es = Targets(missing={"articles-next"})
    handler = IndexHandler(
        es, parallel_requests=1, next_alias="articles-next", next_alias_exists=lambda: True
    )
    outcomes = handler.process(_batch())
    assert all(isinstance(outcome, Emitted) for outcome in outcomes)
    handler.process(_batch())  # and it is not written to again until the next check
    assert es.requests == [("articles-next", 3), ("articles", 3), ("articles", 3)]


def test_a_failed_check_means_write_to_it() -> None:
    def broken() -> bool:
        raise ConnectionError("down")

    es = Targets()
    IndexHandler(es, parallel_requests=1, next_alias="articles-next", next_alias_exists=broken).process(
        _batch()
    )
    assert es.requests == [("articles-next", 3), ("articles", 3)]
