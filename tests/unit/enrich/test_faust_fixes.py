"""The two fixes to faust's rebalance handling (services/enrich/faust_fixes.py), as pure logic.

The records they save are shown on the real broker by ``python3 -m tests.stress.enrich pairs
--fresh-topics 2`` (with ``NEWSWIRE_ENRICH_FAUST_REBALANCE_FIXES=false`` it loses records).
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from services.enrich.faust_fixes import ActivePartitions, SeekBeforeResumeRecovery

STREAM = TP("articles.ingested", 0)
CHANGELOG = TP("app-near-duplicate-signatures-changelog", 0)


def test_active_partitions_is_a_live_view_that_is_never_read_as_all_partitions() -> None:
    active: set[TP] = set()
    view = ActivePartitions(active)
    # aiokafka's fetched_records skips a partition only `if partitions and tp not in partitions`.
    assert view and STREAM not in view
    active.add(STREAM)
    assert STREAM in view
    active.discard(STREAM)
    assert STREAM not in view


class FakeRecovery:
    """What SeekBeforeResumeRecovery.on_recovery_completed uses of a faust Recovery, recording calls."""

    def __init__(self, flow_active: bool = True, rebalance_during_seek: bool = False) -> None:
        self.calls: list[str] = []
        self.log = logging.getLogger("test")
        self.completed = asyncio.Event()
        self.actives_for_table: dict[Any, Any] = {}
        self.standbys_for_table: dict[Any, Any] = {}
        self.tables = SimpleNamespace(
            values=lambda: [],
            on_actives_ready=lambda: self.calls.append("actives_ready"),
            on_standbys_ready=lambda: self.calls.append("standbys_ready"),
        )

        async def send() -> None:
            self.calls.append("on_rebalance_complete")

        async def perform_seek() -> None:
            self.calls.append("seek")
            if rebalance_during_seek:
                self.app.consumer_generation_id += 1

        async def maybe_start() -> None:
            self.calls.append("fetcher")

        self.app = SimpleNamespace(
            consumer_generation_id=7,
            on_rebalance_complete=SimpleNamespace(send=send),
            conf=SimpleNamespace(broker_request_timeout=1.0),
            flow_control=SimpleNamespace(
                is_active=lambda: flow_active, resume=lambda: self.calls.append("flow_control.resume")
            ),
            consumer=SimpleNamespace(
                assignment=lambda: {STREAM, CHANGELOG},
                perform_seek=perform_seek,
                resume_flow=lambda: self.calls.append("resume_flow"),
                resume_partitions=lambda tps: self.calls.append(f"resume {sorted(tps)}"),
            ),
            _fetcher=SimpleNamespace(maybe_start=maybe_start),
            assignor=SimpleNamespace(assigned_standbys=lambda: {CHANGELOG}),
            on_rebalance_end=lambda: self.calls.append("rebalance_end"),
        )

    def _set_recovery_ended(self) -> None:
        self.calls.append("recovery_ended")

    async def _wait(self, coro: Any, timeout: float) -> None:
        await coro

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp == CHANGELOG

    def _rebalanced_since(self, generation_id: int) -> bool:
        return SeekBeforeResumeRecovery._rebalanced_since(self, generation_id)  # type: ignore[arg-type]


def complete(recovery: FakeRecovery) -> list[str]:
    asyncio.run(SeekBeforeResumeRecovery.on_recovery_completed(recovery, 7))  # type: ignore[arg-type]
    return recovery.calls


def test_stream_partitions_are_resumed_after_the_seek_and_their_queues_are_not_cleared() -> None:
    calls = complete(FakeRecovery(flow_active=True))
    assert calls.index("seek") < calls.index(f"resume {[STREAM]}")
    assert "flow_control.resume" not in calls  # it would only clear the queues (changelog events too)
    assert calls[-1] == "rebalance_end"


def test_a_suspended_flow_is_resumed_before_the_stream_partitions() -> None:
    calls = complete(FakeRecovery(flow_active=False))
    assert calls.index("seek") < calls.index("flow_control.resume") < calls.index(f"resume {[STREAM]}")


def test_a_rebalance_during_the_seek_leaves_the_partitions_to_the_next_recovery() -> None:
    calls = complete(FakeRecovery(rebalance_during_seek=True))
    assert "seek" in calls
    assert not [call for call in calls if call.startswith("resume")]
    assert "rebalance_end" not in calls
