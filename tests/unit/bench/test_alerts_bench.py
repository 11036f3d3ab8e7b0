"""The alerts bench's pure parts: watches from headlines and names, latency summaries, scaling rows, table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench.speed.alerts import (
    build_watches,
    headline_phrases,
    latency_summary,
    markdown,
    people_by_frequency,
    scaling_rows,
    watch_searches,
)


def test_headline_phrases_are_pairs_then_triples_without_stop_words_and_distinct() -> None:
    titles = ["Putin meets Xi in Moscow", "Xi in Moscow: talks on trade"]
    phrases = headline_phrases(titles)
    assert phrases[:4] == ["putin meets", "meets moscow", "moscow talks", "talks trade"]
    assert "putin meets moscow" in phrases
    assert len(phrases) == len(set(phrases))
    assert all("the" not in p.split() and "in" not in p.split() for p in phrases)


def test_people_by_frequency_counts_persons_only_most_frequent_first() -> None:
    documents: list[dict[str, Any]] = [
        {"entities": [{"name": "Ann Lee", "type": "PER"}, {"name": "BBC", "type": "ORG"}]},
        {"entities": [{"name": "Bob Ray", "type": "PER"}, {"name": "Ann Lee", "type": "PER"}]},
        {"entities": []},
    ]
    assert people_by_frequency(documents) == ["Ann Lee", "Bob Ray"]


def test_watch_searches_alternate_people_and_phrases_then_use_what_is_left() -> None:
    searches = watch_searches(["Ann Lee"], ["trade talks", "oil price", "rate cut"], 4)
    assert searches == [
        {"person": ["Ann Lee"]},
        {"q": "trade talks"},
        {"q": "oil price"},
        {"q": "rate cut"},
    ]


def test_watch_searches_refuse_more_watches_than_the_corpus_gives() -> None:
    with pytest.raises(ValueError, match="only 2"):
        watch_searches(["Ann Lee"], ["trade talks"], 3)


def test_build_watches_are_valid_with_distinct_ids_and_deterministic() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    searches = watch_searches(["Jean-Claude Juncker", "Ann Lee"], ["trade talks", "trade talks now"], 4)
    watches = build_watches(searches, at)
    assert len({w.id for w in watches}) == 4
    assert watches[0].search.person == ["Jean-Claude Juncker"]
    assert watches[1].search.q == "trade talks"
    assert [w.id for w in build_watches(searches, at)] == [w.id for w in watches]


def test_latency_summary_uses_articles_sent_and_alerted() -> None:
    sent = {f"a{i}": 100.0 for i in range(100)}
    arrived = {f"a{i}": 100.0 + (i + 1) / 100 for i in range(100)}
    arrived["unknown"] = 5.0  # not published by this run: left out
    summary = latency_summary(sent, arrived)
    assert summary["alerted"] == 100
    assert summary["p50_ms"] == pytest.approx(505, abs=6)
    assert summary["p99_ms"] == pytest.approx(990, abs=11)
    assert summary["max_ms"] == pytest.approx(1000)
    assert latency_summary(sent, {})["p50_ms"] is None


def test_scaling_rows_give_ratios_to_the_first_run_and_cost_per_watch_article() -> None:
    runs = [
        {"watches": 10, "alert_cpu_ms_per_article": 2.0, "es_cpu_ms_per_article": 1.0},
        {"watches": 1000, "alert_cpu_ms_per_article": 20.0, "es_cpu_ms_per_article": 30.0},
    ]
    rows = scaling_rows(runs)
    assert rows[0]["alert_cpu_ms_ratio"] == 1.0
    assert rows[1]["alert_cpu_ms_ratio"] == 10.0
    assert rows[1]["es_cpu_ms_ratio"] == 30.0
    assert rows[0]["cpu_us_per_watch_article"] == 300.0
    assert rows[1]["cpu_us_per_watch_article"] == 50.0


def test_markdown_shows_every_watch_count_and_the_latency_or_the_error() -> None:
    row = {
        "watches": 10_000,
        "articles": 200,
        "per_s": 7.5,
        "alert_cpu_ms_per_article": 9.0,
        "es_cpu_ms_per_article": 120.0,
        "alerts": 321,
        "machine": {"loadavg_1m_mean": 2.1, "loadavg_1m_max": 2.5},
    }
    results = {
        "started": "now",
        "templates": 400,
        "scaling": scaling_rows([row]),
        "latency": {"watches": 100, "arrival": {"p50_ms": 1234.5, "p99_ms": 2345.6}, "matched_at": {}},
    }
    table = markdown(results)
    assert "| 10,000 | 200 | 7.5 | 9.0 | 120.0 |" in table
    assert "p50 1234.5 ms, p99 2345.6 ms" in table
    assert "not measured (boom)" in markdown({"error": "boom"})
