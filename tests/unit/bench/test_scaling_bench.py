"""The scaling phase's pure parts: CPU grouped per kind of process, the cost model, the table."""

from __future__ import annotations

from typing import Any

from bench.speed.scaling import _grouped_cpu, cost_model, markdown


def _phase(rate: float, services: dict[str, float | None], workers: str = "1 ingest") -> dict[str, Any]:
    return {
        "progress": {"steady_per_s": rate, "overall_per_s": rate},
        "services": {label: {"cpu_ms_per_item": ms} for label, ms in services.items()},
        "machine": {"loadavg_1m_mean": 2.5},
        "conditions": {"workers": workers},
    }


E2E = _phase(
    40.0,
    {
        "ingest": 0.8,
        "enrich-1": 10.0,
        "enrich-2": 11.0,
        "enrich-3": 9.0,
        "index-1": 0.5,
        "index-2": 0.7,
        "stack:kafka-1": 1.0,
        "stack:kafka-2": 1.5,
        "stack:kafka-3": 0.5,
        "stack:elasticsearch-1": 2.0,
        "stack:elasticsearch-2": 1.0,
        "stack:elasticsearch-3": 1.0,
        "publish-e2e-cluster": 0.3,
        "idle": None,
    },
)


def test_cpu_is_summed_per_kind_of_process_without_the_publisher() -> None:
    assert _grouped_cpu(E2E) == {
        "ingest": 0.8,
        "enrich": 30.0,
        "index": 1.2,
        "kafka": 3.0,
        "elasticsearch": 4.0,
    }


def test_cost_model_scales_cores_with_the_rate_and_gives_a_worker_per_enrich_core() -> None:
    model = cost_model(E2E, rates=(100, 1_000))
    assert model["total_cpu_ms_per_article"] == 39.0
    at_100 = model["rates"]["100"]
    assert at_100["cores"]["enrich"] == 3.0
    assert at_100["total_cores"] == 3.9
    assert at_100["enrich_workers"] == 3
    assert at_100["partitions_at_least"] == 6  # never fewer than the pipeline's default
    at_1000 = model["rates"]["1000"]
    assert at_1000["enrich_workers"] == 30
    assert at_1000["partitions_at_least"] == 30
    assert at_1000["cores"]["kafka"] == 3.0


def test_cost_model_of_a_phase_without_figures_is_empty() -> None:
    assert cost_model({}) == {}


def test_markdown_shows_each_worker_count_against_one_worker_and_the_cost_model() -> None:
    phases = {
        "enrich-x1": _phase(30.0, {"enrich": 30.0, "stack:kafka-1": 2.0}),
        "enrich-x2": _phase(45.0, {"enrich-1": 30.0, "enrich-2": 32.0, "stack:kafka-1": 2.5}),
        "e2e-cluster": E2E,
    }
    table = markdown({"phases": phases, "cost_model": cost_model(E2E)})
    assert "| 1 | 30.0 | 1.00 | 30.0 |" in table
    assert "| 2 | 45.0 | 1.50 | 30.0 / 32.0 |" in table
    assert "| 1000 |" in table
    assert markdown({"error": "boom"}).strip().endswith("not measured: boom")
