"""Two fixes to faust-streaming 0.15.3 (with aiokafka 0.14) that lose records after a rebalance.

After each rebalance faust pauses every assigned partition, rebuilds the tables from their
changelogs, then resumes the stream partitions. Meanwhile aiokafka keeps fetching every assigned
partition, so the records of the paused stream partitions wait in its fetcher. Two things let such
records slip past the agent, and the worker then looks stalled: it says it is ready, its partition
shows lag or none, and the records it should have processed never come out (``bench.speed``'s
``enrich2`` stopping at 492 of 800; the restarted service in the integration test).

1. An empty set means "every partition" to aiokafka's ``Fetcher.fetched_records(partitions)``
   (``if partitions and tp not in partitions``). faust hands it its live set of active partitions,
   which is empty for a while in each recovery: the stream partitions are paused, and the changelog
   partition is paused once the table is up to date and before it is resumed as a standby. A call
   that waits for records while the set empties returns the paused partitions' records too, moving
   aiokafka's position past them; faust's ``Consumer.getmany`` then drops them, as their partitions
   are not active. A partition without a committed offset (a new group) is never sought back: its
   whole prefetched backlog is gone. Fixed by :func:`fetch_only_active_partitions`.

2. ``Recovery.on_recovery_completed`` resumes the stream partitions, then awaits the seek to the
   committed offsets, then calls ``app.flow_control.resume()``, which clears every stream's queue.
   During the await the fetch loop hands records of the resumed partitions to the streams' queues;
   the clear drops them unprocessed while faust's read offset has moved past them, and when the
   seek brought the partition back, the fetch loop goes on with the batch it holds, takes the jump
   in offsets for a gap (as in compacted topics), drops the refetched records as already read and
   commits past them. Fixed by :class:`SeekBeforeResumeRecovery`, installed through
   :class:`EnrichTableManager`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any, cast

from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread


class ActivePartitions:
    """A live view of faust's active partitions that is never falsy: empty means none, not all."""

    __slots__ = ("tps",)

    def __init__(self, tps: Collection[Any]) -> None:
        self.tps = tps

    def __bool__(self) -> bool:
        return True

    def __contains__(self, tp: object) -> bool:
        return tp in self.tps


_fetch_records = AIOKafkaConsumerThread._fetch_records


async def _fetch_active_records(
    self: AIOKafkaConsumerThread,
    consumer: Any,
    active_partitions: Any,
    timeout: float | None = None,
    max_records: int | None = None,
) -> Any:
    if active_partitions is not None:  # None: a client-only app, which does mean every partition
        active_partitions = ActivePartitions(active_partitions)
    return await _fetch_records(self, consumer, active_partitions, timeout=timeout, max_records=max_records)


def fetch_only_active_partitions() -> None:
    """Make faust's fetch loop take records of its active partitions only (fix 1 above); idempotent."""
    AIOKafkaConsumerThread._fetch_records = _fetch_active_records  # type: ignore[method-assign]


class SeekBeforeResumeRecovery(Recovery):
    """``Recovery`` whose completion seeks first and resumes the stream partitions last (fix 2)."""

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Call when active table recovery is completed (faust's steps, in a safe order)."""
        app: Any = self.app
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(self.actives_for_table[table], self.standbys_for_table[table])
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        if self._rebalanced_since(generation_id):
            return
        assignment = consumer.assignment()
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
            if self._rebalanced_since(generation_id):
                return
        self.completed.set()
        if not app.flow_control.is_active():
            app.flow_control.resume()  # also clears the queues: nothing of the stream partitions is there yet
        consumer.resume_flow()
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        await app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")

    def _rebalanced_since(self, generation_id: int) -> bool:
        """Whether another rebalance began: its own recovery will resume the partitions then."""
        current = self.app.consumer_generation_id
        if current != generation_id:
            self.log.warning("Recovery rebalancing again app id %s param %s", current, generation_id)
            return True
        return False


class EnrichTableManager(TableManager):
    """faust's table manager with :class:`SeekBeforeResumeRecovery` (``faust.App(TableManager=...)``)."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekBeforeResumeRecovery(
                cast(Any, self.app), self, beacon=self.beacon, loop=self.loop
            )
        return self._recovery
