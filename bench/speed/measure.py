"""Progress over time and what it says: steady rates, overall rates, percentiles."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """How many items were done at which moment (``time.monotonic()`` seconds) during one phase."""

    target: int
    started_at: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    outcome: str = "running"  # done | stalled | time_boxed
    #: When the stage's consumer group had its partitions (None: not watched).
    ready_at: float | None = None

    @property
    def done(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    @property
    def finished_at(self) -> float:
        """When the last item was seen (the first sample showing the final count)."""
        final = self.done
        return next(t for t, n in self.samples if n >= final) if self.samples else self.started_at

    def steady_rate(self) -> float:
        """Items per second from the first item seen to the last: start-up and joining left out.

        The first sample that shows any progress already includes a first batch; it is counted as
        the starting point, so only items done after it and the time after it enter the rate.
        """
        first = next(((t, n) for t, n in self.samples if n > 0), None)
        if first is None:
            return 0.0
        t_first, n_first = first
        t_last, n_last = self.finished_at, self.done
        if t_last - t_first <= 0 or n_last <= n_first:
            return self.overall_rate()
        return (n_last - n_first) / (t_last - t_first)

    def joined_rate(self) -> float | None:
        """Items per second from the consumer group's join to the last item.

        Fair to consumers that batch on their own clock (the peer writes every 5 s): their first
        batch is counted with the time it took. Process start-up and the join itself are left out.
        """
        if self.ready_at is None:
            return None
        elapsed = self.finished_at - self.ready_at
        return self.done / elapsed if elapsed > 0 else None

    def overall_rate(self) -> float:
        """Items per second from the start of the phase (start-up included)."""
        elapsed = self.finished_at - self.started_at
        return self.done / elapsed if elapsed > 0 else 0.0

    def summary(self) -> dict[str, object]:
        joined = self.joined_rate()
        return {
            "items": self.done,
            "target": self.target,
            "outcome": self.outcome,
            "joined_per_s": round(joined, 1) if joined is not None else None,
            "steady_per_s": round(self.steady_rate(), 1),
            "overall_per_s": round(self.overall_rate(), 1),
            "seconds": round(self.finished_at - self.started_at, 2),
        }


def track(
    read: Callable[[], int],
    target: int,
    *,
    started_at: float | None = None,
    budget_s: float | None = None,
    timeout_s: float = 1800.0,
    stall_s: float = 60.0,
    interval_s: float = 0.25,
    idle: Callable[[], bool] | None = None,
    on_first_progress: Callable[[int], None] | None = None,
    ready: Callable[[], bool] | None = None,
    on_ready: Callable[[], None] | None = None,
    label: str = "",
) -> Progress:
    """Sample ``read()`` until it reaches ``target``.

    Stops early, keeping what was measured, when ``budget_s`` is spent (``time_boxed``: the rate is
    still a steady-state rate), or when nothing moved for ``stall_s`` while ``idle()`` says the
    stage has no more input (``stalled``: some items were dropped or dead-lettered on the way).
    ``on_first_progress(count)`` is called once, when the first items show; ``ready()`` is asked
    until it first says yes, which sets ``ready_at`` and calls ``on_ready()``.
    """
    progress = Progress(target, started_at if started_at is not None else time.monotonic())
    last_change = time.monotonic()
    last_report = last_change
    previous = -1
    first_seen_at: float | None = None
    while True:
        now = time.monotonic()
        try:
            done = read()
        except Exception as exc:  # a slow broker or cluster answer: keep sampling
            log.debug("progress read failed: %s", exc)
            time.sleep(interval_s)
            continue
        progress.samples.append((now, done))
        if ready is not None and progress.ready_at is None:
            try:
                if ready():
                    progress.ready_at = now
                    if on_ready is not None:
                        on_ready()
            except Exception as exc:
                log.debug("readiness check failed: %s", exc)
        if done != previous:
            previous, last_change = done, now
        if done > 0 and first_seen_at is None:
            first_seen_at = now
            if on_first_progress is not None:
                on_first_progress(done)
        if done >= target:
            progress.outcome = "done"
            return progress
        if budget_s is not None and first_seen_at is not None and now - first_seen_at >= budget_s:
            progress.outcome = "time_boxed"
            log.info("%s: time box of %.0fs reached at %d/%d", label, budget_s, done, target)
            return progress
        quiet_for = now - last_change
        if quiet_for >= stall_s and (idle is None or idle()):
            progress.outcome = "stalled"
            log.warning("%s: no progress for %.0fs at %d/%d", label, quiet_for, done, target)
            return progress
        if now - progress.started_at > timeout_s:
            progress.outcome = "timeout"
            log.warning("%s: gave up after %.0fs at %d/%d", label, timeout_s, done, target)
            return progress
        if now - last_report >= 10:
            last_report = now
            log.info("%s: %d/%d", label, done, target)
        time.sleep(interval_s)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
