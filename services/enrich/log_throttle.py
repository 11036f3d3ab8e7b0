"""Keeps a broker outage from flooding the log: aiokafka reports every failed reconnect (~10/s)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: Loggers of the Kafka client libraries, whose retry loops repeat the same message.
THROTTLED_PREFIXES = ("aiokafka", "kafka", "faust.transport")


class RepeatThrottle(logging.Filter):
    """Lets one record per (logger, message template, level) through every ``interval_s`` seconds.

    Only records of the Kafka client loggers are throttled; the first suppressed-then-allowed record
    says how many were dropped in between.
    """

    def __init__(self, interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[tuple[str, str, int], float] = {}
        self._dropped: dict[tuple[str, str, int], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(THROTTLED_PREFIXES):
            return True
        key = (record.name, str(record.msg), record.levelno)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.repeats_suppressed = dropped
        return True


def throttle_repeats(interval_s: float = 30.0) -> None:
    """Install :class:`RepeatThrottle` on every root handler (call after ``configure_logging``)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatThrottle(interval_s))
