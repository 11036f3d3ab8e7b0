"""The stall watchdog's rules (pure detector, clocked by hand) and what it does once it finds a stall."""

from __future__ import annotations

import logging

import pytest

from services.runtime.metrics import Health, PartitionOffsets
from services.runtime.watchdog import (
    STALL_EXIT_CODE,
    Assignment,
    Stall,
    StallDetector,
    Watchdog,
    sample_interval,
)

TOPIC = "articles.enriched"
P0, P1 = (TOPIC, 0), (TOPIC, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_without_lag_never_stalls_however_long_its_offset_stays() -> None:
    detector = StallDetector(timeout_s=60)
    for now in range(0, 600, 10):
        assert detector.observe(now, {P0: PartitionOffsets(committed=40, end=40)}) == []


def test_lag_without_progress_stalls_once_the_timeout_has_passed_since_it_was_first_seen() -> None:
    detector = StallDetector(timeout_s=60)
    assert detector.observe(0, {P0: PartitionOffsets(10, 10)}) == []  # caught up
    assert detector.observe(10, {P0: PartitionOffsets(10, 25)}) == []  # records arrive: clock starts
    assert detector.observe(69, {P0: PartitionOffsets(10, 30)}) == []
    assert detector.observe(70, {P0: PartitionOffsets(10, 30), P1: PartitionOffsets(3, 3)}) == [
        Stall(TOPIC, 0, committed=10, end=30, stalled_s=60)
    ]


def test_any_move_of_the_committed_offset_starts_the_clock_over() -> None:
    detector = StallDetector(timeout_s=60)
    detector.observe(0, {P0: PartitionOffsets(10, 500)})
    detector.observe(50, {P0: PartitionOffsets(11, 500)})
    assert detector.observe(100, {P0: PartitionOffsets(11, 500)}) == []
    assert [stall.partition for stall in detector.observe(110, {P0: PartitionOffsets(11, 500)})] == [0]


def test_a_partition_held_again_after_a_rebalance_gets_a_fresh_clock() -> None:
    detector = StallDetector(timeout_s=60)
    detector.observe(0, {P0: PartitionOffsets(10, 20), P1: PartitionOffsets(5, 9)})
    detector.observe(30, {P1: PartitionOffsets(5, 9)})  # P0 went to another member
    stalls = detector.observe(70, {P0: PartitionOffsets(10, 20), P1: PartitionOffsets(5, 9)})
    assert [(stall.partition, stall.stalled_s) for stall in stalls] == [(1, 70)]
    detector.forget()
    assert detector.observe(200, {P1: PartitionOffsets(5, 9)}) == []


def test_stalls_are_listed_in_partition_order_with_what_an_operator_needs() -> None:
    detector = StallDetector(timeout_s=5)
    offsets = {P1: PartitionOffsets(7, 9), P0: PartitionOffsets(1, 4)}
    detector.observe(0, offsets)
    stalls = detector.observe(6, offsets)
    assert [stall.partition for stall in stalls] == [0, 1]
    assert stalls[1].describe() == f"{TOPIC}[1] committed 7, end 9 (2 behind), no progress for 6s"


def test_a_watchdog_without_a_timeout_is_refused() -> None:
    with pytest.raises(ValueError):
        StallDetector(timeout_s=0)


def test_the_sample_interval_notices_a_stall_within_a_sixth_of_the_timeout() -> None:
    assert sample_interval(60) == 10
    assert sample_interval(600) == 15
    assert sample_interval(3) == 1
    assert sample_interval(0) == 15


class Exits:
    def __init__(self) -> None:
        self.codes: list[int] = []

    def __call__(self, code: int) -> None:
        self.codes.append(code)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exits() -> Exits:
    return Exits()


@pytest.fixture
def health(clock: Clock) -> Health:
    health = Health(stall_after_s=300, clock=clock)
    health.beat()
    health.set_ready(True)
    return health


@pytest.fixture
def watchdog(clock: Clock, exits: Exits, health: Health) -> Watchdog:
    return Watchdog("index", 60, health=health, clock=clock, exit=exits, exit_delay_s=0)


def test_only_partitions_the_loop_published_are_watched_and_none_before_it_published(
    watchdog: Watchdog, clock: Clock, exits: Exits
) -> None:
    frozen = {P0: PartitionOffsets(10, 20), P1: PartitionOffsets(0, 50)}
    for _ in range(10):
        assert watchdog.on_sample(frozen) == []
        clock.now += 30
    watchdog.assignment.publish([P1])  # P0 belongs to another member of the group
    watchdog.on_sample(frozen)
    clock.now += 61
    assert [stall.partition for stall in watchdog.on_sample(frozen)] == [1]
    assert exits.codes == [STALL_EXIT_CODE]


def test_a_stall_fails_both_probes_logs_the_offsets_and_exits_with_the_stall_code(
    watchdog: Watchdog, clock: Clock, exits: Exits, health: Health, caplog: pytest.LogCaptureFixture
) -> None:
    watchdog.assignment.publish([P0, P1])
    frozen = {P0: PartitionOffsets(10, 20), P1: PartitionOffsets(4, 4)}
    watchdog.on_sample(frozen)
    clock.now += 30
    health.beat()  # a loop that still beats (a partition that gets no fetches) is stalled all the same
    watchdog.on_sample(frozen)
    assert exits.codes == [] and health.readiness() == (True, "ready")
    clock.now += 31
    with caplog.at_level(logging.ERROR, logger="services.runtime.watchdog"):
        watchdog.on_sample(frozen)

    assert exits.codes == [STALL_EXIT_CODE] == [70]
    reason = f"stalled: {TOPIC}[0] committed 10, end 20 (10 behind), no progress for 61s"
    assert health.liveness() == (False, reason)
    assert health.readiness() == (False, reason)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert vars(record)["partitions"] == [f"{TOPIC}[0]"]
    assert vars(record)["committed"] == {f"{TOPIC}[0]": 10}
    assert vars(record)["end"] == {f"{TOPIC}[0]": 20}
    assert vars(record)["exit_code"] == 70


def test_a_loop_retrying_a_dependency_is_not_restarted_while_it_keeps_beating(
    watchdog: Watchdog, clock: Clock, exits: Exits, health: Health
) -> None:
    watchdog.assignment.publish([P0])
    frozen = {P0: PartitionOffsets(10, 20)}
    health.set_retrying("retrying after a transient failure: Elasticsearch unavailable")
    for _ in range(20):  # ten minutes of an outage, beating while it waits
        clock.now += 30
        health.beat()
        assert watchdog.on_sample(frozen) == []
    health.set_ready(True)  # the dependency is back: a full timeout from here
    watchdog.on_sample(frozen)
    clock.now += 59
    assert watchdog.on_sample(frozen) == [] and exits.codes == []
    clock.now += 1
    assert watchdog.on_sample(frozen) and exits.codes == [STALL_EXIT_CODE]


def test_a_retry_whose_loop_stopped_beating_is_a_stall(
    watchdog: Watchdog, clock: Clock, exits: Exits, health: Health
) -> None:
    watchdog.assignment.publish([P0])
    frozen = {P0: PartitionOffsets(10, 20)}
    health.set_retrying("retrying after a transient failure: timeout")
    watchdog.on_sample(frozen)
    clock.now += 61  # the retry's own request hangs: no beat since
    watchdog.on_sample(frozen)
    clock.now += 60
    assert watchdog.on_sample(frozen) and exits.codes == [STALL_EXIT_CODE]


def test_a_failed_sample_starts_the_clocks_over(watchdog: Watchdog, clock: Clock, exits: Exits) -> None:
    watchdog.assignment.publish([P0])
    frozen = {P0: PartitionOffsets(10, 20)}
    watchdog.on_sample(frozen)
    clock.now += 50
    watchdog.on_sample(None)  # the broker is away: the service cannot commit either
    clock.now += 50
    assert watchdog.on_sample(frozen) == []
    clock.now += 60
    assert watchdog.on_sample(frozen) and exits.codes == [STALL_EXIT_CODE]


def test_the_assignment_holds_plain_pairs_whatever_tuple_type_was_published() -> None:
    from kafka.structs import TopicPartition

    assignment = Assignment()
    assert assignment.current() is None
    assignment.publish({TopicPartition(TOPIC, 3)})
    assert assignment.current() == frozenset({(TOPIC, 3)})
    assignment.publish([])
    assert assignment.current() == frozenset()


def test_health_retrying_and_stalled_states(clock: Clock) -> None:
    health = Health(stall_after_s=300, clock=clock)
    health.set_retrying("retrying after a transient failure: down")
    assert health.readiness() == (False, "retrying after a transient failure: down")
    assert not health.retrying_within(60), "no beat yet"
    health.beat()
    assert health.retrying_within(60)
    clock.now += 61
    assert not health.retrying_within(60)
    health.set_ready(True)
    health.beat()
    assert not health.retrying_within(60)
    health.set_stalled("stalled: x")
    assert health.liveness() == (False, "stalled: x") and health.readiness() == (False, "stalled: x")
