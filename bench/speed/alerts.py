"""Watches and alerts: publish-to-alert latency at half load, and the matching cost per watch count.

``python -m bench.speed --phases alerts`` (also the ``alerts`` phase of ``make bench``), on the private
stack, self-sufficient (it needs no other phase):

1. Templates: a slice of the BBC corpus run through the project's own ingest and enrich handlers
   (in-process), indexed into a private index with the real index's settings and mappings.
2. Watches built from the corpus itself, deterministic: one per distinct person the enricher found
   (a ``person`` filter) alternating with one per 2-3 neighbouring headline words (``q``), stored
   through the real :class:`~services.watches.store.WatchStore` into one private watches index per
   watch count (the first ones through ``WatchStore.add``, validated; the rest as the same stored
   document in bulk, so 10,000 watches do not take 10,000 validation searches).
3. Scaling: the alert service (``python -m services.alert``) alone over a fixed backlog of those
   already-indexed articles' enriched events, with 10, 1,000 and 10,000 watches: articles per second
   from its group's join to its last commit, and CPU ms per article of the alert process and of
   Elasticsearch (which runs every watch's search).
4. Latency: ingest, enrich, index and alert as processes on the private stack with 100 watches; a
   quick burst measures the capacity (publish -> searchable), then articles are published at half
   that rate and each one's first alert on the output topic is timed against its ``send()``
   (arrival at the reader and the alert's own ``matched_at``): p50/p99.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.speed import es_tools
from bench.speed.corpus import DEFAULT_CORPUS, CorpusArticle, expected_id, load_corpus, raw_articles
from bench.speed.kafka_tools import OffsetReader, Record, commit_to_end, produce_all, reset_topics
from bench.speed.measure import percentile
from bench.speed.procs import ChildProcess, ResourceMonitor, start_module, wait_until
from bench.speed.stack import BenchStack
from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from schemas.watches import Watch, watch_id_for

log = logging.getLogger("bench.speed.alerts")

INDEX_NAME = "bench-alerts"
#: Watches validated one by one through ``WatchStore.add`` (each waits for a refresh, ~1 s); the rest
#: go in bulk as the same stored document.
VALIDATED_WATCHES = 5
#: Headline words too common to make a watch of their own.
_STOP = "a an and as at be by for from has have in is it its of on or over the to up with after new says "
_STOP += "say said will not no out into than that this was were who why how what"
STOP_WORDS = frozenset(_STOP.split())


@dataclass(frozen=True)
class AlertBenchConfig:
    template_articles: int = 400
    #: Watch count -> articles in the backlog the alert service works through with that many.
    scaling: tuple[tuple[int, int], ...] = ((10, 400), (1_000, 400), (10_000, 200))
    latency_watches: int = 100
    capacity_articles: int = 300
    latency_seconds: float = 30.0
    latency_fraction: float = 0.5
    partitions: int = 2
    index: str = INDEX_NAME


# -- pure parts ----------------------------------------------------------------------------------
def headline_phrases(titles: Iterable[str], sizes: Sequence[int] = (2, 3)) -> list[str]:
    """Distinct runs of neighbouring headline words (stop words and short words skipped): every pair
    first, then every triple (a corpus of 2,225 headlines has too few pairs for 10,000 watches)."""
    kept = []
    for title in titles:
        words = [w.strip(".,:;'\"!?()‘’“”").lower() for w in title.split()]
        kept.append([w for w in words if len(w) > 2 and w not in STOP_WORDS and w.isalpha()])
    seen: dict[str, None] = {}
    for size in sizes:
        for words in kept:
            for start in range(len(words) - size + 1):
                seen.setdefault(" ".join(words[start : start + size]), None)
    return list(seen)


def watch_searches(people: Sequence[str], pairs: Sequence[str], count: int) -> list[dict[str, Any]]:
    """``count`` watch searches: a person filter and a headline pair in turn, then whichever is left."""
    searches: list[dict[str, Any]] = []
    people_left, pairs_left = list(people), list(pairs)
    while len(searches) < count and (people_left or pairs_left):
        take_person = bool(people_left) and (len(searches) % 2 == 0 or not pairs_left)
        if take_person:
            searches.append({"person": [people_left.pop(0)]})
        else:
            searches.append({"q": pairs_left.pop(0)})
    if len(searches) < count:
        raise ValueError(f"the corpus gives only {len(searches)} distinct watches, not {count}")
    return searches


def build_watches(searches: Sequence[dict[str, Any]], created_at: datetime) -> list[Watch]:
    watches = []
    for number, search in enumerate(searches):
        label = search.get("q") or search["person"][0]
        name = f"bench {number} {label}"
        watch_id = f"b{number}-{watch_id_for(label)}"[:64].strip("-")
        watches.append(
            Watch.model_validate(
                {"id": watch_id, "name": name, "owner": "bench", "search": search, "created_at": created_at}
            )
        )
    return watches


def people_by_frequency(documents: Iterable[dict[str, Any]]) -> list[str]:
    """Distinct person names of the documents, the most often found first (ties by name)."""
    counts: dict[str, int] = {}
    for document in documents:
        for entity in document.get("entities") or ():
            if entity.get("type") == "PER":
                counts[entity["name"]] = counts.get(entity["name"], 0) + 1
    return sorted(counts, key=lambda name: (-counts[name], name))


def latency_summary(sent: dict[str, float], arrived: dict[str, float]) -> dict[str, Any]:
    """p50/p99/max in ms over the articles that alerted (first alert per article)."""
    values = [arrived[key] - sent[key] for key in arrived if key in sent]
    if not values:
        return {"alerted": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "alerted": len(values),
        "p50_ms": round(1000 * percentile(values, 50), 1),
        "p99_ms": round(1000 * percentile(values, 99), 1),
        "max_ms": round(1000 * max(values), 1),
    }


def scaling_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run with its cost per article beside the first run's (how it grows with the watches)."""
    rows = []
    base = runs[0] if runs else {}
    for run in runs:
        row = dict(run)
        for key in ("alert_cpu_ms_per_article", "es_cpu_ms_per_article"):
            if base.get(key) and run.get(key) is not None:
                row[key.replace("_per_article", "_ratio")] = round(run[key] / base[key], 1)
        if base.get("watches") and run.get("alert_cpu_ms_per_article") is not None:
            total = (run.get("alert_cpu_ms_per_article") or 0) + (run.get("es_cpu_ms_per_article") or 0)
            row["cpu_us_per_watch_article"] = round(1000 * total / run["watches"], 2)
        rows.append(row)
    return rows


def markdown(results: dict[str, Any]) -> str:
    if results.get("error"):
        return f"Watches and alerts: not measured ({results['error']}).\n"
    lines = [
        f"Watches and alerts, run at {results.get('started')}: {results.get('templates')} BBC articles "
        f"(ingest + enrich in-process) indexed; watches from the corpus (person names, 2-3 headline "
        f"words), stored through WatchStore. Alert service alone over a backlog of enriched events:",
        "",
        "| watches | articles | articles/s | alert CPU ms/article | ES CPU ms/article | ratio to 10 "
        "(alert / ES) | CPU us per watch-article | alerts (per article) | load avg 1m |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in results.get("scaling", []):
        machine = row.get("machine", {})
        lines.append(
            f"| {row['watches']:,} | {row['articles']} | {row['per_s']} | {row['alert_cpu_ms_per_article']} "
            f"| {row['es_cpu_ms_per_article']} | {row.get('alert_cpu_ms_ratio')} / "
            f"{row.get('es_cpu_ms_ratio')} | {row.get('cpu_us_per_watch_article')} "
            f"| {row['alerts']} ({row['alerts'] / row['articles']:.1f}) "
            f"| {machine.get('loadavg_1m_mean')} (max {machine.get('loadavg_1m_max')}) |"
        )
    lat = results.get("latency") or {}
    if lat.get("error"):
        lines.append(f"\nPublish -> alert latency: not measured ({lat['error']}).")
    elif lat:
        arrival, matched = lat.get("arrival", {}), lat.get("matched_at", {})
        machine = lat.get("machine", {})
        lines.append(
            f"\nPublish -> alert latency (ingest, enrich, index, alert as processes, "
            f"{lat.get('watches')} watches, refresh 1s): capacity {lat.get('capacity_per_s')}/s, "
            f"published {lat.get('published')} at {lat.get('rate_per_s')}/s (half); "
            f"{arrival.get('alerted')} articles alerted: to the alert on the topic p50 "
            f"{arrival.get('p50_ms')} ms, p99 {arrival.get('p99_ms')} ms (max {arrival.get('max_ms')}); "
            f"to matched_at p50 {matched.get('p50_ms')} ms, p99 {matched.get('p99_ms')} ms; load avg 1m "
            f"{machine.get('loadavg_1m_mean')} (max {machine.get('loadavg_1m_max')})."
        )
    return "\n".join(lines) + "\n"


# -- the run -------------------------------------------------------------------------------------
class AlertBench:
    def __init__(self, stack: BenchStack, logs_dir: Path, config: AlertBenchConfig) -> None:
        self.stack = stack
        self.logs_dir = logs_dir
        self.config = config
        self.run_id = uuid.uuid4().hex[:8]
        self.es = es_tools.client(stack.es_url, fast_json=True)
        self.monitor = ResourceMonitor()
        self.offsets = OffsetReader(stack.bootstrap_servers)
        self.es_pid = stack.pids().get("elasticsearch")
        if self.es_pid:
            self.monitor.watch("elasticsearch", self.es_pid)
        self.children: list[ChildProcess] = []

    def close(self) -> None:
        for child in self.children:
            child.stop()
        self.monitor.close()
        self.offsets.close()
        self.es.close()

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": self.stack.bootstrap_servers,
            "NEWSWIRE_ES_URL": self.stack.es_url,
            "NEWSWIRE_TOPICS_PARTITIONS": str(self.config.partitions),
            "NEWSWIRE_INGEST_METRICS_PORT": "0",
            "NEWSWIRE_ENRICH_METRICS_PORT": "0",
            "NEWSWIRE_INDEX_METRICS_PORT": "0",
            "NEWSWIRE_ALERT_METRICS_PORT": "0",
            "NEWSWIRE_ENRICH_WEB_ENABLED": "false",
            **extra,
        }

    def start(self, label: str, module: str, **extra: str) -> ChildProcess:
        child = start_module(label, module, self.env(**extra), self.logs_dir / f"{label}.log")
        self.children.append(child)
        self.monitor.watch(label, child.pid)
        return child

    def stop(self, child: ChildProcess) -> None:
        child.stop()
        self.monitor.unwatch(child.label)
        self.children.remove(child)

    def store_watches(self, watches: Sequence[Watch], index: str, articles: str) -> None:
        from elasticsearch import helpers

        from services.watches.settings import WatchStoreSettings
        from services.watches.store import WatchStore, stored_document

        es_tools.delete_index(self.es, index)
        store = WatchStore(WatchStoreSettings(index=index, articles=articles), client=self.es)
        for watch in watches[:VALIDATED_WATCHES]:
            store.add(watch)
        rest = watches[VALIDATED_WATCHES:]
        if rest:
            helpers.bulk(
                self.es,
                (
                    {"_index": index, "_id": w.id, "_op_type": "create", "_source": stored_document(w)}
                    for w in rest
                ),
                chunk_size=2000,
                refresh="wait_for",
            )
        if es_tools.count(self.es, index) != len(watches):
            raise RuntimeError(f"{index} holds {es_tools.count(self.es, index)} watches, not {len(watches)}")

    def scaling_run(self, watches: int, records: Sequence[Record], watches_index: str) -> dict[str, Any]:
        name = f"{watches}-{self.run_id}"
        topic, output, group = f"bench-alerts-in-{name}", f"bench-alerts-out-{name}", f"bench-alerts-{name}"
        produce_all(self.stack.bootstrap_servers, topic, records)
        alert = self.start(
            f"alert-{watches}",
            "services.alert",
            NEWSWIRE_ALERT_GROUP_ID=group,
            NEWSWIRE_ALERT_INPUT_TOPIC=topic,
            NEWSWIRE_ALERT_OUTPUT_TOPIC=output,
            NEWSWIRE_ALERT_ALIAS=self.config.index,
            NEWSWIRE_ALERT_WATCHES_INDEX=watches_index,
            NEWSWIRE_ALERT_SENT_INDEX=f"bench-alerts-sent-{name}",
        )
        try:
            if not wait_until(lambda: self.offsets.group_has_partitions(group), 120, 0.05):
                raise RuntimeError(f"the alert service did not join; see {alert.log_path}")
            self.monitor.window()
            started = time.monotonic()
            if not wait_until(lambda: self.offsets.lag(group, topic) == 0, 600, 0.1):
                raise RuntimeError(f"the alert service did not finish its backlog; see {alert.log_path}")
            seconds = time.monotonic() - started
            usage = self.monitor.usage()
            machine = self.monitor.load()
        finally:
            self.stop(alert)
        es_tools.delete_index(self.es, f"bench-alerts-sent-{name}")
        count = len(records)
        es_cpu = usage.get("elasticsearch")
        return {
            "watches": watches,
            "articles": count,
            "seconds": round(seconds, 2),
            "per_s": round(count / seconds, 1),
            "alert_cpu_ms_per_article": round(1000 * usage[alert.label].cpu_s / count, 1),
            "es_cpu_ms_per_article": round(1000 * es_cpu.cpu_s / count, 1) if es_cpu else None,
            "alert_peak_rss_mb": round(usage[alert.label].peak_rss_bytes / 2**20, 1),
            "alerts": self.offsets.total(output),
            "machine": machine,
        }

    def latency(self, corpus: list[CorpusArticle], watches_index: str) -> dict[str, Any]:
        """The pipeline and the alert service as processes; capacity, then half of it, timed per article."""
        groups = {
            name: f"bench-alerts-{name}-{self.run_id}" for name in ("ingest", "enrich", "index", "alert")
        }
        output = f"bench-alerts-lat-{self.run_id}"
        bootstrap = self.stack.bootstrap_servers
        # The pipeline's topics (fresh, as the pipeline phases have them) and the alerts' own, made
        # before anyone subscribes: a reader subscribed to a topic not there yet may never see it.
        topics = {name: self.config.partitions for name in TOPICS.all()}
        reset_topics(bootstrap, {**topics, output: self.config.partitions})
        data_dir = self.logs_dir.parent / "work" / f"faust-alerts-{self.run_id}"
        data_dir.mkdir(parents=True, exist_ok=True)
        for name, topic in (("ingest", TOPICS.raw), ("enrich", TOPICS.ingested), ("index", TOPICS.enriched)):
            commit_to_end(bootstrap, groups[name], [topic])
        es_tools.reset_articles_index(self.es, "1s")
        sent_index = f"bench-alerts-sent-lat-{self.run_id}"
        self.start("ingest", "services.ingest", NEWSWIRE_INGEST_GROUP_ID=groups["ingest"])
        self.start(
            "enrich",
            "services.enrich",
            NEWSWIRE_ENRICH_APP_ID=groups["enrich"],
            NEWSWIRE_ENRICH_DATA_DIR=str(data_dir),
        )
        self.start("index", "services.index", NEWSWIRE_INDEX_GROUP_ID=groups["index"])
        commit_to_end(bootstrap, groups["alert"], [TOPICS.enriched])
        self.start(
            "alert",
            "services.alert",
            NEWSWIRE_ALERT_GROUP_ID=groups["alert"],
            NEWSWIRE_ALERT_OUTPUT_TOPIC=output,
            NEWSWIRE_ALERT_WATCHES_INDEX=watches_index,
            NEWSWIRE_ALERT_SENT_INDEX=sent_index,
        )
        reader = AlertReader(bootstrap, output)
        try:
            warm = list(raw_articles(corpus, 30, f"alw-{self.run_id}"))
            publish_paced(bootstrap, warm, 100.0)
            if not wait_until(lambda: es_tools.count(self.es, ALIAS) >= len(warm), 240, 0.5):
                raise RuntimeError("the pipeline did not index the warm-up articles; see the service logs")
            burst = list(raw_articles(corpus, self.config.capacity_articles, f"alc-{self.run_id}"))
            before = es_tools.count(self.es, ALIAS)
            started = time.monotonic()
            publish_paced(bootstrap, burst, 1_000.0)
            if not wait_until(lambda: es_tools.count(self.es, ALIAS) - before >= len(burst), 300, 0.5):
                raise RuntimeError("the pipeline did not index the capacity burst")
            capacity = len(burst) / (time.monotonic() - started)
            # Let the alert service finish the burst too, so the timed articles meet no backlog.
            wait_until(lambda: self.offsets.lag(groups["alert"], TOPICS.enriched) == 0, 300, 0.5)
            rate = max(1.0, self.config.latency_fraction * capacity)
            count = max(50, int(rate * self.config.latency_seconds))
            timed = list(raw_articles(corpus, count, f"all-{self.run_id}"))
            self.monitor.window()
            sent, seconds = publish_paced(bootstrap, timed, rate)
            wait_until(lambda: self.offsets.lag(groups["alert"], TOPICS.enriched) == 0, 120, 0.5)
            time.sleep(3.0)  # the last alerts on their way to the reader
            machine = self.monitor.load()
        finally:
            reader.stop()
        return {
            "watches": self.config.latency_watches,
            "capacity_per_s": round(capacity, 1),
            "rate_per_s": round(rate, 1),
            "achieved_per_s": round(len(timed) / seconds, 1),
            "published": len(timed),
            "arrival": latency_summary(sent, reader.arrived),
            "matched_at": latency_summary(sent, reader.matched),
            "machine": machine,
        }


class AlertReader:
    """Reads the alert topic in a thread: per article, when its first alert arrived and was matched."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer

        self.arrived: dict[str, float] = {}
        self.matched: dict[str, float] = {}
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-alert-reader-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )
        self._thread = threading.Thread(target=self._run, name="bench-alert-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for batch in self._consumer.poll(timeout_ms=100).values():
                now = time.time()
                for record in batch:
                    event = orjson.loads(record.value)
                    article = str(event["article_id"])
                    self.arrived.setdefault(article, now)
                    matched = datetime.fromisoformat(str(event["matched_at"])).timestamp()
                    self.matched[article] = min(matched, self.matched.get(article, matched))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close(autocommit=False)


def publish_paced(
    bootstrap: str, articles: Sequence[dict[str, Any]], rate_per_s: float
) -> tuple[dict[str, float], float]:
    """Publish ``articles`` to articles.raw as ``newswire publish`` would, at ``rate_per_s``; the wall
    clock just before each ``send()`` by article id, and the seconds it took."""
    from services.cli.submissions import InputFormat, prepare_bytes
    from services.runtime.kafka import make_producer
    from services.runtime.settings import KafkaSettings

    producer = make_producer(KafkaSettings(bootstrap_servers=bootstrap), client_id="bench-alerts")
    sent: dict[str, float] = {}
    started = time.monotonic()
    try:
        for number, article in enumerate(articles):
            delay = started + number / rate_per_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            message = prepare_bytes(
                orjson.dumps(article), InputFormat.JSON, source_name="bench-alerts"
            ).messages[0]
            sent[expected_id(article)] = time.time()
            producer.send(TOPICS.raw, value=message.value, headers=list(message.headers))
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return sent, time.monotonic() - started


def enriched_records(events: Sequence[dict[str, Any]]) -> list[Record]:
    from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER

    return [
        Record(
            key=str(event["article"]["id"]).encode(),
            value=orjson.dumps(event),
            headers=(
                (TRACE_HEADER, str(event["trace_id"]).encode()),
                (ARTICLE_HEADER, str(event["article"]["id"]).encode()),
            ),
        )
        for event in events
    ]


def measure(
    stack: BenchStack,
    logs_dir: Path,
    config: AlertBenchConfig | None = None,
    corpus_dir: Path = DEFAULT_CORPUS,
) -> dict[str, Any]:
    """Index the templates, store the watches, run the scaling cases and the latency; JSON-ready results."""
    from elasticsearch import helpers

    from bench.speed.run import _enriched_in_process
    from schemas.envelope import ArticleEnriched
    from schemas.search_index import document_from

    config = config or AlertBenchConfig()
    corpus = load_corpus(corpus_dir)
    bench = AlertBench(stack, logs_dir, config)
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cores": os.cpu_count()}
    try:
        step = max(1, len(corpus) // config.template_articles)
        events = _enriched_in_process(corpus[::step][: config.template_articles], f"alerts-{bench.run_id}")
        documents = {}
        for event in events:
            enriched = ArticleEnriched.model_validate(event)
            documents[enriched.article.id] = document_from(enriched.article, enriched.trace_id)
        es_tools.create_like_articles(bench.es, config.index, "1s")
        helpers.bulk(
            bench.es,
            ({"_index": config.index, "_id": doc_id, "_source": doc} for doc_id, doc in documents.items()),
            refresh="wait_for",
        )
        results["templates"] = len(documents)
        people = people_by_frequency(documents.values())
        pairs = headline_phrases(article.title for article in corpus)
        largest = max([count for count, _ in config.scaling] + [config.latency_watches])
        all_watches = build_watches(watch_searches(people, pairs, largest), datetime.now(UTC))
        results["watch_sources"] = {"people": len(people), "headline_phrases": len(pairs)}
        records = enriched_records(events)
        runs = []
        for watches, articles in config.scaling:
            index = f"bench-alerts-watches-{watches}"
            bench.store_watches(all_watches[:watches], index, config.index)
            runs.append(bench.scaling_run(watches, records[:articles], index))
            log.info("alerts: %s", runs[-1])
        results["scaling"] = scaling_rows(runs)
        lat_index = f"bench-alerts-watches-{config.latency_watches}"
        bench.store_watches(all_watches[: config.latency_watches], lat_index, ALIAS)
        try:
            results["latency"] = bench.latency(corpus, lat_index)
        except Exception as exc:
            log.exception("alert latency not measured")
            results["latency"] = {"error": f"{type(exc).__name__}: {exc}"}
        log.info("alerts latency: %s", results["latency"])
    finally:
        bench.close()
    return results
