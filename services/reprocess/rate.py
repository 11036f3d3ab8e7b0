"""A token bucket: the bounded rate of a reprocess worker, so live traffic keeps its latency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; :meth:`delay` says how long to wait for one.

    A reprocess worker takes one token per article before enriching it, so its throughput never
    exceeds ``rate`` however far behind it is, and a short pause does not turn into a burst larger
    than ``burst`` articles.
    """

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.clock = clock
        self._tokens = self.burst
        self._updated = clock()

    def delay(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one was available)."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self) -> None:
        """Take a token, sleeping until it is due."""
        wait = self.delay()
        if wait > 0:
            await asyncio.sleep(wait)
