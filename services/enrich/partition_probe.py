"""What faust and aiokafka hold about each assigned partition, for diagnosing a partition that stalls.

faust keeps its own sets of active, paused and buffered partitions and asks aiokafka's fetcher only
for records of the active ones; aiokafka fetches every assigned partition that has a position, but
sends no new fetch request for a partition while records it fetched earlier are still buffered. A
partition that faust leaves out of its active set therefore gets no fetch requests at all, which is
how the stall reported upstream (faust-streaming/faust#629, #175) looks from the outside.

The snapshot reads the consumer thread's objects from the main thread without locking: good enough
for a diagnostic line, never used to decide anything.
"""

from __future__ import annotations

from typing import Any


def partition_states(app: Any, processed: dict[tuple[str, int], int]) -> dict[str, Any]:
    """One JSON-ready snapshot of the consumer: flags of the app and one entry per assigned partition."""
    consumer = app.consumer
    assigned = consumer.assignment()
    active = consumer._active_partitions or set()
    paused = consumer._paused_partitions
    buffered = consumer._buffered_partitions
    aio = getattr(consumer._thread, "_consumer", None)
    fetcher = aio._fetcher if aio is not None else None
    subscription = aio._subscription.subscription if aio is not None else None
    assignment = subscription.assignment if subscription is not None else None
    partitions = {}
    for tp in sorted(assigned):
        state = assignment.state_value(tp) if assignment is not None else None
        partitions[f"{tp.topic}/{tp.partition}"] = {
            "faust": "active"
            if tp in active
            else "paused"
            if tp in paused
            else "buffered"
            if tp in buffered
            else "none",
            "position": getattr(state, "_position", None),
            "highwater": getattr(state, "highwater", None),
            "awaiting_reset": getattr(state, "awaiting_reset", None),
            "records_buffered": fetcher is not None and tp in fetcher._records,
            "processed": processed.get((tp.topic, tp.partition)),
        }
    return {
        "generation": app.consumer_generation_id,
        "rebalancing": app.rebalancing,
        "in_recovery": app.in_recovery,
        "flow_active": consumer.flow_active,
        "fetches_in_flight": sorted(fetcher._in_flight) if fetcher is not None else None,
        "partitions": partitions,
    }
