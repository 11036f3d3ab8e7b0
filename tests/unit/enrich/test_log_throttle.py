from __future__ import annotations

import logging

from services.enrich.log_throttle import RepeatThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str = "Unable connect to node with id %s: %s") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (1, "refused"), None)


def test_repeats_of_a_kafka_client_message_pass_once_per_interval_and_count_the_rest() -> None:
    clock = Clock()
    throttle = RepeatThrottle(interval_s=30, clock=clock)
    assert throttle.filter(record("aiokafka"))
    assert [throttle.filter(record("aiokafka")) for _ in range(5)] == [False] * 5
    clock.now = 31
    again = record("aiokafka")
    assert throttle.filter(again)
    assert getattr(again, "repeats_suppressed", None) == 5


def test_different_messages_and_other_loggers_are_not_throttled() -> None:
    throttle = RepeatThrottle(interval_s=30, clock=Clock())
    assert throttle.filter(record("aiokafka"))
    assert throttle.filter(record("aiokafka", "Unable to update metadata from %s"))
    assert throttle.filter(record("aiokafka.consumer.fetcher"))
    assert all(throttle.filter(record("services.enrich.handler")) for _ in range(3))
