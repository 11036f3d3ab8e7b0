"""Peak memory of each service under load, and proof that the index holds back while Elasticsearch is down.

``python -m bench.load_rss [--articles 5000] [--outage-articles 2000]`` brings up a private native
stack (``.state/load-rss``, Kafka 39092, Elasticsearch 39200: never the shared one), starts the three
services, and then:

1. publishes ``--articles`` articles as fast as Kafka takes them and waits until all are indexed,
   sampling every service's resident memory (``/proc/<pid>/status``: VmRSS, and VmHWM, the
   kernel's exact peak);
2. stops Elasticsearch, publishes ``--outage-articles`` more and watches the index service for
   ``--outage-s`` seconds: its consumer group must stop committing (consumption paused, the
   backlog stays in Kafka) and its memory must stay flat instead of growing with the backlog;
3. starts Elasticsearch again and waits until the backlog is indexed.

The figures are printed as a table and written to ``bench/results/load_rss.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from services.runtime.kafka import (
    committed_offsets,
    consumer_lag,
    ensure_topics,
    make_producer,
    pipeline_topics,
)
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline
from services.stack.elasticsearch import Elasticsearch as EsProcess
from services.stack.manager import down, up
from services.stack.paths import StackPaths, effective_state_dir
from services.stack.process import stop_pids
from services.stack.settings import REPO_ROOT, StackSettings

RESULTS = REPO_ROOT / "bench" / "results" / "load_rss.json"
BBC = REPO_ROOT.parent / "shared" / "corpora" / "bbc-news"
GROUPS = {"ingest": ("newswire-ingest", TOPICS.raw), "enrich": ("newswire-enrich", TOPICS.ingested)}
INDEX_GROUP = ("newswire-index", TOPICS.enriched)


def read_status_kib(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Sampler:
    """Samples VmRSS of each service every ``interval_s``; keeps the peaks and a timeline."""

    state_dir: Path
    interval_s: float = 0.5
    peak_kib: dict[str, int] = field(default_factory=dict)
    hwm_kib: dict[str, int] = field(default_factory=dict)
    timeline: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> dict[str, int]:
        now: dict[str, int] = {}
        for proc in pipeline.status(self.state_dir):
            if proc.pid is None:
                continue
            rss, hwm = read_status_kib(proc.pid, "VmRSS"), read_status_kib(proc.pid, "VmHWM")
            if rss is not None:
                now[proc.name] = rss
                self.peak_kib[proc.name] = max(self.peak_kib.get(proc.name, 0), rss)
            if hwm is not None:
                self.hwm_kib[proc.name] = max(self.hwm_kib.get(proc.name, 0), hwm)
        return now

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.timeline.append((round(time.monotonic() - self.started, 1), self.sample()))

    def start(self) -> None:
        threading.Thread(target=self.run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def articles(count: int, salt: str) -> list[bytes]:
    """``count`` distinct JSON articles: BBC texts under distinct URLs when present, else synthetic."""
    texts = [path.read_text(errors="replace") for path in sorted(BBC.glob("*/*.txt"))] if BBC.is_dir() else []
    rng = random.Random(7)
    words = [
        "harbour",
        "council",
        "budget",
        "storm",
        "rail",
        "school",
        "court",
        "market",
        "energy",
        "bridge",
        "election",
    ]
    out = []
    for n in range(count):
        if texts:
            title, _, body = texts[n % len(texts)].strip().partition("\n")
        else:
            title = f"Load report {n}"
            body = "\n\n".join(" ".join(rng.choices(words, k=30)) + "." for _ in range(5))
        out.append(
            orjson.dumps(
                {
                    "title": title.strip(),
                    "body": body.strip(),
                    "url": f"https://load.newswire.test/{salt}/{n}",
                }
            )
        )
    return out


def publish(kafka: KafkaSettings, values: list[bytes]) -> float:
    producer = make_producer(kafka, "load-rss")
    started = time.monotonic()
    try:
        for value in values:
            producer.send(TOPICS.raw, value=value, headers=[("content-type", b"application/json")])
        producer.flush()
    finally:
        producer.close()
    return time.monotonic() - started


def wait_until(condition: Any, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if condition():
                return time.monotonic() - started
        except Exception:  # a component recovering; ask again
            pass
        time.sleep(2)
    raise TimeoutError(f"{what} not reached within {timeout_s:.0f}s")


def consuming(kafka: KafkaSettings) -> bool:
    """Every service has joined its consumer group (started up, connected, assigned)."""
    admin = KafkaAdminClient(**kafka.client_config(), client_id="load-rss")
    try:
        groups = admin.describe_groups([group for group, _ in [*GROUPS.values(), INDEX_GROUP]])
    finally:
        admin.close()
    return all(group["members"] for group in groups.values())


def drained(kafka: KafkaSettings) -> bool:
    """Every group has committed everything (faust commits every few seconds)."""
    return all(consumer_lag(kafka, group, topic) == 0 for group, topic in [*GROUPS.values(), INDEX_GROUP])


def indexed(es: Elasticsearch) -> int:
    es.indices.refresh(index=ALIAS)
    return int(es.count(index=ALIAS)["count"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_rss", description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=5_000)
    parser.add_argument("--outage-articles", type=int, default=2_000)
    parser.add_argument("--outage-s", type=float, default=60.0)
    parser.add_argument("--timeout-s", type=float, default=1_800.0)
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".state" / "load-rss")
    args = parser.parse_args(argv)

    settings = StackSettings(
        state_dir=args.state_dir,
        fallback_state_dir=Path("/var/lib/newswire-load-rss"),
        kafka_port=39092,
        kafka_controller_port=39093,
        es_port=39200,
        es_transport_port=39300,
        es_cluster_name="newswire-load-rss",
        es_start_timeout=300,
    )
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    down(settings)
    for stale in (paths.kafka_data, paths.es_data, paths.root / "run"):
        shutil.rmtree(stale, ignore_errors=True)
    up(settings)
    kafka = KafkaSettings(bootstrap_servers=settings.kafka_bootstrap, startup_timeout_s=120)
    es = Elasticsearch(settings.es_url, request_timeout=30)
    env = {
        "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
        "NEWSWIRE_ES_URL": settings.es_url,
        "NEWSWIRE_ENRICH_DATA_DIR": str(paths.root / "enrich-data"),
        "NEWSWIRE_ENRICH_FAUST_BROKER_SESSION_TIMEOUT": "10",
        "NEWSWIRE_INGEST_METRICS_PORT": "0",
        "NEWSWIRE_ENRICH_METRICS_PORT": "0",
        "NEWSWIRE_INDEX_METRICS_PORT": "0",
        "NEWSWIRE_ES_STARTUP_TIMEOUT_S": "600",
    }
    report: dict[str, Any] = {"articles": args.articles, "outage_articles": args.outage_articles}
    sampler = Sampler(paths.root)
    try:
        ensure_topics(kafka, pipeline_topics(TopicSettings()))
        ensure_index(es)
        pipeline.start(paths.root, env=env)
        sampler.start()
        wait_until(lambda: consuming(kafka), 300, "the services in their consumer groups")
        ready = sampler.sample()

        publish_s = publish(kafka, articles(args.articles, "load"))
        drain_s = wait_until(lambda: drained(kafka), args.timeout_s, "all articles through the pipeline")
        load_peak = dict(sampler.peak_kib)
        report["load"] = {
            "publish_s": round(publish_s, 1),
            "indexed_after_s": round(drain_s, 1),
            "throughput_per_s": round(args.articles / drain_s, 1),
            "indexed": indexed(es),
            "ready_rss_mib": mib(ready),
            "peak_rss_mib": mib(load_peak),
        }

        es_process = EsProcess(settings, paths)
        es_pid = es_process.managed_pid()
        assert es_pid is not None
        stop_pids({"elasticsearch": es_pid}, timeout=60)
        index_pid = next(p.pid for p in pipeline.status(paths.root, ["index"]))
        rss_before = read_status_kib(index_pid or 0, "VmRSS") or 0
        committed_before = committed_offsets(kafka, *INDEX_GROUP)
        publish(kafka, articles(args.outage_articles, "outage"))
        wait_until(
            lambda: all(consumer_lag(kafka, group, topic) == 0 for group, topic in GROUPS.values()),
            args.timeout_s,
            "ingest and enrich drained during the outage",
        )
        outage_rss = []
        deadline = time.monotonic() + args.outage_s
        while time.monotonic() < deadline:
            outage_rss.append(read_status_kib(index_pid or 0, "VmRSS") or 0)
            time.sleep(1)
        committed_after = committed_offsets(kafka, *INDEX_GROUP)
        backlog = consumer_lag(kafka, *INDEX_GROUP)
        es_process.ensure_running({})
        recover_s = wait_until(lambda: drained(kafka), args.timeout_s, "backlog indexed")
        report["elasticsearch_down"] = {
            "index_rss_before_mib": round(rss_before / 1024, 1),
            "index_rss_max_during_mib": round(max(outage_rss) / 1024, 1),
            "index_rss_last_during_mib": round(outage_rss[-1] / 1024, 1),
            "index_commits_moved": committed_before != committed_after,
            "backlog_left_in_kafka": backlog,
            "indexed_after_restart_s": round(recover_s, 1),
            "indexed_total": indexed(es),
        }
        sampler.sample()
        report["peak_rss_mib"] = mib(sampler.peak_kib)
        report["vmhwm_mib"] = mib(sampler.hwm_kib)
    finally:
        sampler.stop()
        pipeline.stop(paths.root)
        es.close()
        down(settings)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    sys.stdout.write(render(report) + "\n")
    return 0


def mib(kib: dict[str, int]) -> dict[str, float]:
    return {name: round(value / 1024, 1) for name, value in sorted(kib.items())}


def render(report: dict[str, Any]) -> str:
    load, outage = report["load"], report["elasticsearch_down"]
    lines = [
        f"load: {report['articles']} articles published in {load['publish_s']} s, "
        f"all through the pipeline after {load['indexed_after_s']} s ({load['throughput_per_s']}/s), "
        f"{load['indexed']} documents",
        f"{'service':<8} {'ready MiB':>9} {'peak RSS MiB':>13} {'VmHWM MiB':>10}",
    ]
    for name in sorted(report["vmhwm_mib"]):
        lines.append(
            f"{name:<8} {load['ready_rss_mib'].get(name, 0):>9} {report['peak_rss_mib'].get(name, 0):>13} "
            f"{report['vmhwm_mib'][name]:>10}"
        )
    lines += [
        f"Elasticsearch down, {report['outage_articles']} more articles published:",
        f"  index RSS {outage['index_rss_before_mib']} MiB before, "
        f"at most {outage['index_rss_max_during_mib']} MiB during the outage "
        f"({outage['index_rss_last_during_mib']} MiB at its end)",
        f"  index commits moved during the outage: {outage['index_commits_moved']}; "
        f"backlog left in Kafka: {outage['backlog_left_in_kafka']} messages",
        f"  backlog indexed {outage['indexed_after_restart_s']} s after Elasticsearch came back",
        f"written to {RESULTS}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
