"""The ranking stays ahead of plain BM25 on the judged BBC queries (bench/quality/relevance.py).

Runs the harness on the BBC set's tuning queries against the real Elasticsearch; skipped, saying
so, where ``../shared`` (the corpus) is absent. The held-out queries are not looked at here.
"""

from __future__ import annotations

import pytest

from bench.quality import relevance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bbc_summary() -> dict:
    if "bbc" not in relevance.available_sets():
        pytest.skip("../shared/corpora/bbc-news or the BBC judgements are absent")
    judged = relevance.load_bbc()
    systems = {name: relevance.SYSTEMS[name] for name in ("project", "bm25_body")}
    es = relevance.es_client()
    try:
        per_system, summary = relevance.evaluate(es, judged, systems)
    finally:
        es.close()
    return {"summary": summary, "zero_hit": relevance.zero_hit_regressions(per_system)}


def test_project_request_is_five_percent_ahead_of_bm25_on_short_news_queries(bbc_summary: dict) -> None:
    project = bbc_summary["summary"]["project"]["tuning"]["ndcg@10"]
    bm25 = bbc_summary["summary"]["bm25_body"]["tuning"]["ndcg@10"]

    assert project >= 1.05 * bm25, (project, bm25)


def test_project_request_never_returns_nothing_where_bm25_finds_something(bbc_summary: dict) -> None:
    assert bbc_summary["zero_hit"]["project"] == []
