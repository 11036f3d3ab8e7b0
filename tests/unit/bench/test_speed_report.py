"""The table says met or missed by the issue's targets, and the profile summary adds up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.speed.profiling import summarize
from bench.speed.report import markdown, rows


def _phase(rate: float, **extra: Any) -> dict[str, Any]:
    return {
        "progress": {"items": 100, "steady_per_s": rate, "overall_per_s": rate},
        "conditions": {},
        **extra,
    }


def _results(
    index: float, peer: float, enrich: float, enrich2: float, e2e: float, p99: float
) -> dict[str, Any]:
    return {
        "phases": {
            "limit": _phase(1000.0, best_refreshing_1s={"per_s": 800.0}),
            "index": _phase(index),
            "peer": _phase(peer),
            "ingest": _phase(500.0),
            "enrich": _phase(enrich, handler_cpu_ms_per_article={"p50": 10.0, "p95": 20.0}),
            "enrich2": _phase(enrich2),
            "e2e": _phase(e2e),
            "latency": {
                "conditions": {
                    "rate_fraction_of_e2e": 0.5,
                    "refresh_interval": "1s",
                    "poll_interval_s": 0.05,
                },
                "latency": {"p50_s": 0.6, "p95_s": 0.9, "p99_s": p99, "achieved_rate_per_s": 20.0},
            },
        },
        "peak_rss_mb": {"ingest": 80.0, "enrich": 250.0, "index": 120.0, "peer": 400.0},
    }


def _statuses(results: dict[str, Any]) -> dict[str, str]:
    return {row.measure.split(",")[0].split(":")[0]: row.status for row in rows(results)}


def test_targets_met() -> None:
    statuses = _statuses(_results(index=950, peer=500, enrich=50, enrich2=90, e2e=45, p99=1.5))
    assert statuses["index service alone"] == "met"
    assert statuses["peer"] == "met"
    assert statuses["end to end"] == "met"
    assert statuses["peak RSS per service (all phases)"] == "met"  # the peer has no RSS target
    assert [
        row.status for row in rows(_results(950, 500, 50, 90, 45, 1.5)) if "2 workers" in row.measure
    ] == ["met"]


def test_targets_missed_say_by_how_much() -> None:
    statuses = _statuses(_results(index=450, peer=600, enrich=50, enrich2=60, e2e=30, p99=2.5))
    assert statuses["index service alone"].startswith("**missed**")
    assert "50% of target" in statuses["index service alone"]
    assert statuses["peer"].startswith("**missed**")
    assert statuses["end to end"].startswith("**missed**")
    latency = next(status for measure, status in statuses.items() if measure.startswith("publish -> "))
    assert latency.startswith("**missed**")


def test_markdown_is_a_table_with_a_row_per_measure() -> None:
    text = markdown(_results(950, 500, 50, 90, 45, 1.5))
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(rows(_results(950, 500, 50, 90, 45, 1.5)))


def test_profile_summary_counts_inclusive_and_self_samples(tmp_path: Path) -> None:
    collapsed = tmp_path / "p.txt"
    collapsed.write_text("main (a.py:1);work (a.py:5) 3\nmain (a.py:1);wait (b.py:9) 1\n")
    text = summarize(collapsed)
    assert "4 samples" in text
    assert "100.0  main (a.py)" in text
    assert "75.0  work (a.py)" in text
