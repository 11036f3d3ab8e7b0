"""results.json -> the Markdown table (targets met or not) and the PNG chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The issue's targets.
INDEX_VS_LIMIT = 0.90
E2E_VS_SLOWEST = 0.85
LATENCY_P50_S = 1.0
LATENCY_P99_S = 2.0
PEAK_RSS_MB = 300.0
ENRICH_SCALING = 1.7


@dataclass(frozen=True)
class Row:
    measure: str
    result: str
    target: str
    status: str
    conditions: str


def _rate(phase: dict[str, Any] | None) -> float:
    """The phase's rate without start-up: from the group join when known, else from the first item."""
    progress = (phase or {}).get("progress", {})
    return float(progress.get("joined_per_s") or progress.get("steady_per_s") or 0.0)


def _status(ok: bool | None, shortfall: str = "") -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else f"**missed**{' (' + shortfall + ')' if shortfall else ''}"


def _load(phase: dict[str, Any] | None) -> str:
    machine = (phase or {}).get("machine") or {}
    if not machine:
        return ""
    return f"load {machine.get('loadavg_1m_mean')}, CPU busy {machine.get('cpu_busy_pct_mean')}%"


def _conditions(phase: dict[str, Any] | None, *keys: str) -> str:
    if not phase:
        return ""
    cond = phase.get("conditions", {})
    progress = phase.get("progress", {})
    parts = [f"{progress.get('items')} items"] if progress.get("items") is not None else []
    names = {
        "partitions": "partitions",
        "workers": "workers",
        "max_batch": "batch",
        "bulk_size": "bulk",
        "parallel_requests": "parallel requests",
        "refresh_during_load": "refresh during load",
        "refresh_interval": "refresh",
        "shards": "shards",
        "cores": "cores",
    }
    parts += [f"{names.get(k, k)} {cond[k]}" for k in keys if k in cond]
    if progress.get("outcome") not in (None, "done"):
        parts.append(str(progress["outcome"]))
    load = _load(phase)
    return ", ".join(parts + ([load] if load else []))


def _stage_split(latency: dict[str, Any]) -> str:
    """'; p50 by stage: ...' from the services' own timestamps, when they were read."""
    stages = latency.get("stages") or {}
    names = {
        "to_ingested": "publish+ingest",
        "to_enriched": "enrich",
        "to_indexed": "index",
        "to_searchable": "refresh",
    }
    parts = [
        f"{names.get(stage, stage)} {v.get('p50_s')}"
        for stage, v in stages.items()
        if v.get("p50_s") is not None
    ]
    return f"; p50 by stage (s): {', '.join(parts)}" if parts else ""


def rows(results: dict[str, Any]) -> list[Row]:
    phases: dict[str, Any] = results.get("phases", {})
    out: list[Row] = []
    limit = phases.get("limit")
    l_rate = _rate(limit)
    if limit:
        refreshing = limit.get("best_refreshing_1s", {})
        out.append(
            Row(
                "L: raw bulk load (elasticsearch-py helpers)",
                f"{l_rate:,.0f} docs/s (with 1 s refresh during load: {refreshing.get('per_s', 0):,.0f})",
                "reference",
                "",
                _conditions(
                    limit, "bulk_size", "parallel_requests", "refresh_during_load", "shards", "cores"
                ),
            )
        )
    index = phases.get("index")
    peer = phases.get("peer")
    index_rate, peer_rate = _rate(index), _rate(peer)
    # L at the refresh interval the services index under: the same work for Elasticsearch.
    l_refreshing = float(((limit or {}).get("best_refreshing_1s") or {}).get("per_s") or 0.0)
    if index:
        ratio = index_rate / l_rate if l_rate else 0.0
        same_refresh = (
            f" ({index_rate / l_refreshing:.2f} x L with 1 s refresh during load)" if l_refreshing else ""
        )
        out.append(
            Row(
                "index service alone",
                f"{index_rate:,.0f} docs/s = {ratio:.2f} x L{same_refresh}",
                f">= {INDEX_VS_LIMIT:.2f} x L",
                _status(
                    ratio >= INDEX_VS_LIMIT if l_rate else None, f"{ratio / INDEX_VS_LIMIT:.0%} of target"
                ),
                _conditions(
                    index,
                    "partitions",
                    "workers",
                    "max_batch",
                    "parallel_requests",
                    "refresh_interval",
                    "shards",
                    "cores",
                ),
            )
        )
    if peer:
        ratio = peer_rate / l_rate if l_rate else 0.0
        out.append(
            Row(
                "peer: Quix Streams Elasticsearch sink",
                f"{peer_rate:,.0f} docs/s = {ratio:.2f} x L",
                "index service ahead",
                _status(
                    index_rate > peer_rate if index else None, f"index at {index_rate / peer_rate:.2f} x peer"
                )
                if peer_rate
                else "not measured",
                _conditions(
                    peer, "partitions", "workers", "bulk_size", "refresh_interval", "shards", "cores"
                ),
            )
        )
    for name, label in (("publish", "newswire publish"), ("ingest", "ingest service alone")):
        if name in phases:
            out.append(
                Row(
                    label,
                    f"{_rate(phases[name]):,.0f} articles/s",
                    "",
                    "",
                    _conditions(phases[name], "partitions", "workers", "cores"),
                )
            )
    enrich = phases.get("enrich")
    if enrich:
        cpu = enrich.get("handler_cpu_ms_per_article", {})
        out.append(
            Row(
                "enrich service alone, 1 worker",
                f"{_rate(enrich):,.1f} articles/s; handler CPU per article "
                f"p50 {cpu.get('p50')} ms, p95 {cpu.get('p95')} ms",
                "",
                "",
                _conditions(enrich, "partitions", "workers", "cores"),
            )
        )
    enrich2 = phases.get("enrich2")
    if enrich2:
        ratio = _rate(enrich2) / _rate(enrich) if _rate(enrich) else 0.0
        out.append(
            Row(
                "enrich service alone, 2 workers",
                f"{_rate(enrich2):,.1f} articles/s = {ratio:.2f} x 1 worker",
                f">= {ENRICH_SCALING} x 1 worker",
                _status(ratio >= ENRICH_SCALING if enrich else None, f"{ratio:.2f} x"),
                _conditions(enrich2, "partitions", "workers", "cores"),
            )
        )
    e2e = phases.get("e2e")
    if e2e:
        stages = {name: _rate(phases.get(name)) for name in ("ingest", "enrich", "index") if phases.get(name)}
        slowest_name, slowest = min(stages.items(), key=lambda kv: kv[1]) if stages else ("", 0.0)
        e2e_rate = float(e2e["progress"].get("overall_per_s") or 0.0)
        ratio = e2e_rate / slowest if slowest else 0.0
        out.append(
            Row(
                "end to end: newswire publish -> searchable",
                f"{e2e_rate:,.1f} articles/s = {ratio:.2f} x slowest stage alone ({slowest_name})",
                f">= {E2E_VS_SLOWEST} x slowest stage",
                _status(ratio >= E2E_VS_SLOWEST if slowest else None, f"{ratio:.2f} x"),
                _conditions(e2e, "partitions", "workers", "refresh_interval", "shards", "cores"),
            )
        )
    lat_phase = phases.get("latency")
    if lat_phase and lat_phase.get("latency"):
        lat = lat_phase["latency"]
        p50, p99 = lat.get("p50_s"), lat.get("p99_s")
        ok = p50 is not None and p99 is not None and p50 <= LATENCY_P50_S and p99 <= LATENCY_P99_S
        out.append(
            Row(
                f"publish -> searchable latency at {lat.get('achieved_rate_per_s')} articles/s",
                f"p50 {p50} s, p95 {lat.get('p95_s')} s, p99 {p99} s "
                f"({lat.get('searchable')}/{lat.get('published')} found){_stage_split(lat)}",
                f"p50 <= {LATENCY_P50_S} s, p99 <= {LATENCY_P99_S} s",
                _status(ok, ""),
                f"{lat_phase['conditions'].get('rate_fraction_of_e2e')} x e2e rate, "
                f"refresh {lat_phase['conditions'].get('refresh_interval')}, "
                f"poll every {lat_phase['conditions'].get('poll_interval_s')} s, {_load(lat_phase)}",
            )
        )
    rss = results.get("peak_rss_mb", {})
    services = {label: mb for label, mb in rss.items() if not label.startswith(("publish", "stack:"))}
    if services:
        worst = max(services.values())
        out.append(
            Row(
                "peak RSS per service (all phases)",
                ", ".join(f"{label} {mb:.0f} MB" for label, mb in sorted(services.items())),
                f"<= {PEAK_RSS_MB:.0f} MB each",
                _status(
                    all(mb <= PEAK_RSS_MB for label, mb in services.items() if label != "peer"),
                    f"worst {worst:.0f} MB",
                ),
                "peer is Quix Streams (for reference, no target)",
            )
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    config = results.get("config", {})
    machine = results.get("machine", {})
    head = (
        f"Run {results.get('run_id')} at {results.get('started')}: {config.get('articles')} articles "
        f"(BBC corpus of {config.get('corpus_articles')}, replicated under distinct ids; end to end "
        f"{config.get('e2e_articles')}), {config.get('partitions')} partitions, refresh interval "
        f"{config.get('refresh_interval')}, {machine.get('cores')} cores shared by Kafka, Elasticsearch, "
        f"the services and the load generator (Python {machine.get('python')}).\n\n"
    )
    lines = ["| measure | result | target | status | conditions |", "| --- | --- | --- | --- | --- |"]
    for row in rows(results):
        lines.append(f"| {row.measure} | {row.result} | {row.target} | {row.status} | {row.conditions} |")
    return head + "\n".join(lines) + "\n" + cpu_table(results)


def cpu_table(results: dict[str, Any]) -> str:
    """CPU milliseconds per item of every process, per phase: where the cores go."""
    phases: dict[str, Any] = results.get("phases", {})
    cells: dict[str, dict[str, Any]] = {}
    for name in ("publish", "ingest", "enrich", "enrich2", "index", "peer", "limit", "e2e"):
        services = (phases.get(name) or {}).get("services") or {}
        values = {label: usage.get("cpu_ms_per_item") for label, usage in services.items()}
        if any(v is not None for v in values.values()):
            cells[name] = values
    if not cells:
        return ""
    labels = sorted({label for values in cells.values() for label in values})
    lines = [
        "",
        "CPU milliseconds per item (article or document) of each process, by phase:",
        "",
        "| phase | " + " | ".join(labels) + " |",
        "| --- |" + " --- |" * len(labels),
    ]
    for name, values in cells.items():
        shown = [f"{values[label]:.2f}" if values.get(label) is not None else "" for label in labels]
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = results.get("phases", {})
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [3, 1.2, 1.6]})

    labels, values = [], []
    for name, label in (
        ("limit", "L (raw bulk)"),
        ("index", "index alone"),
        ("peer", "Quix peer"),
        ("publish", "publish"),
        ("ingest", "ingest alone"),
        ("enrich", "enrich x1"),
        ("enrich2", "enrich x2"),
    ):
        if name in phases:
            labels.append(label)
            values.append(_rate(phases[name]))
    if "e2e" in phases:
        labels.append("end to end")
        values.append(float(phases["e2e"]["progress"].get("overall_per_s") or 0))
    ax = axes[0]
    bars = ax.bar(labels, values, color="#4878a8")
    ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("items per second (log)")
    ax.set_title("Throughput, each stage alone and together")
    ax.tick_params(axis="x", rotation=30)

    ax = axes[1]
    lat = (phases.get("latency") or {}).get("latency") or {}
    if lat:
        names = ["p50", "p95", "p99"]
        got = [lat.get(f"{n}_s") or 0 for n in names]
        bars = ax.bar(names, got, color="#6a9f58")
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.axhline(LATENCY_P50_S, color="grey", linestyle=":", label="p50 target")
        ax.axhline(LATENCY_P99_S, color="red", linestyle="--", label="p99 target")
        ax.legend(fontsize=7)
    ax.set_ylabel("seconds")
    ax.set_title(f"Publish -> searchable\n(at {lat.get('achieved_rate_per_s', '?')} articles/s)")

    ax = axes[2]
    rss = results.get("peak_rss_mb", {})
    services = sorted((label, mb) for label, mb in rss.items() if not label.startswith("publish"))
    if services:
        bars = ax.bar([s for s, _ in services], [mb for _, mb in services], color="#c0804a")
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
        ax.axhline(PEAK_RSS_MB, color="red", linestyle="--", label="target")
        ax.legend(fontsize=7)
    ax.set_ylabel("MB")
    ax.set_title("Peak RSS")
    ax.tick_params(axis="x", rotation=30)

    config = results.get("config", {})
    fig.suptitle(
        f"newswire speed, run {results.get('run_id')}: {config.get('articles')} articles, "
        f"{config.get('partitions')} partitions, {results.get('machine', {}).get('cores')} cores"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
