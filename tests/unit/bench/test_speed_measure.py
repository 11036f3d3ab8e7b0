"""Rates, percentiles and progress tracking of bench.speed."""

from __future__ import annotations

import itertools
import math

import pytest

from bench.speed.measure import Progress, percentile, track


def test_steady_rate_leaves_out_the_time_before_the_first_item() -> None:
    progress = Progress(target=300, started_at=0.0, samples=[(0.0, 0), (5.0, 0), (6.0, 100), (8.0, 300)])
    assert progress.steady_rate() == pytest.approx(200 / 2.0)
    assert progress.overall_rate() == pytest.approx(300 / 8.0)


def test_finish_is_the_first_sample_with_the_final_count() -> None:
    progress = Progress(target=10, started_at=0.0, samples=[(0.0, 0), (1.0, 10), (2.0, 10)])
    assert progress.finished_at == 1.0
    assert progress.done == 10


def test_all_at_once_falls_back_to_the_overall_rate() -> None:
    progress = Progress(target=50, started_at=0.0, samples=[(0.0, 0), (2.0, 50)])
    assert progress.steady_rate() == pytest.approx(25.0)


def test_no_progress_is_a_zero_rate() -> None:
    progress = Progress(target=5, started_at=0.0, samples=[(0.0, 0), (1.0, 0)])
    assert progress.steady_rate() == 0.0
    assert progress.overall_rate() == 0.0


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert math.isnan(percentile([], 50))


def test_track_stops_at_the_target() -> None:
    counts = iter([0, 3, 7, 10, 99])
    progress = track(lambda: next(counts), 10, interval_s=0.0)
    assert progress.outcome == "done"
    assert progress.done == 10


def test_track_reports_a_stall_only_when_the_stage_is_idle() -> None:
    idle_answers = itertools.chain([False, False], itertools.repeat(True))
    progress = track(lambda: 4, 10, stall_s=0.0, interval_s=0.0, idle=lambda: next(idle_answers))
    assert progress.outcome == "stalled"
    assert progress.done == 4
    assert len(progress.samples) == 3


def test_track_honours_the_time_box_from_the_first_item() -> None:
    progress = track(lambda: 1, 10, budget_s=0.0, interval_s=0.0, stall_s=60)
    assert progress.outcome == "time_boxed"


def test_joined_rate_counts_from_the_group_join_to_the_last_item() -> None:
    progress = Progress(target=100, started_at=0.0, samples=[(0.0, 0), (4.0, 0), (9.0, 60), (14.0, 100)])
    assert progress.joined_rate() is None
    progress.ready_at = 4.0
    assert progress.joined_rate() == pytest.approx(100 / 10.0)


def test_track_notes_when_the_stage_became_ready() -> None:
    counts = iter([0, 0, 5, 10])
    answers = iter([False, True])
    progress = track(lambda: next(counts), 10, interval_s=0.0, ready=lambda: next(answers))
    assert progress.ready_at == progress.samples[1][0]
    assert progress.joined_rate() is not None
