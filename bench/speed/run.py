"""The benchmark's phases, in order, on the private stack; each stage alone, then all together.

1. ``publish``   ``newswire publish`` sends N structured articles (BBC corpus, replicated) to articles.raw
2. ``ingest``    the ingest service alone: articles.raw -> articles.ingested
3. ``enrich``    the enrich service alone, one worker: articles.ingested -> articles.enriched
4. ``enrich2``   the same with two workers on two partitions (right after, so both see the same load)
5. ``limit``     L: the same final documents bulk-loaded straight into Elasticsearch (tuned), after
                 an untimed warm-up load (the stack's JVM starts cold)
6. ``index``     the index service alone: N pre-enriched events on articles.enriched -> searchable
7. ``peer``      Quix Streams' Elasticsearch sink on the same events -> searchable
8. ``e2e``       all three services together: ``newswire publish`` -> searchable
9. ``latency``   publish-to-searchable latency at a fraction of the end-to-end rate

Stage-alone rates leave start-up out: for the Kafka consumers that write to Elasticsearch or
Kafka (ingest, index, the peer) they run from the moment their consumer group has its partitions to
the last item; for enrich, whose faust app restores its tables after joining, from the first article
out to the last. End to end is timed from the moment ``newswire publish`` starts until the last
article is searchable. Every service runs as its own process, started the way ``make up``
starts it (``python -m services.<name>``), with its connection variables pointing at the private
stack and its metrics endpoint off (the shared stack's services hold those ports).
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
import unittest.mock
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.speed import es_tools, latency, limit, profiling
from bench.speed.corpus import CorpusArticle, expected_id, load_corpus, raw_articles, write_jsonl
from bench.speed.kafka_tools import OffsetReader, Record, commit_to_end, produce_all, read_topic, reset_topics
from bench.speed.measure import Progress, percentile, track
from bench.speed.procs import ChildProcess, ResourceMonitor, start_module, wait_until
from bench.speed.stack import BenchStack
from schemas.envelope import new_envelope_fields
from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.ingest.identity import canonicalize_url
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER

log = logging.getLogger(__name__)

PEER_INDEX = "bench-peer"
ALL_PHASES = ("publish", "ingest", "enrich", "enrich2", "limit", "index", "peer", "e2e", "latency")
WARM_UP_ARTICLES = 50
#: Labels of the stack's own processes in the resource figures (no RSS target applies to them).
INFRA_PREFIX = "stack:"
#: L's bulk client in the resource figures: the benchmark process itself.
LIMIT_CLIENT = "L client"
#: Distinct articles enriched in-process for the index input when the enrich phase is not run.
IN_PROCESS_TEMPLATES = 300


@dataclass(frozen=True)
class BenchConfig:
    articles: int = 20_000
    partitions: int = 2
    #: Of every topic the bench creates (3 on the cluster of the scaling phase).
    replication_factor: int = 1
    refresh_interval: str = "1s"
    enrich_budget_s: float = 90.0
    enrich2_budget_s: float = 90.0
    e2e_budget_s: float = 240.0
    latency_seconds: float = 40.0
    latency_fraction: float = 0.5
    limit_sample: int = 3_000
    es_warm_up_documents: int = 10_000
    limit_chunk_sizes: tuple[int, ...] = (500, 1000, 2000)
    limit_threads: tuple[int, ...] = (1, 2, 4)
    limit_refresh: tuple[str, ...] = ("-1", "1s")
    phases: tuple[str, ...] = ALL_PHASES
    profile: bool = False
    #: Extra environment for every service (e.g. ``NEWSWIRE_INDEX_MAX_BATCH=1000``), for experiments.
    service_overrides: tuple[tuple[str, str], ...] = ()


@dataclass
class PhaseResult:
    name: str
    progress: dict[str, Any] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "progress": self.progress,
            "services": self.services,
            "machine": self.machine,
            "conditions": self.conditions,
            **self.extra,
        }


class Bench:
    """One benchmark run: the private stack, the monitor, the work directory and the results."""

    def __init__(self, stack: BenchStack, config: BenchConfig, out_dir: Path) -> None:
        self.stack = stack
        self.config = config
        self.out_dir = out_dir
        self.work_dir = out_dir / "work"
        self.logs_dir = out_dir / "logs"
        self.run_id = uuid.uuid4().hex[:8]
        self.monitor = ResourceMonitor()
        self.offsets = OffsetReader(stack.bootstrap_servers)
        self.es = es_tools.client(stack.es_url)
        for name, pid in stack.pids().items():
            # CPU per item of Kafka and Elasticsearch too: the cost model needs where the cores go.
            self.monitor.watch(f"{INFRA_PREFIX}{name}", pid)
        self.phases: dict[str, PhaseResult] = {}
        self.corpus: list[CorpusArticle] = []
        self.children: list[ChildProcess] = []
        self.e2e_articles = 0
        self.items_before_window = 0
        self.index_input_templates = 0
        self.es_warm_up: dict[str, Any] = {}

    # -- plumbing ------------------------------------------------------------------------------
    def service_env(self, **extra: str) -> dict[str, str]:
        """Connection variables for the private stack; everything else is the services' defaults."""
        return {
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": self.stack.bootstrap_servers,
            "NEWSWIRE_ES_URL": self.stack.es_url,
            "NEWSWIRE_TOPICS_PARTITIONS": str(self.config.partitions),
            "NEWSWIRE_INGEST_METRICS_PORT": "0",
            "NEWSWIRE_ENRICH_METRICS_PORT": "0",
            "NEWSWIRE_INDEX_METRICS_PORT": "0",
            "NEWSWIRE_ENRICH_WEB_ENABLED": "false",
            **dict(self.config.service_overrides),
            **extra,
        }

    def start(self, label: str, module: str, env: dict[str, str], args: tuple[str, ...] = ()) -> ChildProcess:
        child = start_module(
            label, module, {**self.service_env(), **env}, self.logs_dir / f"{label}.log", args
        )
        self.children.append(child)
        self.monitor.watch(label, child.pid)
        return child

    def stop(self, *children: ChildProcess) -> None:
        for child in children:
            child.stop()
            self.monitor.unwatch(child.label)
            if child in self.children:
                self.children.remove(child)

    def stop_all(self) -> None:
        self.stop(*list(self.children))

    def group(self, name: str) -> str:
        return f"bench-{name}-{self.run_id}"

    def tag(self, name: str) -> str:
        return f"{name}-{self.run_id}"

    def steady_window(self, items_so_far: int) -> None:
        """From the first output on, count CPU per item: start-up (imports, models, joins) left out."""
        self.items_before_window = items_so_far
        self.monitor.window()

    def finish_phase(
        self, name: str, progress: Progress | None, conditions: dict[str, Any], **extra: Any
    ) -> PhaseResult:
        usage = self.monitor.usage()
        items = progress.done - self.items_before_window if progress else 0
        self.items_before_window = 0
        services = {
            label: {
                "peak_rss_mb": round(u.peak_rss_bytes / 2**20, 1),
                "cpu_s": round(u.cpu_s, 2),
                "cpu_ms_per_item": round(1000 * u.cpu_s / items, 2) if items else None,
            }
            for label, u in usage.items()
        }
        result = PhaseResult(
            name,
            progress.summary() if progress else {},
            services,
            self.monitor.load(),
            {"cores": os.cpu_count(), "partitions": self.config.partitions, **conditions},
            extra,
        )
        self.phases[name] = result
        rate = progress.steady_rate() if progress else 0.0
        log.info("phase %s: %.1f/s (%s) load %s", name, rate, result.progress, result.machine)
        return result

    def profiled(self, phase: str, children: list[ChildProcess]) -> list[profiling.Recording]:
        if not self.config.profile:
            return []
        return [
            profiling.record(c.label, c.pid, self.out_dir / "profiles" / f"{phase}-{c.label}.txt")
            for c in children
        ]

    def end_profiles(self, recordings: list[profiling.Recording]) -> dict[str, str]:
        return {r.label: text for r in recordings if (text := r.finish()) is not None}

    # -- phases --------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.corpus = load_corpus()
        topics = {name: self.config.partitions for name in TOPICS.all()}
        reset_topics(self.stack.bootstrap_servers, topics, replication_factor=self.config.replication_factor)
        for name in (PEER_INDEX, "bench-limit"):
            es_tools.delete_index(self.es, name)
        log.info(
            "run %s: %d corpus articles -> %d, %d partitions",
            self.run_id,
            len(self.corpus),
            self.config.articles,
            self.config.partitions,
        )

    def publish_phase(self) -> None:
        """``newswire publish`` of the stage set to articles.raw (the CLI as a user runs it)."""
        path = self.work_dir / "stage.jsonl"
        count = write_jsonl(path, raw_articles(self.corpus, self.config.articles, self.tag("stage")))
        self.monitor.window()
        before = self.offsets.total(TOPICS.raw)
        started = time.monotonic()
        cli = self.publish_cli(path, "publish")
        progress = track(
            lambda: self.offsets.total(TOPICS.raw) - before,
            count,
            started_at=started,
            label="publish",
            idle=lambda: not cli.alive(),
            stall_s=30,
        )
        cli.popen.wait(600)
        self.monitor.unwatch(cli.label)
        self.finish_phase(
            "publish",
            progress,
            {"client": "newswire publish (kafka-python, acks=all, gzip)", "articles": count},
            cli_exit=cli.popen.returncode,
            cli_seconds=round(time.monotonic() - started, 2),
        )

    def publish_cli(self, path: Path, label: str) -> ChildProcess:
        child = start_module(
            label,
            "services.cli",
            self.service_env(),
            self.logs_dir / f"{label}.log",
            ("publish", str(path), "--timeout", "600"),
        )
        self.monitor.watch(label, child.pid)
        return child

    def ingest_phase(self) -> None:
        group = self.group("ingest")
        before = self.offsets.total(TOPICS.ingested) + self.offsets.total(TOPICS.dlq)
        self.monitor.window()
        started = time.monotonic()
        ingest = self.start("ingest", "services.ingest", {"NEWSWIRE_INGEST_GROUP_ID": group})
        recordings = self.profiled("ingest", [ingest])
        progress = track(
            lambda: self.offsets.total(TOPICS.ingested) + self.offsets.total(TOPICS.dlq) - before,
            self.offsets.total(TOPICS.raw),
            started_at=started,
            on_first_progress=self.steady_window,
            ready=lambda: self.offsets.group_has_partitions(group),
            label="ingest alone",
            idle=lambda: self.offsets.lag(group, TOPICS.raw) == 0,
            stall_s=20,
        )
        profiles = self.end_profiles(recordings)
        self.finish_phase("ingest", progress, {"workers": 1}, profiles=profiles)
        self.stop(ingest)

    def enrich_phase(self, name: str, workers: int, budget_s: float) -> None:
        app_id = self.group(name)
        before = self.offsets.total(TOPICS.enriched) + self.offsets.total(TOPICS.dlq)
        self.monitor.window()
        started = time.monotonic()
        children = [
            self.start(
                f"enrich-{i + 1}" if workers > 1 else "enrich",
                "services.enrich",
                {
                    "NEWSWIRE_ENRICH_APP_ID": app_id,
                    "NEWSWIRE_ENRICH_DATA_DIR": str(self.work_dir / f"faust-{name}-{i}"),
                },
            )
            for i in range(workers)
        ]
        recordings = self.profiled(name, children)
        target = self.offsets.total(TOPICS.ingested)
        progress = track(
            lambda: self.offsets.total(TOPICS.enriched) + self.offsets.total(TOPICS.dlq) - before,
            target,
            started_at=started,
            on_first_progress=self.steady_window,
            budget_s=budget_s,
            label=f"enrich alone ({workers} worker{'s' if workers > 1 else ''})",
            idle=lambda: self.offsets.lag(app_id, TOPICS.ingested) == 0,
            stall_s=30,
        )
        profiles = self.end_profiles(recordings)
        result = self.finish_phase(
            name,
            progress,
            {"workers": workers, "time_box_s": budget_s, "enrichers": _enrichers()},
            profiles=profiles,
        )
        self.stop(*children)
        cpu_ms = [value for child in children for value in _enrich_cpu_ms(child.log_path)]
        result.extra["handler_cpu_ms_per_article"] = {
            "articles": len(cpu_ms),
            "p50": round(percentile(cpu_ms, 50), 2),
            "p95": round(percentile(cpu_ms, 95), 2),
            "mean": round(sum(cpu_ms) / len(cpu_ms), 2) if cpu_ms else None,
        }

    def prepare_index_input(self) -> list[limit.Document]:
        """N pre-enriched events on articles.enriched (enrich's real output, replicated to N ids).

        Only the index-side groups are moved past what enrich already wrote, so the index service
        and the peer each read exactly these N events. Returns the documents L loads.
        """
        templates = _one_per_corpus_article(read_topic(self.stack.bootstrap_servers, TOPICS.enriched))
        if not templates:
            log.info(
                "no enrich output in this run: enriching %d corpus articles in-process", IN_PROCESS_TEMPLATES
            )
            templates = _enriched_in_process(self.corpus[:IN_PROCESS_TEMPLATES], self.tag("tpl"))
        for group in (self.group("index"), self.group("peer")):
            commit_to_end(self.stack.bootstrap_servers, group, [TOPICS.enriched])
        records = list(_replicated_events(templates, self.config.articles, self.tag("idx")))
        produce_all(self.stack.bootstrap_servers, TOPICS.enriched, records)
        log.info("index input: %d events from %d distinct enriched articles", len(records), len(templates))
        self.index_input_templates = len(templates)
        return limit.documents_from(records)

    def warm_up_elasticsearch(self, documents: list[limit.Document]) -> None:
        """Load the documents once into a scratch index, untimed, before index, peer and L are timed.

        The private stack's JVM starts cold, and Elasticsearch's CPU per document falls by half to
        two thirds once its indexing code is compiled (bench/speed measurements). Without this, the
        first of the three phases pays for the JIT and the ratios to L say more about the order of
        the phases than about the writers.
        """
        sample = documents[: self.config.es_warm_up_documents]
        if not sample:
            return
        passes = min(2, -(-self.config.es_warm_up_documents // len(sample)))
        trials = [
            limit.run_trial(
                self.stack.es_url, sample, chunk_size=500, threads=2, refresh="1s", index="bench-warm-up"
            )
            for _ in range(passes)
        ]
        self.es_warm_up = {"passes": [trial.as_dict() for trial in trials]}
        log.info(
            "Elasticsearch warmed up (untimed): %s docs/s",
            ", ".join(f"{trial.documents} at {trial.per_s:.0f}" for trial in trials),
        )

    def index_phase(self, expected: int) -> None:
        from services.index.settings import Settings as IndexSettings

        group = self.group("index")
        es_tools.reset_articles_index(self.es, self.config.refresh_interval)
        self.monitor.window()
        started = time.monotonic()
        index = self.start("index", "services.index", {"NEWSWIRE_INDEX_GROUP_ID": group})
        recordings = self.profiled("index", [index])
        progress = track(
            lambda: es_tools.count(self.es, ALIAS),
            expected,
            started_at=started,
            # CPU per document counted from the group's join: documents become visible in lumps
            # (refreshes, catch-up mode, the peer's 5 s checkpoints), not as they are written.
            on_ready=lambda: self.steady_window(0),
            ready=lambda: self.offsets.group_has_partitions(group),
            label="index alone",
            idle=lambda: self.offsets.lag(group, TOPICS.enriched) == 0,
            stall_s=20,
        )
        profiles = self.end_profiles(recordings)
        # The service's settings as it read them: its defaults under this run's --set overrides.
        with unittest.mock.patch.dict(os.environ, dict(self.config.service_overrides)):
            settings = IndexSettings()
        self.finish_phase(
            "index",
            progress,
            {
                "workers": 1,
                "max_batch": settings.max_batch,
                "parallel_requests": settings.parallel_requests,
                "bulk_max_bytes": settings.bulk_max_bytes,
                "refresh_interval": self.config.refresh_interval,
                "shards": 1,
            },
            profiles=profiles,
        )
        self.stop(index)

    def peer_phase(self, expected: int) -> None:
        group = self.group("peer")
        es_tools.create_like_articles(self.es, PEER_INDEX, self.config.refresh_interval)
        self.monitor.window()
        started = time.monotonic()
        peer = self.start(
            "peer",
            "bench.speed.peer",
            {},
            (
                "--bootstrap-servers",
                self.stack.bootstrap_servers,
                "--es-url",
                self.stack.es_url,
                "--index",
                PEER_INDEX,
                "--group",
                group,
                "--state-dir",
                str(self.work_dir / "quix-state"),
                "--batch-size",
                "500",
            ),
        )
        recordings = self.profiled("peer", [peer])
        progress = track(
            lambda: es_tools.count(self.es, PEER_INDEX),
            expected,
            started_at=started,
            # CPU per document counted from the group's join: documents become visible in lumps
            # (refreshes, catch-up mode, the peer's 5 s checkpoints), not as they are written.
            on_ready=lambda: self.steady_window(0),
            ready=lambda: self.offsets.group_has_partitions(group),
            label="peer (Quix Streams)",
            stall_s=30,
        )
        profiles = self.end_profiles(recordings)
        self.finish_phase(
            "peer",
            progress,
            {
                "workers": 1,
                "bulk_size": 500,
                "refresh_interval": self.config.refresh_interval,
                "shards": 1,
                "quix": "quixstreams " + _version("quixstreams") + ", commit_interval 5 s (default)",
            },
            profiles=profiles,
        )
        self.stop(peer)
        es_tools.delete_index(self.es, PEER_INDEX)

    def limit_phase(self, documents: list[limit.Document]) -> None:
        self.monitor.window()
        best, refreshing, grid, full = limit.tune(
            self.stack.es_url,
            documents,
            sample=min(self.config.limit_sample, len(documents)),
            chunk_sizes=self.config.limit_chunk_sizes,
            thread_counts=self.config.limit_threads,
            refresh_intervals=self.config.limit_refresh,
            cpu=self._limit_cpu,
        )
        # What L's own load cost each process per document, beside the index service's figures;
        # the grid's small loads (index creation, warm-up, 18 of them) are left out.
        services = {
            label: {"cpu_ms_per_item": ms_per_doc} for label, ms_per_doc in best.cpu_ms_per_doc.items()
        }
        self.phases["limit"] = PhaseResult(
            "limit",
            services=services,
            progress={
                "items": best.documents,
                "steady_per_s": best.per_s,
                "overall_per_s": best.per_s,
                "seconds": best.seconds_to_searchable,
            },
            machine=self.monitor.load(),
            conditions={
                "cores": os.cpu_count(),
                "client": "elasticsearch-py " + _version("elasticsearch") + " helpers, orjson serializer",
                "bulk_size": best.chunk_size,
                "parallel_requests": best.threads,
                "refresh_during_load": best.refresh_during_load,
                "shards": 1,
                "grid_sample": min(self.config.limit_sample, len(documents)),
            },
            extra={
                "best": best.as_dict(),
                "best_refreshing_1s": refreshing.as_dict(),
                "grid": [t.as_dict() for t in grid],
                "full_loads": [t.as_dict() for t in full],
            },
        )
        log.info("L = %.0f docs/s (%s)", best.per_s, best)

    def _limit_cpu(self) -> dict[str, float]:
        stack = self.monitor.cpu_seconds().items()
        seconds = {label: cpu_s for label, cpu_s in stack if label.startswith(INFRA_PREFIX)}
        # The bulk helpers run in this process; its other threads (the monitor) cost little.
        seconds[LIMIT_CLIENT] = time.process_time()
        return seconds

    def e2e_phase(
        self, name: str = "e2e", workers: dict[str, int] | None = None, count: int | None = None
    ) -> None:
        """All three services together; ``workers`` per service (default one each), ``count`` articles."""
        workers = {"ingest": 1, "enrich": 1, "index": 1, **(workers or {})}
        groups = {
            "ingest": self.group(f"{name}-ingest"),
            "enrich": self.group(f"{name}-enrich"),
            "index": self.group(f"{name}-index"),
        }
        commit_to_end(self.stack.bootstrap_servers, groups["ingest"], [TOPICS.raw])
        commit_to_end(self.stack.bootstrap_servers, groups["enrich"], [TOPICS.ingested])
        commit_to_end(self.stack.bootstrap_servers, groups["index"], [TOPICS.enriched])
        es_tools.reset_articles_index(self.es, self.config.refresh_interval)
        services: list[ChildProcess] = []
        for service, group_env in (
            ("ingest", "NEWSWIRE_INGEST_GROUP_ID"),
            ("index", "NEWSWIRE_INDEX_GROUP_ID"),
        ):
            for number in range(workers[service]):
                label = service if workers[service] == 1 else f"{service}-{number + 1}"
                services.append(self.start(label, f"services.{service}", {group_env: groups[service]}))
        for number in range(workers["enrich"]):
            label = "enrich" if workers["enrich"] == 1 else f"enrich-{number + 1}"
            env = {
                "NEWSWIRE_ENRICH_APP_ID": groups["enrich"],
                "NEWSWIRE_ENRICH_DATA_DIR": str(self.work_dir / f"faust-{name}-{number}"),
            }
            services.append(self.start(label, "services.enrich", env))
        # Warm-up: a few articles through the whole pipeline, so that start-up and group joins are over.
        warm = list(raw_articles(self.corpus, WARM_UP_ARTICLES, self.tag("warm")))
        latency.measure(
            self.stack.bootstrap_servers,
            self.stack.es_url,
            ALIAS,
            TOPICS.raw,
            warm,
            rate_per_s=200.0,
            drain_timeout_s=240.0,
        )
        if not wait_until(lambda: es_tools.count(self.es, ALIAS) >= WARM_UP_ARTICLES, 60):
            raise RuntimeError("the pipeline did not index the warm-up articles; see the service logs")
        baseline = es_tools.count(self.es, ALIAS)
        self.e2e_articles = count = count or self._e2e_count()
        path = self.work_dir / f"{name}.jsonl"
        write_jsonl(path, raw_articles(self.corpus, count, self.tag(name)))
        self.monitor.window()
        started = time.monotonic()
        cli = self.publish_cli(path, f"publish-{name}")
        recordings = self.profiled(name, services)
        progress = track(
            lambda: es_tools.count(self.es, ALIAS) - baseline,
            count,
            started_at=started,
            # Each count costs Elasticsearch ~10 ms of CPU after a refresh; 4 a second would take
            # ~2% of the machine from the pipeline. A 1 s sample is ample for a run of minutes.
            interval_s=1.0,
            label="end to end",
            idle=lambda: (
                not cli.alive()
                and self.offsets.lag(groups["ingest"], TOPICS.raw) == 0
                and self.offsets.lag(groups["enrich"], TOPICS.ingested) == 0
                and self.offsets.lag(groups["index"], TOPICS.enriched) == 0
            ),
            stall_s=30,
        )
        profiles = self.end_profiles(recordings)
        self.monitor.unwatch(cli.label)
        cli.popen.wait(60)
        self.finish_phase(
            name,
            progress,
            {
                "workers": ", ".join(f"{workers[s]} {s}" for s in ("ingest", "enrich", "index")),
                "refresh_interval": self.config.refresh_interval,
                "shards": 1,
            },
            profiles=profiles,
        )

    def latency_phase(self) -> None:
        e2e = self.phases.get("e2e")
        if e2e is None or not e2e.progress.get("overall_per_s"):
            log.warning("latency needs the end-to-end rate; skipped")
            return
        rate = max(1.0, self.config.latency_fraction * float(e2e.progress["overall_per_s"]))
        count = max(50, int(rate * self.config.latency_seconds))
        articles = list(raw_articles(self.corpus, count, self.tag("lat")))
        self.monitor.window()
        result = latency.measure(
            self.stack.bootstrap_servers, self.stack.es_url, ALIAS, TOPICS.raw, articles, rate
        )
        phase = self.finish_phase(
            "latency",
            None,
            {
                "rate_fraction_of_e2e": self.config.latency_fraction,
                "refresh_interval": self.config.refresh_interval,
                "poll_interval_s": 0.05,
                "workers": "1 ingest, 1 enrich, 1 index",
            },
        )
        phase.extra["latency"] = result.summary()

    def _e2e_count(self) -> int:
        """N, unless the slowest stage alone says that would take longer than the end-to-end budget."""
        rates = [
            float(self.phases[name].progress.get("steady_per_s") or 0)
            for name in ("ingest", "enrich", "index")
            if name in self.phases
        ]
        slowest = min((r for r in rates if r > 0), default=0.0)
        if not slowest:
            return self.config.articles
        affordable = int(slowest * self.config.e2e_budget_s)
        return max(min(self.config.articles, affordable), min(self.config.articles, 2_000))

    # -- the whole run ---------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        phases = self.config.phases
        self.prepare()
        documents: list[limit.Document] = []
        try:
            if "publish" in phases:
                self.publish_phase()
            if "ingest" in phases:
                self.ingest_phase()
            if "enrich" in phases:
                self.enrich_phase("enrich", 1, self.config.enrich_budget_s)
            if "enrich2" in phases:
                self.enrich_phase("enrich2", 2, self.config.enrich2_budget_s)
            if {"index", "peer", "limit"} & set(phases):
                documents = self.prepare_index_input()
                self.warm_up_elasticsearch(documents)
            # L first: its grid (18 trials) finishes warming Elasticsearch's JIT up, so the index
            # service and the peer, timed right after, meet the same hot cluster that L's best did.
            if "limit" in phases:
                self.limit_phase(documents)
            if "index" in phases:
                self.index_phase(len(documents))
            if "peer" in phases:
                self.peer_phase(len(documents))
            documents.clear()
            if "e2e" in phases:
                self.e2e_phase()
            if "latency" in phases:
                self.latency_phase()
        finally:
            self.stop_all()
            self.offsets.close()
            self.monitor.close()
            self.es.close()
        return self.results()

    def results(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": {
                "articles": self.config.articles,
                "partitions": self.config.partitions,
                "refresh_interval": self.config.refresh_interval,
                "service_overrides": dict(self.config.service_overrides),
                "corpus_articles": len(self.corpus),
                "e2e_articles": self.e2e_articles,
                "elasticsearch_warm_up": self.es_warm_up,
            },
            "machine": {
                "cores": os.cpu_count(),
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "stack": self.stack.versions,
                "note": "Kafka, Elasticsearch, the services and the load generator share these cores",
            },
            "phases": {name: phase.as_dict() for name, phase in self.phases.items()},
            "peak_rss_mb": {
                label: round(rss / 2**20, 1)
                for label, rss in self.monitor.overall_peak_rss.items()
                if not label.startswith(INFRA_PREFIX)
            },
            "stack_peak_rss_mb": {
                label.removeprefix(INFRA_PREFIX): round(rss / 2**20, 1)
                for label, rss in self.monitor.overall_peak_rss.items()
                if label.startswith(INFRA_PREFIX)
            },
        }


def _one_per_corpus_article(records: list[Record]) -> list[dict[str, Any]]:
    """One enriched event per corpus article (copies differ only by URL), as parsed JSON."""
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        event = orjson.loads(record.value)
        url = str(event["article"].get("url") or "")
        source_key = url.rsplit("/", 1)[0]  # .../<category>/<number>/<copy>: drop the copy
        seen.setdefault(source_key, event)
    return list(seen.values())


def _replicated_events(templates: list[dict[str, Any]], count: int, tag: str) -> Iterator[Record]:
    """``count`` enriched events cycling through ``templates``, each under its own URL and id."""
    for number in range(count):
        event = orjson.loads(orjson.dumps(templates[number % len(templates)]))
        article = event["article"]
        parts = str(article["url"]).split("/")  # https: '' host tag category number copy
        url = "/".join([*parts[:3], tag, parts[4], parts[5], str(number // len(templates))])
        article_id = expected_id({"url": url, "title": article["title"], "body": ""})
        article.update({"id": article_id, "url": url, "canonical_url": canonicalize_url(url)})
        envelope = new_envelope_fields("enrich")
        event.update(
            event_id=str(envelope["event_id"]),
            produced_at=envelope["produced_at"].isoformat(),
            trace_id=envelope["trace_id"],
        )
        yield Record(
            key=article_id.encode(),
            value=orjson.dumps(event),
            headers=((TRACE_HEADER, envelope["trace_id"].encode()), (ARTICLE_HEADER, article_id.encode())),
        )


def _enriched_in_process(corpus: list[CorpusArticle], tag: str) -> list[dict[str, Any]]:
    """Enriched events for ``corpus`` made by the services' own handlers, without Kafka."""
    from services.enrich.handler import handle as enrich_handle
    from services.ingest.handler import IngestHandler
    from services.runtime.messages import Emitted, Message

    ingest = IngestHandler()
    events = []
    for number, raw in enumerate(raw_articles(corpus, len(corpus), tag)):
        message = Message(
            TOPICS.raw, 0, number, None, orjson.dumps(raw), {"content-type": b"application/json"}
        )
        ingested = ingest.handle(message)
        if not isinstance(ingested, Emitted):
            continue
        record = ingested.records[0]
        enriched = enrich_handle(
            Message(TOPICS.ingested, 0, number, record.key, record.value, dict(record.headers))
        )
        if isinstance(enriched, Emitted):
            events.append(orjson.loads(enriched.records[0].value))
    return events


def _enrich_cpu_ms(log_path: Path) -> list[float]:
    """``cpu_ms`` of every "enriched" line the enrich service logged (its handler's CPU per article)."""
    values = []
    with log_path.open("rb") as lines:
        for line in lines:
            if b'"enriched"' not in line or not line.startswith(b"{"):
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if entry.get("msg") == "enriched" and isinstance(entry.get("cpu_ms"), int | float):
                values.append(float(entry["cpu_ms"]))
    return values


def _enrichers() -> list[str]:
    from services.enrich.pipeline import ENRICHERS

    return [f"{step.name}@{step.version}" for step in ENRICHERS]


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
