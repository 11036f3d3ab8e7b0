"""The stall watchdog: a partition this process holds, with lag, whose offset does not move, ends it.

A consumer can stop making progress without any error: a write that hangs without a timeout, a
partition that gets no fetches after a rebalance (faust-streaming#629), a blocked event loop.
Polling and heartbeats may go on, so neither Kafka's group protocol nor the loop's liveness beat
notices. The watchdog looks from outside the loop, at what matters downstream: the group's
committed offsets.

Every sample (taken by :class:`services.runtime.metrics.ConsumerLagSampler` on its own thread
with its own Kafka clients; kafka-python clients are not thread-safe and the worker's consumer is
never touched from here) gives, per partition of the input topic, the group's committed offset
(the log start when it never committed) and the end offset. The loop publishes which partitions
it holds into an :class:`Assignment` after every poll. :class:`StallDetector` (pure) keeps, per
held partition with lag, since when its committed offset has not moved; a partition without lag
is never stalled, and one newly held starts a fresh clock. After ``timeout_s`` the
:class:`Watchdog` fails ``/healthz`` and ``/readyz`` with the reason, logs it at error level
(partitions, committed and end offsets, seconds), waits ``exit_delay_s`` so probes and scrapes
can see it, and ends the process with :data:`STALL_EXIT_CODE` through ``os._exit``: the stuck
thread may never return, so a clean shutdown cannot be waited for. The supervisor (``make up``,
compose's restart policy, Kubernetes) starts it again and the group re-reads from the committed
offsets, so nothing is lost.

Known waits are not stalls: while the loop reports that it is retrying a dependency
(:meth:`services.runtime.metrics.Health.set_retrying`: Elasticsearch down, produce refused) and
keeps beating, readiness already says why and the clocks start over, because a restart does not
bring a dependency back. A sample that fails (the broker is away) also starts the clocks over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import Gauge

from services.runtime.metrics import HEALTH, Health, Partition, PartitionOffsets

log = logging.getLogger(__name__)

#: Exit status of a process the watchdog ended (EX_SOFTWARE); supervisors log it with the restart.
STALL_EXIT_CODE = 70
#: How long a stalled process keeps answering probes and scrapes with the reason before it exits.
EXIT_DELAY_S = 5.0

STALLED_PARTITIONS = Gauge(
    "newswire_stalled_partitions", "Held partitions with lag whose committed offset stopped moving."
)


@dataclass(frozen=True, order=True)
class Stall:
    """A held partition with lag whose committed offset has not moved for ``stalled_s`` seconds."""

    topic: str
    partition: int
    committed: int
    end: int
    stalled_s: float

    def describe(self) -> str:
        return (
            f"{self.topic}[{self.partition}] committed {self.committed}, end {self.end} "
            f"({self.end - self.committed} behind), no progress for {self.stalled_s:.0f}s"
        )


@dataclass(frozen=True)
class _Clock:
    committed: int
    since: float | None  # first sample with lag at this committed offset; None: no lag


class StallDetector:
    """Which partitions have had lag and an unmoved committed offset for ``timeout_s`` or longer.

    Fed one sample at a time (only the partitions this process holds); pure, the caller's clock.
    """

    def __init__(self, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.timeout_s = timeout_s
        self._clocks: dict[Partition, _Clock] = {}

    def observe(self, now: float, offsets: Mapping[Partition, PartitionOffsets]) -> list[Stall]:
        """Record a sample; the stalled partitions, in order. Partitions left out are forgotten."""
        clocks: dict[Partition, _Clock] = {}
        stalls = []
        for (topic, partition), sample in offsets.items():
            previous = self._clocks.get((topic, partition))
            if not sample.lag:
                clocks[(topic, partition)] = _Clock(sample.committed, None)
                continue
            since = now
            if previous is not None and previous.since is not None and previous.committed == sample.committed:
                since = previous.since
            clocks[(topic, partition)] = _Clock(sample.committed, since)
            if now - since >= self.timeout_s:
                stalls.append(Stall(topic, partition, sample.committed, sample.end, now - since))
        self._clocks = clocks
        return sorted(stalls)

    def forget(self) -> None:
        """Start every clock over (the next sample is the first)."""
        self._clocks = {}


class Assignment:
    """The partitions the consuming loop holds, as it last published them (thread-safe).

    The loop publishes after every poll (rebalances happen inside polls); a loop that stopped
    leaves its last assignment in place, which is what the watchdog must then look at.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: frozenset[Partition] | None = None

    def publish(self, partitions: Iterable[tuple[str, int]]) -> None:
        held = frozenset((str(tp[0]), int(tp[1])) for tp in partitions)
        with self._lock:
            self._partitions = held

    def current(self) -> frozenset[Partition] | None:
        """None until the loop published once."""
        with self._lock:
            return self._partitions


class Watchdog:
    """Turns stalls found in the samples into failed probes, an error line and an exit.

    ``on_sample`` is the sampler's listener (it runs on the sampler's thread). ``exit`` and
    ``exit_delay_s`` are for tests; services keep ``os._exit`` after :data:`EXIT_DELAY_S`.
    """

    def __init__(
        self,
        service: str,
        timeout_s: float,
        *,
        health: Health = HEALTH,
        assignment: Assignment | None = None,
        clock: Callable[[], float] = time.monotonic,
        exit: Callable[[int], object] = os._exit,
        exit_delay_s: float = EXIT_DELAY_S,
    ) -> None:
        self.service = service
        self.detector = StallDetector(timeout_s)
        self.assignment = assignment or Assignment()
        self.health = health
        self.clock = clock
        self._exit = exit
        self.exit_delay_s = exit_delay_s

    @property
    def timeout_s(self) -> float:
        return self.detector.timeout_s

    def on_sample(self, offsets: Mapping[Partition, PartitionOffsets] | None) -> list[Stall]:
        """Judge one sample (None: sampling failed); the stalls it ended the process for."""
        held = self.assignment.current()
        if offsets is None or held is None or self.health.retrying_within(self.timeout_s):
            self.detector.forget()
            STALLED_PARTITIONS.set(0)
            return []
        stalls = self.detector.observe(
            self.clock(), {tp: sample for tp, sample in offsets.items() if (tp[0], tp[1]) in held}
        )
        STALLED_PARTITIONS.set(len(stalls))
        if stalls:
            self._fail(stalls)
        return stalls

    def _fail(self, stalls: list[Stall]) -> None:
        reason = "stalled: " + "; ".join(stall.describe() for stall in stalls)
        self.health.set_stalled(reason[:1000])
        log.error(
            "consumer stalled; exiting so that the supervisor restarts the service",
            extra={
                "partitions": [f"{stall.topic}[{stall.partition}]" for stall in stalls],
                "committed": {f"{s.topic}[{s.partition}]": s.committed for s in stalls},
                "end": {f"{s.topic}[{s.partition}]": s.end for s in stalls},
                "stalled_s": round(max(stall.stalled_s for stall in stalls), 1),
                "stall_timeout_s": self.timeout_s,
                "exit_code": STALL_EXIT_CODE,
            },
        )
        _flush_logs()
        time.sleep(self.exit_delay_s)
        _flush_logs()
        self._exit(STALL_EXIT_CODE)


def sample_interval(timeout_s: float, default_s: float = 15.0) -> float:
    """How often to sample offsets: often enough to notice a stall within about a sixth more."""
    if timeout_s <= 0:
        return default_s
    return max(1.0, min(default_s, timeout_s / 6))


def _flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # a broken stderr must not keep a stuck process alive
            handler.flush()
