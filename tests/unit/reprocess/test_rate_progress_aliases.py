"""The token bucket, progress and ETA, index versions and the alias swap."""

from __future__ import annotations

import pytest

from services.reprocess.aliases import next_version, prunable, swap_actions, version_of
from services.reprocess.progress import Pace, Stage, caught_up, format_eta, stage
from services.reprocess.rate import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_its_burst_through_then_spaces_tokens_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    assert [bucket.delay(), bucket.delay()] == [0.0, 0.0]
    assert bucket.delay() == pytest.approx(0.1)
    assert bucket.delay() == pytest.approx(0.2)  # each waiter is queued behind the previous one


def test_a_bucket_refills_with_time_up_to_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    for _ in range(5):
        bucket.delay()
    clock.now = 100.0  # a long pause saves at most the burst
    assert all(bucket.delay() == 0.0 for _ in range(5))
    assert bucket.delay() > 0


def test_a_bucket_keeps_the_rate_over_many_tokens() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=50, burst=1, clock=clock)
    for _ in range(500):
        clock.now += bucket.delay()
    assert clock.now == pytest.approx(499 / 50)


def test_a_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)


def test_stage_counts_from_the_log_start_and_ignores_partitions_never_committed() -> None:
    done = stage(start={0: 10, 1: 0}, end={0: 110, 1: 50}, committed={0: 60})
    assert done == Stage(total=150, done=50)
    assert done.remaining == 100


def test_caught_up_needs_every_non_empty_partition_at_its_target() -> None:
    assert caught_up({0: 5, 1: 0}, {0: 5})
    assert caught_up({0: 5}, {0: 9})
    assert not caught_up({0: 5, 1: 3}, {0: 5, 1: 2})
    assert not caught_up({0: 5}, {})


def test_pace_and_eta_from_recent_observations() -> None:
    pace = Pace(window_s=10)
    assert pace.eta_s(100) is None
    pace.observe(0.0, 0)
    pace.observe(5.0, 100)
    assert pace.per_second == pytest.approx(20)
    assert pace.eta_s(200) == pytest.approx(10)
    assert pace.eta_s(0) == 0.0
    for second in range(6, 30):
        pace.observe(float(second), 100 + (second - 5) * 50)  # faster lately: the window forgets
    assert pace.per_second == pytest.approx(50)


def test_format_eta() -> None:
    assert format_eta(None) == "ETA --:--"
    assert format_eta(75.4) == "ETA 01:15"
    assert format_eta(3725) == "ETA 1:02:05"


def test_versions_and_the_next_one() -> None:
    assert version_of("articles-v12", "articles-v") == 12
    assert version_of("articles-v2-old", "articles-v") is None
    assert next_version(["articles-v1", "articles-v3", "other"], "articles-v") == "articles-v4"
    assert next_version([], "articles-v") == "articles-v1"


def test_the_swap_is_one_request_moving_the_alias_and_dropping_the_next_alias() -> None:
    actions = swap_actions("articles", ["articles-v1"], "articles-v2", "articles-next")
    assert actions == [
        {"remove": {"index": "articles-v1", "alias": "articles"}},
        {"add": {"index": "articles-v2", "alias": "articles", "is_write_index": True}},
        {"remove": {"index": "articles-v2", "alias": "articles-next", "must_exist": False}},
    ]
    # A lost index (no alias left): the alias is only added.
    assert swap_actions("articles", [], "articles-v2", "articles-next")[0]["add"]["index"] == "articles-v2"


def test_prune_takes_versions_without_any_alias_oldest_first() -> None:
    found = {
        "articles-v3": ["articles-next"],
        "articles-v10": [],
        "articles-v2": ["articles"],
        "articles-v1": [],
        "unrelated": [],
    }
    assert prunable(found, "articles-v") == ["articles-v1", "articles-v10"]
