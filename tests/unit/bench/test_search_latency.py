"""The search latency bench's pure parts: block order, summaries, ratios, replicated documents, table."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.speed.search_latency import (
    DATE_SPAN_DAYS,
    NEWEST,
    block_order,
    block_sizes,
    hit_ids_from_api,
    hit_ids_from_es,
    latency_summary,
    load_queries,
    markdown,
    overhead,
    replicated_documents,
)


def test_block_order_alternates_which_side_goes_first() -> None:
    order = block_order(4)
    assert order == ["api", "es", "es", "api", "api", "es", "es", "api"]
    assert order.count("api") == order.count("es") == 4


def test_block_sizes_add_up_to_the_requests() -> None:
    assert block_sizes(803, 8) == [101, 101, 101, 100, 100, 100, 100, 100]
    assert sum(block_sizes(800, 8)) == 800


def test_latency_summary_in_milliseconds_and_rate_over_busy_time() -> None:
    latencies = [0.001 * n for n in range(1, 101)]  # 1..100 ms
    summary = latency_summary(latencies, errors=2, busy_s=4.0)
    assert summary["requests"] == 100
    assert summary["errors"] == 2
    assert summary["p50_ms"] == 50.5
    assert summary["p99_ms"] == 99.01
    assert summary["max_ms"] == 100.0
    assert summary["per_s"] == 25.0


def test_latency_summary_of_nothing_has_no_figures() -> None:
    summary = latency_summary([], errors=5, busy_s=0.0)
    assert summary["p50_ms"] is None
    assert summary["per_s"] is None


def test_overhead_is_api_over_elasticsearch() -> None:
    api = {"p50_ms": 30.0, "p99_ms": 90.0, "per_s": 40.0}
    es = {"p50_ms": 20.0, "p99_ms": 60.0, "per_s": 50.0}
    assert overhead(api, es) == {
        "p50_ratio": 1.5,
        "p99_ratio": 1.5,
        "p50_added_ms": 10.0,
        "p99_added_ms": 30.0,
        "per_s_ratio": 0.8,
    }
    assert overhead({**api, "p50_ms": None}, es)["p50_ratio"] is None


def test_replicated_documents_have_distinct_ids_urls_and_dates() -> None:
    templates = [
        {"id": "a", "title": "Alpha", "url": "u1", "published_at": None, "body": "one"},
        {"id": "b", "title": "Beta", "url": "u2", "published_at": None, "body": "two"},
    ]
    documents = list(replicated_documents(templates, 1_000))
    ids = [doc_id for doc_id, _ in documents]
    assert len(set(ids)) == 1_000
    assert all(source["id"] == doc_id for doc_id, source in documents)
    assert len({source["url"] for _, source in documents}) == 1_000
    assert [source["body"] for _, source in documents[:4]] == ["one", "two", "one", "two"]
    dates = [datetime.fromisoformat(source["published_at"]) for _, source in documents]
    assert len(set(dates)) == 1_000
    assert min(dates) >= NEWEST - timedelta(days=DATE_SPAN_DAYS)
    assert max(dates) <= NEWEST
    # Spread over the span, not bunched at one end.
    assert max(dates) - min(dates) > timedelta(days=DATE_SPAN_DAYS * 0.9)
    assert templates[0]["id"] == "a"  # the templates are not changed


def test_hit_ids_from_both_answers() -> None:
    assert hit_ids_from_api({"total": 2, "hits": [{"id": "x"}, {"id": "y"}]}) == ["x", "y"]
    assert hit_ids_from_es({"hits": {"hits": [{"_id": "x"}, {"_id": "y"}]}}) == ["x", "y"]


def test_load_queries_reads_texts_in_id_order(tmp_path: Path) -> None:
    path = tmp_path / "queries.json"
    path.write_text(json.dumps({"queries": {"q2": {"text": "Yukos"}, "q1": {"text": "Kilroy-Silk"}}}))
    assert [(q.query_id, q.text) for q in load_queries(path)] == [("q1", "Kilroy-Silk"), ("q2", "Yukos")]


def _level(concurrency: int, api_p50: float, es_p50: float) -> dict[str, Any]:
    api = {"p50_ms": api_p50, "p99_ms": 3 * api_p50, "per_s": 1000 / api_p50, "errors": 0}
    es = {"p50_ms": es_p50, "p99_ms": 3 * es_p50, "per_s": 1000 / es_p50, "errors": 1}
    return {
        "concurrency": concurrency,
        "api": api,
        "es": es,
        "overhead": overhead(api, es),
        "cpu_ms_per_request": {
            "api": {"search-api": 4.0, "elasticsearch": 20.0, "load generator": 2.0},
            "es": {"elasticsearch": 19.0, "load generator": 2.0},
        },
        "machine": {"loadavg_1m_mean": 2.5, "loadavg_1m_max": 3.0, "cpu_busy_pct_mean": 90.0},
    }


def test_markdown_has_a_row_per_level_with_the_ratios() -> None:
    results = {
        "started": "2026-12-04T22:00:00+0000",
        "config": {"page_size": 10, "requests": 800, "blocks": 8},
        "index": {
            "documents": 100_000,
            "distinct_articles": 2225,
            "load_seconds": 80.0,
            "load_per_s": 1250.0,
            "bulk": "parallel_bulk",
            "size_mb": 600.0,
            "segments": 10,
        },
        "queries": {"source": "bench/quality/labels/search_bbc.json", "count": 56},
        "es_params": {"timeout": "10000ms"},
        "same_hits": {"queries": 56, "equal": 55, "differ": ["bbc07"]},
        "levels": [_level(1, 30.0, 20.0), _level(16, 200.0, 160.0)],
        "machine": {"cores": 2},
    }
    table = markdown(results)
    rows = [line for line in table.splitlines() if line.startswith("| 1 ") or line.startswith("| 16 ")]
    assert len(rows) == 2
    assert "| 1.5 | 1.5 |" in rows[0]
    assert "| 1.25 | 1.25 |" in rows[1]
    assert "| 4.0 + 20.0 + 2.0 | 19.0 + 2.0 |" in rows[0]
    assert "100,000 documents" in table
    assert "55/56 queries (differ: bbc07)" in table


def test_markdown_of_a_failed_run_says_why() -> None:
    assert markdown({"error": "the search API exited with 1"}) == (
        "Search latency: not measured (the search API exited with 1).\n"
    )


def test_bench_report_with_the_search_phase_alone_writes_its_table(tmp_path: Path) -> None:
    from bench.speed.__main__ import write_report

    table = write_report(tmp_path, {"search": {"error": "no API"}})
    assert table == "Search latency: not measured (no API).\n"
    assert (tmp_path / "table.md").read_text() == table
    assert not (tmp_path / "chart.png").exists()
