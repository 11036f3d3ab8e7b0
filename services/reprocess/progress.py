"""Progress of a run from its consumer groups' offsets, and an ETA from the recent pace."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One consumer group on one topic: records from the start of the log to its end, and done."""

    total: int
    done: int

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)


def stage(start: Mapping[int, int], end: Mapping[int, int], committed: Mapping[int, int]) -> Stage:
    """Records between each partition's first offset and its end, and how many the group committed.

    ``start`` is the log start (a compacted or trimmed log no longer begins at 0); a partition the
    group never committed counts as not started.
    """
    total = done = 0
    for partition, last in end.items():
        first = start.get(partition, 0)
        total += max(0, last - first)
        done += max(0, min(last, committed.get(partition, first)) - first)
    return Stage(total, done)


def caught_up(target: Mapping[int, int], committed: Mapping[int, int]) -> bool:
    """Whether the group committed at least ``target`` (end offsets taken earlier) on every partition."""
    return all(committed.get(partition, 0) >= offset for partition, offset in target.items() if offset > 0)


class Pace:
    """Records per second over the last ``window_s`` seconds of observations, and the time left."""

    def __init__(self, window_s: float = 30.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def observe(self, at: float, done: int) -> None:
        self._samples.append((at, done))
        while len(self._samples) > 2 and at - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    @property
    def per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 <= t0:
            return None
        return max(0.0, (d1 - d0) / (t1 - t0))

    def eta_s(self, remaining: int) -> float | None:
        """Seconds until ``remaining`` records are done at the recent pace; None while unknown."""
        if remaining <= 0:
            return 0.0
        pace = self.per_second
        return remaining / pace if pace else None


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --:--"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes:02d}:{secs:02d}"
