"""The pause per fault, from arrival timestamps: what counts as a pause, and for which fault."""

from __future__ import annotations

import pytest

from tests.cluster.pauses import (
    FaultWindow,
    Gap,
    attribution_windows,
    fault_pauses,
    gaps,
    pauses_by_fault,
    render_table,
    stalls,
)


def every(step: float, start: float, end: float) -> list[float]:
    """Arrivals every ``step`` seconds from ``start`` up to ``end`` (excluded)."""
    count = round((end - start) / step)
    return [start + n * step for n in range(count)]


def test_gaps_are_between_consecutive_distinct_arrivals_in_time_order() -> None:
    assert gaps([5.0, 1.0, 3.0, 3.0]) == [Gap(1.0, 3.0), Gap(3.0, 5.0)]
    assert gaps([2.0]) == []


def test_a_short_burst_does_not_end_a_pause_but_a_resumed_flow_does() -> None:
    # still from 10 to 40 but for a burst from 22 to 24; flowing again from 40; still again 60 -> 65
    arrivals = [*every(0.5, 0, 10.5), *every(0.5, 22, 24.5), *every(0.5, 40, 60.5), *every(0.5, 65, 70)]
    assert stalls(arrivals, min_gap_s=3) == [Gap(10.0, 40.0), Gap(60.0, 65.0)]
    # a burst as long as the threshold is flow: two pauses
    arrivals = [*every(0.5, 0, 10.5), *every(0.5, 22, 25.5), *every(0.5, 40, 45)]
    assert stalls(arrivals, min_gap_s=3) == [Gap(10.0, 22.0), Gap(25.0, 40.0)]
    assert stalls(every(0.5, 0, 10), min_gap_s=3) == []


def test_a_burst_of_many_articles_is_flow_again_however_short() -> None:
    # one count rise of 40 articles at 20 between two still stretches; then 3 articles at 50
    arrivals = [*every(0.5, 0, 10.5), *[20.0] * 40, *[50.0] * 3, *every(0.5, 60, 65)]
    assert stalls(arrivals, min_gap_s=3, burst_max=25) == [Gap(10.0, 20.0), Gap(20.0, 60.0)]
    assert stalls(arrivals, min_gap_s=3, burst_max=40) == [Gap(10.0, 60.0)]


def test_a_fault_inside_one_gap_is_paused_for_the_whole_gap() -> None:
    arrivals = [*every(1.0, 0, 50), *every(1.0, 70, 100)]  # nothing from 49 to 70
    (pause,), _ = fault_pauses(arrivals, [FaultWindow("f", 52, 60)], tail_s=0)
    assert pause == Gap(49.0, 70.0) and pause.seconds == pytest.approx(21.0)


def test_a_pause_that_began_before_the_fault_counts_for_it_and_a_long_gone_one_does_not() -> None:
    arrivals = [*every(1.0, 0, 40), *every(1.0, 55, 100)]  # still 39 -> 55
    (pause,), steady = fault_pauses(arrivals, [FaultWindow("f", 50, 80)], tail_s=0)
    assert pause == Gap(39.0, 55.0) and steady == Gap(0.0, 1.0)
    (pause,), steady = fault_pauses(arrivals, [FaultWindow("f", 60, 80)], tail_s=0)
    assert pause == Gap(60.0, 61.0)  # flowing all along: its longest ordinary gap
    assert steady == Gap(39.0, 55.0)  # a pause no fault explains shows as the rhythm without faults


def test_nothing_after_the_fault_began_is_no_flow_not_a_pause() -> None:
    (pause,), _ = fault_pauses(every(1.0, 0, 10), [FaultWindow("late", 20, 30)], tail_s=0)
    assert pause is None
    assert fault_pauses([], [FaultWindow("f", 0, 1)], tail_s=0) == ([None], None)


def test_the_tail_extends_a_window_but_never_into_the_next_fault() -> None:
    first, second = FaultWindow("a", 10, 20), FaultWindow("b", 25, 40)
    assert attribution_windows([first, second], tail_s=15) == [(10, 25), (25, 55)]
    # given out of order, each keeps its own span
    assert attribution_windows([second, first], tail_s=15) == [(25, 55), (10, 25)]
    # a next fault that began before this one ended does not cut it short
    assert attribution_windows([FaultWindow("a", 10, 30), FaultWindow("b", 20, 40)], 5) == [
        (10, 30),
        (20, 45),
    ]


def test_a_rebalance_just_after_a_fault_is_charged_to_that_fault() -> None:
    # the broker is back at 30; the group stops from 36 to 44 while partitions move back
    arrivals = [*every(0.5, 0, 36.5), *every(0.5, 44, 100)]
    window = FaultWindow("broker back", 20, 30)
    faults, steady = pauses_by_fault({"searchable": arrivals}, [window], tail_s=10)
    assert faults[0].by_stage["searchable"] == Gap(36.0, 44.0)
    assert steady["searchable"] is not None and steady["searchable"].seconds == pytest.approx(0.5)
    faults, steady = pauses_by_fault({"searchable": arrivals}, [window], tail_s=0)
    assert faults[0].by_stage["searchable"] == Gap(20.0, 20.5)
    assert steady["searchable"] == Gap(36.0, 44.0)


def test_the_rhythm_without_faults_is_read_between_the_faults_not_their_tails() -> None:
    # faults 10 s apart with 15 s tails: the tails cover everything, the faults themselves do not
    arrivals = [*every(0.5, 0, 100), 100.8]
    windows = [FaultWindow("a", 10, 20), FaultWindow("b", 30, 40), FaultWindow("c", 50, 99)]
    _, steady = fault_pauses(arrivals, windows, tail_s=15)
    assert steady == Gap(99.5, 100.8)


def test_a_pause_spanning_two_faults_counts_once_for_the_one_it_began_in() -> None:
    # still from 48 to 85: began during the first fault's tail, went on through the second
    arrivals = [*every(0.5, 0, 48.5), *every(0.5, 85, 120)]
    kill, freeze = FaultWindow("kill", 10, 44), FaultWindow("freeze", 55, 88)
    (for_kill, for_freeze), _ = fault_pauses(arrivals, [kill, freeze], tail_s=15)
    assert for_kill == Gap(48.0, 85.0)
    assert for_freeze == Gap(85.0, 85.5)  # its own window shows only ordinary gaps besides


def test_each_stage_has_its_own_pause_and_the_fault_its_longest() -> None:
    ingested = [*every(1.0, 0, 30), *every(1.0, 34, 100)]  # 4 s
    searchable = [*every(1.0, 0, 31), *every(1.0, 43, 100)]  # 13 s
    faults, _ = pauses_by_fault(
        {"searchable": searchable, "ingested": ingested}, [FaultWindow("broker", 29, 35)], tail_s=5
    )
    assert faults[0].longest() == pytest.approx(13.0)
    assert faults[0].by_stage["ingested"] == Gap(29.0, 34.0)


def test_the_table_shows_each_fault_the_steady_rhythm_and_the_longest_pause() -> None:
    arrivals = [*every(1.0, 1000, 1030), *every(1.0, 1042, 1060), *every(1.0, 1070, 1200)]
    windows = [
        FaultWindow("kill leader broker", 1028, 1040, detail="broker 2"),
        FaultWindow("freeze broker", 1065, 1095, detail="broker 3, 30 s"),
    ]
    faults, steady = pauses_by_fault({"searchable": arrivals}, windows, tail_s=5)
    table = render_table(faults, steady, lost=0, doubled=0, flow_started=1000, stages=("searchable",))
    lines = table.splitlines()
    assert lines[0] == "lost 0, doubled 0"
    assert "| kill leader broker (broker 2) | 28 | 12.0 | 13.0 |" in lines
    assert "| freeze broker (broker 3, 30 s) | 65 | 30.0 | 11.0 |" in lines
    assert "| no fault (longest pause or gap outside the faults) | | | 1.0 |" in lines
    assert lines[-1] == "longest pause 13.0 s (kill leader broker)"


def test_the_table_says_no_flow_when_nothing_came_after_a_fault() -> None:
    faults, steady = pauses_by_fault({"searchable": [1.0, 2.0]}, [FaultWindow("late", 10, 20)], tail_s=0)
    table = render_table(faults, steady, lost=3, doubled=1, flow_started=0, stages=("searchable",))
    assert "lost 3, doubled 1" in table
    assert "| late | 10 | 10.0 | no flow |" in table
    assert "| no fault (longest pause or gap outside the faults) | | | 1.0 |" in table
    assert not table.splitlines()[-1].startswith("longest pause")
