"""Search latency: the API beside Elasticsearch alone, on the same index, in one run.

``python -m bench.speed.search_latency`` (also the ``search`` phase of ``make bench``):

1. Index: the BBC corpus (``../shared/corpora/bbc-news``) run once through the project's own ingest
   and enrich handlers (in-process, no Kafka), each article's final document made by
   :func:`schemas.search_index.document_from`, then replicated under distinct ids (and URLs) to at
   least 100,000 documents, publication dates spread over three years, bulk-loaded with the
   official client's helpers into a private index with the settings and mappings of the real one.
2. The search API (``python -m services.search``, uvicorn, one worker) on a loopback port, reading
   that index on the private stack.
3. The BBC query set (``bench/quality/labels/search_bbc.json``) at 1, 4 and 16 concurrent clients:
   ``GET /search?q=...&size=10`` on the API, and the same ``_search`` body
   (:func:`services.search.query.build_query`) POSTed straight to Elasticsearch, to the same index
   with the same request parameters. Both sides use one httpx client with keep-alive connections,
   are warmed up untimed, and alternate in short blocks (API, ES, ES, API, ...) so drift in the
   machine's load falls on both equally. The API's own overhead is the ratio of the two.

The machine has two cores shared by Elasticsearch, the API and this load generator; latencies
under 16 clients say as much about that as about the API, which is why the ratio, the CPU each
process spent per request and the load average are reported beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from bench.speed import es_tools
from bench.speed.corpus import DEFAULT_CORPUS, CorpusArticle, CorpusMissing, load_corpus
from bench.speed.measure import percentile
from bench.speed.procs import ChildProcess, ResourceMonitor, start_module, wait_until
from bench.speed.stack import BenchPorts, BenchStack, bench_stack_settings, bring_up
from services.ingest.identity import article_id, canonicalize_url
from services.search.query import build_query
from services.search.ranking import can_relax
from services.stack.settings import REPO_ROOT

log = logging.getLogger("bench.speed.search_latency")

RESULTS_ROOT = REPO_ROOT / "bench" / "results"
QUERIES_PATH = REPO_ROOT / "bench" / "quality" / "labels" / "search_bbc.json"
INDEX_NAME = "bench-search-latency"
#: Publication dates spread over this many days before :data:`NEWEST` (the date facet's buckets
#: and sort by date see a realistic archive, not 100,000 articles of one instant).
DATE_SPAN_DAYS = 3 * 365
NEWEST = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
SIDES = ("api", "es")
#: Per query id, the ``_search`` bodies Elasticsearch is sent in turn for it: the request, and the
#: relaxed one after it where the API sends that too (the first found nothing).
Bodies = dict[str, tuple[bytes, ...]]


@dataclass(frozen=True)
class SearchBenchConfig:
    documents: int = 100_000
    concurrency: tuple[int, ...] = (1, 4, 16)
    #: Timed requests per side and concurrency level (p99 of 800 is the 8th slowest).
    requests: int = 800
    #: Each side's requests come in this many blocks, alternating with the other side's.
    blocks: int = 8
    #: Untimed passes over the whole query set per side before each level.
    warm_up_passes: int = 1
    #: Untimed passes per side before the first level, at 4 clients: Elasticsearch's JIT and caches
    #: and the API's first requests (imports, pools) must not land in the first level's figures.
    first_warm_up_passes: int = 4
    page_size: int = 10
    bulk_chunk: int = 500
    bulk_threads: int = 2
    api_port: int = 29480
    index: str = INDEX_NAME
    #: Keep the loaded index after the run (and use it again if it holds exactly ``documents``).
    keep_index: bool = False


@dataclass(frozen=True)
class Query:
    query_id: str
    text: str


@dataclass
class SideRun:
    """What one side (API or Elasticsearch) measured at one concurrency level, over all its blocks."""

    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    busy_s: float = 0.0  # wall time of this side's blocks
    cpu_s: dict[str, float] = field(default_factory=dict)  # by process label, over this side's blocks

    def add_cpu(self, spent: dict[str, float]) -> None:
        for label, seconds in spent.items():
            self.cpu_s[label] = self.cpu_s.get(label, 0.0) + seconds


# -- pure parts ----------------------------------------------------------------------------------
def load_queries(path: Path = QUERIES_PATH) -> list[Query]:
    """The query set's texts, in id order (``{"queries": {id: {"text": ...}}}``)."""
    data = orjson.loads(path.read_bytes())
    queries = [Query(query_id, str(entry["text"])) for query_id, entry in sorted(data["queries"].items())]
    if not queries:
        raise ValueError(f"no queries in {path}")
    return queries


def block_order(blocks: int) -> list[str]:
    """``api, es, es, api, api, es, ...``: each side first in half the pairs, so a trend in the
    machine's load over the level weighs on both sides alike."""
    order: list[str] = []
    for pair in range(blocks):
        order.extend(SIDES if pair % 2 == 0 else tuple(reversed(SIDES)))
    return order


def block_sizes(requests: int, blocks: int) -> list[int]:
    """``requests`` split into ``blocks`` near-equal parts (the first ones one larger)."""
    base, extra = divmod(requests, blocks)
    return [base + (1 if number < extra else 0) for number in range(blocks)]


def latency_summary(latencies_s: Sequence[float], errors: int, busy_s: float) -> dict[str, Any]:
    """p50/p90/p99/max in milliseconds and requests per second over the side's busy time."""

    def ms(value: float) -> float | None:
        return round(1000 * value, 2) if latencies_s else None

    return {
        "requests": len(latencies_s),
        "errors": errors,
        "p50_ms": ms(percentile(latencies_s, 50)),
        "p90_ms": ms(percentile(latencies_s, 90)),
        "p99_ms": ms(percentile(latencies_s, 99)),
        "max_ms": ms(max(latencies_s, default=0.0)),
        "mean_ms": ms(sum(latencies_s) / len(latencies_s)) if latencies_s else None,
        "per_s": round(len(latencies_s) / busy_s, 1) if busy_s > 0 else None,
    }


def overhead(api: dict[str, Any], es: dict[str, Any]) -> dict[str, Any]:
    """API against Elasticsearch alone: latency ratios and differences, throughput ratio."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    def difference(a: float | None, b: float | None) -> float | None:
        return round(a - b, 2) if a is not None and b is not None else None

    return {
        "p50_ratio": ratio(api["p50_ms"], es["p50_ms"]),
        "p99_ratio": ratio(api["p99_ms"], es["p99_ms"]),
        "p50_added_ms": difference(api["p50_ms"], es["p50_ms"]),
        "p99_added_ms": difference(api["p99_ms"], es["p99_ms"]),
        "per_s_ratio": ratio(api["per_s"], es["per_s"]),
    }


def replicated_documents(
    templates: Sequence[dict[str, Any]], count: int, tag: str = "search"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``count`` ``(id, source)`` pairs cycling through ``templates`` (final index documents).

    Copy ``k`` of a template gets its own URL (``.../<tag>/<k>/<n>``) and the id ingest would give
    it; publication dates step through :data:`DATE_SPAN_DAYS` so every copy has its own.
    """
    span_s = DATE_SPAN_DAYS * 86_400
    for number in range(count):
        template = templates[number % len(templates)]
        copy = number // len(templates)
        url = f"https://bench.newswire.test/{tag}/{copy}/{number % len(templates)}"
        canonical = canonicalize_url(url)
        doc_id = article_id(canonical, str(template.get("title") or ""), "")[0]
        # A fixed large odd step modulo the span: dates look scattered, never repeat within a run.
        published = NEWEST - timedelta(seconds=(number * 7_919_993) % span_s)
        yield (
            doc_id,
            {
                **template,
                "id": doc_id,
                "url": url,
                "canonical_url": canonical,
                "published_at": published.isoformat(),
            },
        )


def hit_ids_from_api(payload: dict[str, Any]) -> list[str]:
    """Ids of the hits in the API's answer to ``GET /search``."""
    hits = payload.get("hits") or []
    if isinstance(hits, dict):  # an Elasticsearch-shaped answer
        hits = hits.get("hits") or []
    return [str(hit.get("id") or hit.get("_id")) for hit in hits if isinstance(hit, dict)]


def hit_ids_from_es(payload: dict[str, Any]) -> list[str]:
    return [str(hit["_id"]) for hit in (payload.get("hits") or {}).get("hits", [])]


def markdown(results: dict[str, Any]) -> str:
    """The table of one run: per concurrency level, both sides, the ratios and the machine's load."""
    if results.get("error"):
        return f"Search latency: not measured ({results['error']}).\n"
    index = results.get("index", {})
    config = results.get("config", {})
    queries = results.get("queries", {})
    loaded = (
        f"loaded in {index.get('load_seconds')} s = {index.get('load_per_s'):,.0f} docs/s "
        f"({index.get('bulk')}; ingest + enrich of the distinct articles before it "
        f"{index.get('enrich_seconds')} s)"
        if index.get("load_seconds") is not None
        else "reused from an earlier run"
    )
    head = (
        f"Search latency, run at {results.get('started')}: an index of {index.get('documents'):,} "
        f"documents (the BBC corpus through the project's ingest and enrich handlers, replicated under "
        f"distinct ids, dates over {DATE_SPAN_DAYS // 365} years; {loaded}; {index.get('size_mb')} MB, "
        f"{index.get('segments')} segments, 1 shard). {queries.get('count')} queries "
        f"({queries.get('source')}), page size {config.get('page_size')}; per side and level "
        f"{config.get('requests')} timed requests in {config.get('blocks')} blocks alternating with the "
        f"other side's, after a warm-up. API: `python -m services.search` (1 uvicorn worker, peak RSS "
        f"{results.get('api_peak_rss_mb')} MB); ES: the same `_search` body POSTed straight to "
        f"Elasticsearch. Both through httpx with keep-alive, on {results.get('machine', {}).get('cores')} "
        f"cores shared by Elasticsearch, the API and the load generator.\n\n"
    )
    lines = [
        "| clients | API p50 / p99 (ms) | ES p50 / p99 (ms) | API / ES p50 | API / ES p99 "
        "| added by the API p50 / p99 (ms) | req/s API / ES (ratio) "
        "| CPU ms per request, API side: API + ES + client | ES side: ES + client "
        "| errors API / ES | load avg 1m |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in results.get("levels", []):
        api, es, over = level["api"], level["es"], level["overhead"]
        cpu = level.get("cpu_ms_per_request", {})
        cpu_api, cpu_es = cpu.get("api", {}), cpu.get("es", {})
        machine = level.get("machine", {})
        lines.append(
            f"| {level['concurrency']} "
            f"| {api['p50_ms']} / {api['p99_ms']} "
            f"| {es['p50_ms']} / {es['p99_ms']} "
            f"| {over['p50_ratio']} | {over['p99_ratio']} "
            f"| {over['p50_added_ms']} / {over['p99_added_ms']} "
            f"| {api['per_s']} / {es['per_s']} ({over['per_s_ratio']}) "
            f"| {cpu_api.get('search-api')} + {cpu_api.get('elasticsearch')} + "
            f"{cpu_api.get('load generator')} "
            f"| {cpu_es.get('elasticsearch')} + {cpu_es.get('load generator')} "
            f"| {api['errors']} / {es['errors']} "
            f"| {machine.get('loadavg_1m_mean')} (max {machine.get('loadavg_1m_max')}, "
            f"CPU busy {machine.get('cpu_busy_pct_mean')}%) |"
        )
    check = results.get("same_hits", {})
    differ = check.get("differ") or []
    relaxed = results.get("relaxed_queries") or []
    tail = (
        f"\nSame request on both sides: the API's hit ids equal Elasticsearch's for "
        f"{check.get('equal')}/{check.get('queries')} queries"
        f"{' (differ: ' + ', '.join(differ) + ')' if differ else ''}; "
        f"request parameters of the direct requests: {results.get('es_params')}; queries sent again "
        f"relaxed after finding nothing (by both sides): {', '.join(relaxed) if relaxed else 'none'}.\n"
    )
    return head + "\n".join(lines) + "\n" + tail


# -- the index -----------------------------------------------------------------------------------
def template_documents(corpus: list[CorpusArticle]) -> list[dict[str, Any]]:
    """Every corpus article's final index document, through the services' own ingest and enrich."""
    from bench.speed.run import _enriched_in_process
    from schemas.envelope import ArticleEnriched
    from schemas.search_index import document_from

    events = _enriched_in_process(corpus, "search-tpl")
    documents = []
    for event in events:
        enriched = ArticleEnriched.model_validate(event)
        documents.append(document_from(enriched.article, enriched.trace_id))
    return documents


@dataclass(frozen=True)
class LoadResult:
    documents: int
    distinct_articles: int
    enrich_seconds: float | None
    load_seconds: float | None
    load_per_s: float | None
    bulk: str
    size_mb: float
    segments: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_index(es_url: str, config: SearchBenchConfig, corpus_dir: Path) -> LoadResult:
    """The private index of ``config.documents`` documents, loaded now or reused when asked and present."""
    from elasticsearch import helpers

    es = es_tools.client(es_url, fast_json=True)
    bulk = f"parallel_bulk, {config.bulk_threads} threads, {config.bulk_chunk} per request, refresh off"
    try:
        if config.keep_index and es_tools.count(es, config.index) == config.documents:
            log.info("reusing index %s (%d documents)", config.index, config.documents)
            return _load_result(es, config, None, None, bulk, distinct=0)
        corpus = load_corpus(corpus_dir)
        started = time.monotonic()
        templates = template_documents(corpus)
        enrich_s = time.monotonic() - started
        log.info("%d corpus articles ingested and enriched in %.0f s", len(templates), enrich_s)
        es_tools.create_like_articles(es, config.index, "-1")
        actions = (
            {"_index": config.index, "_id": doc_id, "_source": source}
            for doc_id, source in replicated_documents(templates, config.documents)
        )
        started = time.monotonic()
        for ok, item in helpers.parallel_bulk(
            es,
            actions,
            thread_count=config.bulk_threads,
            queue_size=config.bulk_threads,
            chunk_size=config.bulk_chunk,
            raise_on_error=True,
        ):
            if not ok:
                raise RuntimeError(f"bulk item failed: {item}")
        # Back to the real index's refresh interval, then searchable.
        es_tools.set_refresh_interval(es, config.index, "1s")
        es.indices.refresh(index=config.index)
        load_s = time.monotonic() - started
        found = es_tools.count(es, config.index)
        if found != config.documents:
            raise RuntimeError(f"index {config.index} holds {found} documents, not {config.documents}")
        log.info("%d documents loaded in %.0f s", found, load_s)
        # Merges still running after the load would take CPU from the first level's searches.
        if not wait_until(lambda: _merges_running(es, config.index) == 0, 300, interval_s=1.0):
            log.warning("merges still running on %s after 300 s; measuring anyway", config.index)
        return _load_result(es, config, enrich_s, load_s, bulk, distinct=len(templates))
    finally:
        es.close()


def _merges_running(es: Any, index: str) -> int:
    stats = es.indices.stats(index=index, metric="merge")["_all"]["primaries"]
    return int(stats["merges"]["current"])


def _load_result(
    es: Any, config: SearchBenchConfig, enrich_s: float | None, load_s: float | None, bulk: str, distinct: int
) -> LoadResult:
    stats = es.indices.stats(index=config.index, metric="store,segments")["_all"]["primaries"]
    return LoadResult(
        documents=config.documents,
        distinct_articles=distinct,
        enrich_seconds=round(enrich_s, 1) if enrich_s is not None else None,
        load_seconds=round(load_s, 1) if load_s is not None else None,
        load_per_s=round(config.documents / load_s, 1) if load_s else None,
        bulk=bulk,
        size_mb=round(stats["store"]["size_in_bytes"] / 2**20, 1),
        segments=int(stats["segments"]["count"]),
    )


# -- the load ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """How one side is asked a query: the API by ``GET /search``, Elasticsearch by ``POST _search``."""

    side: str
    base_url: str
    es_index: str = ""
    es_params: tuple[tuple[str, str], ...] = ()
    page_size: int = 10

    async def send(self, client: httpx.AsyncClient, query: Query, bodies: Bodies) -> httpx.Response:
        """One search: the API's answer, or Elasticsearch's to the last of the query's bodies."""
        if self.side == "api":
            return await client.get("/search", params={"q": query.text, "size": str(self.page_size)})
        response: httpx.Response | None = None
        for body in bodies[query.query_id]:
            response = await self.post(client, body)
            if response.status_code != 200:
                break
        assert response is not None
        return response

    async def post(self, client: httpx.AsyncClient, body: bytes) -> httpx.Response:
        return await client.post(
            f"/{self.es_index}/_search",
            params=dict(self.es_params),
            content=body,
            headers={"content-type": "application/json"},
        )


async def es_bodies(es: Target, queries: Sequence[Query], page_size: int) -> Bodies:
    """Each query's ``_search`` bodies, serialized once (the API builds and serializes its own).

    Like the API, a query whose request finds nothing is followed by the relaxed request
    (:func:`~services.search.ranking.can_relax`); the index does not change, so which queries need it
    is found once, here.
    """
    bodies: Bodies = {}
    async with httpx.AsyncClient(base_url=es.base_url, timeout=60.0) as client:
        for query in queries:
            strict = orjson.dumps(build_query(query.text, size=page_size))
            bodies[query.query_id] = (strict,)
            if can_relax(query.text):
                response = await es.post(client, strict)
                response.raise_for_status()
                if response.json()["hits"]["total"]["value"] == 0:
                    relaxed = orjson.dumps(build_query(query.text, size=page_size, relaxed=True))
                    bodies[query.query_id] = (strict, relaxed)
    return bodies


async def run_block(
    client: httpx.AsyncClient,
    target: Target,
    queries: Sequence[Query],
    bodies: Bodies,
    requests: int,
    concurrency: int,
    first: int,
) -> tuple[list[float], int, float]:
    """``requests`` requests from ``concurrency`` clients, queries in turn from ``first``.

    Returns the latencies (seconds), the count of failed requests and the block's wall time.
    """
    latencies: list[float] = []
    errors = 0
    next_number = 0

    async def one_client() -> None:
        nonlocal next_number, errors
        while next_number < requests:
            query = queries[(first + next_number) % len(queries)]
            next_number += 1
            started = time.perf_counter()
            try:
                response = await target.send(client, query, bodies)
                ok = response.status_code == 200
            except httpx.HTTPError as exc:
                log.debug("%s request failed: %s", target.side, exc)
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


class CpuMeter:
    """CPU seconds of the API, Elasticsearch and this process, read between blocks."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {label: psutil.Process(pid) for label, pid in pids.items()}

    def read(self) -> dict[str, float]:
        seconds = {}
        for label, process in self.processes.items():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seconds[label] = float(times.user + times.system)
        own = psutil.Process().cpu_times()
        seconds["load generator"] = float(own.user + own.system)
        return seconds


def _clients(targets: dict[str, Target], concurrency: int) -> dict[str, httpx.AsyncClient]:
    """One keep-alive client per side, with as many connections as clients."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return {
        side: httpx.AsyncClient(base_url=target.base_url, limits=limits, timeout=httpx.Timeout(60.0))
        for side, target in targets.items()
    }


async def _warm(
    clients: dict[str, httpx.AsyncClient],
    targets: dict[str, Target],
    queries: Sequence[Query],
    bodies: Bodies,
    concurrency: int,
    passes: int,
) -> None:
    for _ in range(passes):
        for side, target in targets.items():
            await run_block(clients[side], target, queries, bodies, len(queries), concurrency, 0)


async def warm_up(
    targets: dict[str, Target],
    queries: Sequence[Query],
    bodies: Bodies,
    concurrency: int,
    passes: int,
) -> None:
    """Untimed passes over every query on both sides."""
    clients = _clients(targets, concurrency)
    try:
        await _warm(clients, targets, queries, bodies, concurrency, passes)
    finally:
        for client in clients.values():
            await client.aclose()


async def measure_level(
    targets: dict[str, Target],
    queries: Sequence[Query],
    bodies: Bodies,
    concurrency: int,
    config: SearchBenchConfig,
    meter: CpuMeter,
) -> dict[str, SideRun]:
    """One concurrency level: a warm-up of its connections, then both sides in alternating blocks."""
    clients = _clients(targets, concurrency)
    runs = {side: SideRun() for side in targets}
    try:
        await _warm(clients, targets, queries, bodies, concurrency, config.warm_up_passes)
        sizes = block_sizes(config.requests, config.blocks)
        sent = dict.fromkeys(targets, 0)
        for number, side in enumerate(block_order(config.blocks)):
            size = sizes[number // 2]
            before = meter.read()
            latencies, errors, wall = await run_block(
                clients[side], targets[side], queries, bodies, size, concurrency, sent[side]
            )
            after = meter.read()
            sent[side] += size
            run = runs[side]
            run.latencies_s.extend(latencies)
            run.errors += errors
            run.busy_s += wall
            run.add_cpu({label: after[label] - before[label] for label in after if label in before})
    finally:
        for client in clients.values():
            await client.aclose()
    return runs


async def same_hits(targets: dict[str, Target], queries: Sequence[Query], bodies: Bodies) -> dict[str, Any]:
    """Whether both sides answer each query with the same hits (the same request reached Elasticsearch)."""
    differ = []
    async with (
        httpx.AsyncClient(base_url=targets["api"].base_url, timeout=60.0) as api,
        httpx.AsyncClient(base_url=targets["es"].base_url, timeout=60.0) as es,
    ):
        for query in queries:
            from_api = await targets["api"].send(api, query, bodies)
            from_es = await targets["es"].send(es, query, bodies)
            if from_api.status_code != 200 or from_es.status_code != 200:
                differ.append(f"{query.query_id} (HTTP {from_api.status_code}/{from_es.status_code})")
            elif hit_ids_from_api(from_api.json()) != hit_ids_from_es(from_es.json()):
                differ.append(query.query_id)
    return {"queries": len(queries), "equal": len(queries) - len(differ), "differ": differ}


def cpu_ms_per_request(run: SideRun) -> dict[str, float]:
    requests = len(run.latencies_s) + run.errors
    return {label: round(1000 * s / requests, 2) for label, s in run.cpu_s.items()} if requests else {}


# -- the API process ------------------------------------------------------------------------------
def api_es_params(timeout_s: float | None = None) -> tuple[tuple[str, str], ...]:
    """Request parameters the API's ``_search`` carries, so the direct requests carry the same.

    The API passes its query timeout to Elasticsearch (``timeout``); any other difference would
    measure something else than the API layer.
    """
    from services.search.settings import Settings

    seconds = timeout_s if timeout_s is not None else Settings().query_timeout_s
    return (("timeout", f"{int(seconds * 1000)}ms"),)


def start_api(stack: BenchStack, config: SearchBenchConfig, logs_dir: Path) -> ChildProcess:
    env = {
        "NEWSWIRE_ES_URL": stack.es_url,
        "NEWSWIRE_SEARCH_HOST": "127.0.0.1",
        "NEWSWIRE_SEARCH_PORT": str(config.api_port),
        "NEWSWIRE_SEARCH_INDEX": config.index,
        "NEWSWIRE_SEARCH_LOG_LEVEL": "WARNING",
    }
    api = start_module("search-api", "services.search", env, logs_dir / "search-api.log")

    def ready() -> bool:
        if not api.alive():
            raise RuntimeError(f"the search API exited with {api.popen.returncode}; see {api.log_path}")
        try:
            return httpx.get(f"http://127.0.0.1:{config.api_port}/readyz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    if not wait_until(ready, 120, interval_s=0.5):
        api.stop()
        raise RuntimeError(f"the search API was not ready within 120 s; see {api.log_path}")
    return api


# -- the whole measurement ------------------------------------------------------------------------
def measure(
    stack: BenchStack,
    logs_dir: Path,
    config: SearchBenchConfig | None = None,
    corpus_dir: Path = DEFAULT_CORPUS,
    queries_path: Path = QUERIES_PATH,
) -> dict[str, Any]:
    """Build the index, start the API, measure every concurrency level; the results as JSON-ready data."""
    config = config or SearchBenchConfig()
    queries = load_queries(queries_path)
    loaded = build_index(stack.es_url, config, corpus_dir)
    es_pid = stack.pids().get("elasticsearch")
    api = start_api(stack, config, logs_dir)
    monitor = ResourceMonitor()
    try:
        params = api_es_params()
        targets = {
            "api": Target("api", f"http://127.0.0.1:{config.api_port}", page_size=config.page_size),
            "es": Target("es", stack.es_url, config.index, params, config.page_size),
        }
        bodies = asyncio.run(es_bodies(targets["es"], queries, config.page_size))
        relaxed = sorted(query_id for query_id, sent in bodies.items() if len(sent) > 1)
        pids = {"search-api": api.pid, **({"elasticsearch": es_pid} if es_pid else {})}
        meter = CpuMeter(pids)
        monitor.watch("search-api", api.pid)
        check = asyncio.run(same_hits(targets, queries, bodies))
        log.info("same hits on both sides for %d/%d queries", check["equal"], check["queries"])
        asyncio.run(warm_up(targets, queries, bodies, 4, config.first_warm_up_passes))
        levels = []
        for concurrency in config.concurrency:
            monitor.window()
            runs = asyncio.run(measure_level(targets, queries, bodies, concurrency, config, meter))
            summaries = {side: latency_summary(r.latencies_s, r.errors, r.busy_s) for side, r in runs.items()}
            level = {
                "concurrency": concurrency,
                **summaries,
                "overhead": overhead(summaries["api"], summaries["es"]),
                "cpu_ms_per_request": {side: cpu_ms_per_request(r) for side, r in runs.items()},
                "machine": monitor.load(),
            }
            log.info(
                "%d clients: API p50 %s p99 %s ms, ES p50 %s p99 %s ms, load %s",
                concurrency,
                summaries["api"]["p50_ms"],
                summaries["api"]["p99_ms"],
                summaries["es"]["p50_ms"],
                summaries["es"]["p99_ms"],
                level["machine"],
            )
            levels.append(level)
        api_peak_rss = monitor.overall_peak_rss.get("search-api", 0)
    finally:
        monitor.close()
        api.stop()
        if not config.keep_index:
            es = es_tools.client(stack.es_url)
            es_tools.delete_index(es, config.index)
            es.close()
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {**asdict(config), "concurrency": list(config.concurrency)},
        "index": loaded.as_dict(),
        "queries": {"source": _shown_path(queries_path), "count": len(queries)},
        "es_params": dict(params),
        "same_hits": check,
        "relaxed_queries": relaxed,
        "levels": levels,
        "api_peak_rss_mb": round(api_peak_rss / 2**20, 1),
        "machine": {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "stack": stack.versions,
        },
    }


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = SearchBenchConfig()
    parser = argparse.ArgumentParser(prog="python -m bench.speed.search_latency", description=__doc__)
    parser.add_argument("--documents", type=int, default=defaults.documents)
    parser.add_argument(
        "--concurrency", type=_ints, default=defaults.concurrency, help="comma-separated client counts"
    )
    parser.add_argument(
        "--requests", type=int, default=defaults.requests, help="timed requests per side and level"
    )
    parser.add_argument("--blocks", type=int, default=defaults.blocks, help="alternating blocks per side")
    parser.add_argument("--api-port", type=int, default=defaults.api_port)
    parser.add_argument(
        "--keep-index", action="store_true", help="keep the index (and reuse one of the same size)"
    )
    parser.add_argument("--keep-stack", action="store_true", help="leave the private stack running")
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="where run folders go")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--queries", type=Path, default=QUERIES_PATH)
    parser.add_argument("--report-only", type=Path, help="redo table.md of a results folder")
    return parser.parse_args(argv)


def write_report(out_dir: Path, results: dict[str, Any]) -> str:
    (out_dir / "search_latency.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    table = markdown(results)
    (out_dir / "search_latency.md").write_text(table)
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "elastic_transport", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.report_only:
        results = orjson.loads((args.report_only / "search_latency.json").read_bytes())
        sys.stdout.write(write_report(args.report_only, results))
        return 0
    if not args.keep_index:
        try:
            load_corpus(args.corpus)
        except CorpusMissing as exc:
            sys.stdout.write(f"search latency bench skipped: {exc}\n")
            return 0
    if not args.queries.is_file():
        sys.stdout.write(f"search latency bench skipped: no query set at {args.queries}\n")
        return 0
    config = SearchBenchConfig(
        documents=args.documents,
        concurrency=args.concurrency,
        requests=args.requests,
        blocks=args.blocks,
        api_port=args.api_port,
        keep_index=args.keep_index,
    )
    out_dir = args.results / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    stack = bring_up(bench_stack_settings(BenchPorts()))
    try:
        results = measure(stack, out_dir / "logs", config, args.corpus, args.queries)
    finally:
        if not args.keep_stack:
            stack.stop_started()
    table = write_report(out_dir, results)
    sys.stdout.write(f"\n{table}\nresults and table in {out_dir}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
