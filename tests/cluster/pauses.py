"""How long the flow paused around each fault, read from per-article timestamps.

Each stage gives one arrival time per article: when it first reached ``articles.ingested`` and
``articles.enriched`` (the earliest Kafka timestamp of its key there: a batch re-read after a
failed commit writes the article again, later, and must not hide the first arrival) and when it
became searchable (the suite counts the index every half second; a rise by n is n arrivals). Sorted,
those are the stage's rhythm: while articles are being published, a stage that works never leaves
a long gap.

A **pause** is a stretch without arrivals: gaps of at least ``min_gap_s``, chained when what separates
them is a short burst (less than ``min_gap_s`` long, at most ``burst_max`` articles: say the backlog of
the one partition whose leader lived) rather than flow. Each pause counts for one fault: the one during
whose window it began (the window runs from the fault's injection until the cluster was whole again,
plus ``tail_s``, since a group that rebalances after a broker came back pauses *after* the fault;
never into the next fault), or, when it began outside every window, the first fault it overlaps. A
fault's pause is the longest pause it owns, or if none the longest ordinary gap during its window
(nothing stood still). Pauses that belong to no fault, and the longest ordinary gap outside the
faults themselves (tails not counted), give the rhythm without faults.

Pure functions on wall-clock seconds, so that the unit tests can check them without a cluster.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Arrivals further apart than this mean the stage stood still (the steady rhythm of 10 articles/s
#: has gaps well under a second; the searchable count, sampled every 0.5 s with a 1 s refresh, 1-2 s).
MIN_GAP_S = 3.0
#: Between two still stretches, a burst of at most this many articles (one partition's backlog, a
#: re-read batch) within less than MIN_GAP_S does not end the pause; a larger one is flow again.
BURST_MAX = 25


@dataclass(frozen=True)
class FaultWindow:
    """One injected fault: what, and when it began and ended (wall clock, seconds since the epoch)."""

    name: str
    started: float
    ended: float
    detail: str = ""

    @property
    def lasted_s(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class Gap:
    """No arrival between ``after`` and ``before`` (or, for a chained pause, at most a few)."""

    after: float
    before: float

    @property
    def seconds(self) -> float:
        return self.before - self.after

    def overlaps(self, start: float, end: float) -> bool:
        return self.after < end and self.before > start


def gaps(arrivals: Sequence[float]) -> list[Gap]:
    """The gaps between consecutive distinct arrival times."""
    times = sorted(set(arrivals))
    return [Gap(a, b) for a, b in itertools.pairwise(times)]


def stalls(arrivals: Sequence[float], min_gap_s: float = MIN_GAP_S, burst_max: int = BURST_MAX) -> list[Gap]:
    """The pauses: gaps of at least ``min_gap_s``, merged when what separates two of them lasted less
    than ``min_gap_s`` and brought at most ``burst_max`` arrivals (a time may repeat: one per article)."""
    times = sorted(arrivals)
    merged: list[Gap] = []
    for gap in gaps(times):
        if gap.seconds < min_gap_s:
            continue
        if merged and gap.after - merged[-1].before < min_gap_s:
            burst = bisect.bisect_right(times, gap.after) - bisect.bisect_left(times, merged[-1].before)
            if burst <= burst_max:
                merged[-1] = Gap(merged[-1].after, gap.before)
                continue
        merged.append(gap)
    return merged


def attribution_windows(windows: Sequence[FaultWindow], tail_s: float) -> list[tuple[float, float]]:
    """Each fault's window extended by ``tail_s``, but never into the next fault's start."""
    order = sorted(range(len(windows)), key=lambda position: windows[position].started)
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(windows)
    for rank, position in enumerate(order):
        window = windows[position]
        end = window.ended + tail_s
        if rank + 1 < len(order):
            end = min(end, max(window.ended, windows[order[rank + 1]].started))
        spans[position] = (window.started, end)
    return spans


def owner(pause: Gap, spans: Sequence[tuple[float, float]]) -> int | None:
    """The fault a pause counts for: where it began, else the first one it overlaps; None: no fault."""
    for position, (start, end) in enumerate(spans):
        if start <= pause.after < end:
            return position
    overlapped = [position for position, span in enumerate(spans) if pause.overlaps(*span)]
    return min(overlapped, key=lambda position: spans[position][0], default=None)


def fault_pauses(
    arrivals: Sequence[float], windows: Sequence[FaultWindow], tail_s: float, min_gap_s: float = MIN_GAP_S
) -> tuple[list[Gap | None], Gap | None]:
    """Per fault (in the order given) its pause, and the longest pause or gap that is no fault's.

    A fault's entry is None when nothing arrived after it began (no flow to pause).
    """
    spans = attribution_windows(windows, tail_s)
    owned: list[list[Gap]] = [[] for _ in windows]
    unowned: list[Gap] = []
    for pause in stalls(arrivals, min_gap_s):
        position = owner(pause, spans)
        (unowned if position is None else owned[position]).append(pause)
    ordinary = [gap for gap in gaps(arrivals) if gap.seconds < min_gap_s]
    per_fault: list[Gap | None] = []
    for position, (start, end) in enumerate(spans):
        candidates = owned[position] or [gap for gap in ordinary if gap.overlaps(start, end)]
        per_fault.append(max(candidates, key=lambda gap: gap.seconds, default=None))
    # the rhythm without faults: the tails would leave no quiet time between faults close together
    quiet = [gap for gap in ordinary if not any(gap.overlaps(w.started, w.ended) for w in windows)]
    steady = max([*unowned, *quiet], key=lambda gap: gap.seconds, default=None)
    return per_fault, steady


@dataclass(frozen=True)
class FaultPauses:
    """One fault with its pause at each stage (None: no arrival at that stage after it began)."""

    window: FaultWindow
    by_stage: dict[str, Gap | None]

    def longest(self) -> float | None:
        known = [gap.seconds for gap in self.by_stage.values() if gap is not None]
        return max(known, default=None)


def pauses_by_fault(
    arrivals_by_stage: Mapping[str, Sequence[float]],
    windows: Sequence[FaultWindow],
    tail_s: float,
    min_gap_s: float = MIN_GAP_S,
) -> tuple[list[FaultPauses], dict[str, Gap | None]]:
    """Each fault's pause per stage, and each stage's longest pause or gap outside the faults."""
    per_stage = {
        stage: fault_pauses(arrivals, windows, tail_s, min_gap_s)
        for stage, arrivals in arrivals_by_stage.items()
    }
    faults = [
        FaultPauses(window, {stage: per_stage[stage][0][position] for stage in arrivals_by_stage})
        for position, window in enumerate(windows)
    ]
    return faults, {stage: steady for stage, (_, steady) in per_stage.items()}


def _seconds(gap: Gap | None, missing: str = "no flow") -> str:
    return missing if gap is None else f"{gap.seconds:.1f}"


def render_table(
    faults: Sequence[FaultPauses],
    steady: Mapping[str, Gap | None],
    lost: int,
    doubled: int,
    flow_started: float,
    stages: Sequence[str] = ("searchable", "enriched", "ingested"),
) -> str:
    """A Markdown table for the README and the closing note: lost, doubled, the pause per fault."""
    header = "| fault | at (s) | lasted (s) | " + " | ".join(f"pause {stage} (s)" for stage in stages) + " |"
    lines = [
        f"lost {lost}, doubled {doubled}",
        "",
        header,
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in stages) + " |",
    ]
    for fault in faults:
        window = fault.window
        cells = " | ".join(_seconds(fault.by_stage.get(stage)) for stage in stages)
        name = f"{window.name} ({window.detail})" if window.detail else window.name
        lines.append(f"| {name} | {window.started - flow_started:.0f} | {window.lasted_s:.1f} | {cells} |")
    lines.append(
        "| no fault (longest pause or gap outside the faults) | | | "
        + " | ".join(_seconds(steady.get(stage), "-") for stage in stages)
        + " |"
    )
    worst = max(
        ((fault.longest(), fault.window.name) for fault in faults if fault.longest() is not None),
        default=None,
    )
    if worst is not None:
        lines += ["", f"longest pause {worst[0]:.1f} s ({worst[1]})"]
    return "\n".join(lines)
