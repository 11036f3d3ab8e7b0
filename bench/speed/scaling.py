"""The ``scaling`` phase: the pipeline on a 3-broker, 3-node cluster, enrich with 1, 2 and 3 workers.

``python -m bench.speed --phases scaling`` (also a phase of ``make bench``) starts its own cluster
(``newswire stack up --brokers 3 --es-nodes 3`` on private ports: Kafka 59092/59094/59096,
Elasticsearch 59200-59202, state in ``.state/bench-cluster``), with the settings the cluster runs
with in production: topics of 6 partitions with replication factor 3 and ``min.insync.replicas=2``,
producers with ``acks=all`` and idempotence, the index with one replica. Then, on one input:

1. ``publish`` and ``ingest`` fill ``articles.ingested`` (N articles of the BBC corpus);
2. ``enrich`` alone with 1, 2 and 3 workers of one faust app, each count a fresh group from the
   start of the topic, time-boxed, right after one another so that they meet the same machine;
3. end to end with 1 ingest, 3 enrich and 2 index workers: ``newswire publish`` -> searchable.

Every figure comes with CPU milliseconds per article of every process (each worker, each broker,
each Elasticsearch node), so the cost model can say how many cores, and so how many workers and
partitions, a given article rate needs (:func:`cost_model`). On this 2-core machine the curve
flattens by the second worker: the figures to scale from are the CPU costs, not the rates.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.speed.run import INFRA_PREFIX, Bench, BenchConfig
from bench.speed.stack import BenchStack
from services.stack import manager
from services.stack.settings import REPO_ROOT, StackSettings

log = logging.getLogger("bench.speed.scaling")

BROKERS = 3
ES_NODES = 3
PARTITIONS = 6
WORKER_COUNTS = (1, 2, 3)
E2E_WORKERS = {"ingest": 1, "enrich": 3, "index": 2}
#: Article rates the cost model is worked out for.
TARGET_RATES = (100, 1_000)


@dataclass(frozen=True)
class ClusterPorts:
    kafka: int = 59092
    kafka_controller: int = 59093
    es: int = 59200
    es_transport: int = 59300


def cluster_stack_settings(ports: ClusterPorts, state_dir: Path | None = None) -> StackSettings:
    """The private benchmark cluster (explicit values win over ``NEWSWIRE_STACK_*``)."""
    return StackSettings(
        state_dir=state_dir or REPO_ROOT / ".state" / "bench-cluster",
        fallback_state_dir=Path("/var/lib/newswire-bench-cluster"),
        kafka_port=ports.kafka,
        kafka_controller_port=ports.kafka_controller,
        es_port=ports.es,
        es_transport_port=ports.es_transport,
        kafka_brokers=BROKERS,
        es_nodes=ES_NODES,
        es_cluster_name="newswire-bench-cluster",
        es_heap="512m",
        kafka_start_timeout=240,
        es_start_timeout=300,
    )


class ClusterStack(BenchStack):
    """The private cluster: every node's pid for the CPU figures; stopped whole if this run started it."""

    def pids(self) -> dict[str, int]:
        cluster = manager.cluster(self.settings)
        found = {f"kafka-{broker.node}": broker.managed_pid() for broker in cluster.brokers}
        found |= {f"elasticsearch-{node.node}": node.managed_pid() for node in cluster.es_nodes}
        return {name: pid for name, pid in found.items() if pid is not None}

    def stop_started(self) -> dict[str, bool]:
        if not self.started:
            return {}
        log.info("stopping the benchmark cluster this run started")
        manager.down(self.settings)
        return {name: True for name in self.started}


def bring_up_cluster(settings: StackSettings) -> ClusterStack:
    was_up = manager.status(settings).healthy
    manager.up(settings)
    stack = ClusterStack(settings)
    if not was_up:
        stack.started = stack.pids()
    return stack


class ClusterBench(Bench):
    """The bench's phases with the cluster's settings given to every service."""

    def service_env(self, **extra: str) -> dict[str, str]:
        return super().service_env(
            NEWSWIRE_TOPICS_REPLICATION_FACTOR=str(self.config.replication_factor),
            NEWSWIRE_INDEX_NUMBER_OF_REPLICAS=str(min(1, ES_NODES - 1)),
            **extra,
        )


def measure(
    out_dir: Path,
    articles: int = 6_000,
    enrich_budget_s: float = 75.0,
    e2e_articles: int = 3_000,
    keep_stack: bool = False,
) -> dict[str, Any]:
    """Run the phase on the bench's default corpus; the results (phases, cost model) for ``results.json``."""
    stack = bring_up_cluster(cluster_stack_settings(ClusterPorts()))
    config = BenchConfig(
        articles=articles,
        partitions=PARTITIONS,
        replication_factor=min(3, BROKERS),
        enrich_budget_s=enrich_budget_s,
    )
    # ensure_index in this process (bench.speed.es_tools) must give the index its replica too.
    os.environ["NEWSWIRE_INDEX_NUMBER_OF_REPLICAS"] = str(min(1, ES_NODES - 1))
    try:
        bench = ClusterBench(stack, config, out_dir / "scaling")
        try:
            bench.prepare()
            bench.publish_phase()
            bench.ingest_phase()
            for workers in WORKER_COUNTS:
                bench.enrich_phase(f"enrich-x{workers}", workers, enrich_budget_s)
            bench.e2e_phase("e2e-cluster", E2E_WORKERS, count=e2e_articles)
        finally:
            bench.stop_all()
            bench.offsets.close()
            bench.monitor.close()
            bench.es.close()
    finally:
        if not keep_stack:
            stack.stop_started()
    results = bench.results()
    results["cluster"] = {
        "brokers": BROKERS,
        "es_nodes": ES_NODES,
        "partitions": PARTITIONS,
        "replication_factor": config.replication_factor,
        "index_replicas": min(1, ES_NODES - 1),
    }
    results["cost_model"] = cost_model(results["phases"].get("e2e-cluster", {}))
    return results


def _grouped_cpu(phase: dict[str, Any]) -> dict[str, float]:
    """CPU ms per article of the phase, summed per kind of process (enrich = all its workers)."""
    groups: dict[str, float] = {}
    for label, usage in (phase.get("services") or {}).items():
        value = usage.get("cpu_ms_per_item")
        if value is None or label.startswith("publish"):
            continue
        name = label.removeprefix(INFRA_PREFIX)
        # "enrich-2", "stack:kafka-1": the kind without the worker's or node's number
        kind = name.rsplit("-", 1)[0] if name[-1].isdigit() and "-" in name else name
        groups[kind] = round(groups.get(kind, 0.0) + float(value), 2)
    return groups


def cost_model(e2e: dict[str, Any], rates: tuple[int, ...] = TARGET_RATES) -> dict[str, Any]:
    """Cores per kind of process, enrich workers and partitions for each article rate, from end to end.

    A kind's cores at R articles/s are R x its CPU ms per article / 1000, measured end to end on the
    cluster (so the brokers' figure includes replicating every record to two followers). enrich is
    single-threaded per worker: one worker per core, and a partition per worker at least.
    """
    cpu = _grouped_cpu(e2e)
    if not cpu:
        return {}
    total = sum(cpu.values())
    per_rate = {}
    for rate in rates:
        cores = {kind: round(rate * ms / 1000, 2) for kind, ms in cpu.items()}
        enrich_workers = math.ceil(cores.get("enrich", 0.0))
        per_rate[str(rate)] = {
            "cores": cores,
            "total_cores": round(rate * total / 1000, 1),
            "enrich_workers": enrich_workers,
            "partitions_at_least": max(PARTITIONS, enrich_workers),
        }
    return {"cpu_ms_per_article": cpu, "total_cpu_ms_per_article": round(total, 1), "rates": per_rate}


def markdown(results: dict[str, Any]) -> str:
    """The scaling table, the end-to-end CPU split and the cost model, for table.md and the README."""
    if "error" in results:
        return f"\n### Scaling on a cluster\n\nnot measured: {results['error']}\n"
    phases = results.get("phases", {})
    lines = [
        "",
        f"### Scaling on a cluster ({BROKERS} brokers, {ES_NODES} Elasticsearch nodes, "
        f"{PARTITIONS} partitions, RF 3, 1 replica)",
        "",
        "| enrich workers | articles/s | x 1 worker | CPU ms/article, each worker | brokers (sum) "
        "| Elasticsearch (sum) | load avg 1m |",
        "|---|---|---|---|---|---|---|",
    ]
    base = None
    for workers in WORKER_COUNTS:
        phase = phases.get(f"enrich-x{workers}")
        if not phase:
            continue
        rate = float(phase["progress"].get("steady_per_s") or 0.0)
        base = base or rate
        services = phase.get("services", {})
        per_worker = [
            u["cpu_ms_per_item"]
            for label, u in services.items()
            if label.startswith("enrich") and u.get("cpu_ms_per_item") is not None
        ]
        cpu = _grouped_cpu(phase)
        lines.append(
            f"| {workers} | {rate:.1f} | {rate / base:.2f} | "
            f"{' / '.join(f'{v:.1f}' for v in per_worker)} | {cpu.get('kafka', 0):.1f} | "
            f"{cpu.get('elasticsearch', 0):.1f} | {phase.get('machine', {}).get('loadavg_1m_mean')} |"
        )
    e2e = phases.get("e2e-cluster")
    model = results.get("cost_model") or {}
    if e2e:
        rate = float(e2e["progress"].get("overall_per_s") or 0.0)
        lines += [
            "",
            f"End to end ({e2e['conditions'].get('workers')}): {rate:.1f} articles/s, "
            f"load {e2e.get('machine', {}).get('loadavg_1m_mean')}; CPU ms per article: "
            + ", ".join(f"{k} {v:.1f}" for k, v in (model.get("cpu_ms_per_article") or {}).items())
            + f" (total {model.get('total_cpu_ms_per_article')}).",
        ]
    if model.get("rates"):
        kinds = list(model["cpu_ms_per_article"])
        lines += [
            "",
            "| articles/s | " + " | ".join(f"{k} cores" for k in kinds) + " | total cores | enrich workers "
            "| partitions at least |",
            "|---|" + "---|" * (len(kinds) + 3),
        ]
        for rate, entry in model["rates"].items():
            lines.append(
                f"| {rate} | "
                + " | ".join(f"{entry['cores'][k]:.1f}" for k in kinds)
                + f" | {entry['total_cores']} | {entry['enrich_workers']} | {entry['partitions_at_least']} |"
            )
    return "\n".join(lines) + "\n"
