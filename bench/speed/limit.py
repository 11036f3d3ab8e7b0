"""L, the limit: the final documents bulk-loaded straight into Elasticsearch, as fast as it goes.

The official client's bulk helpers (``streaming_bulk`` for one connection, ``parallel_bulk`` for
several) load the same documents the index service writes, into an index with the same settings
and mappings. A small grid over bulk size, parallel requests and refresh-during-load finds the best
configuration on a sample; the best ones then load every document, the fastest being L. There is
no start-up to leave out here (the client exists before the clock starts), so a trial's rate is
simply its documents over the time from the first request until all of them are searchable.
Whatever Kafka, the event parsing or the service loop add on top is what the index service loses
against L.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import helpers

from bench.speed import es_tools
from bench.speed.kafka_tools import Record
from schemas.envelope import ArticleEnriched
from schemas.search_index import document_from

log = logging.getLogger(__name__)

Document = tuple[str, dict[str, Any]]
#: Cumulative CPU seconds of the processes worth accounting for, by label.
CpuProbe = Callable[[], dict[str, float]]


def documents_from(records: Sequence[Record]) -> list[Document]:
    """``(id, source)`` of every ``articles.enriched`` record, exactly as the index service builds them."""
    documents = []
    for record in records:
        event = ArticleEnriched.model_validate_json(record.value)
        documents.append((event.article.id, document_from(event.article, event.trace_id)))
    return documents


@dataclass(frozen=True)
class Trial:
    chunk_size: int
    threads: int
    refresh_during_load: str  # "-1" (off, one refresh at the end) or an interval such as "1s"
    documents: int
    seconds_to_searchable: float
    per_s: float
    #: CPU milliseconds per document of each probed process over the load (empty without a probe).
    cpu_ms_per_doc: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_trial(
    es_url: str,
    documents: Sequence[Document],
    *,
    chunk_size: int,
    threads: int,
    refresh: str,
    index: str,
    cpu: CpuProbe | None = None,
) -> Trial:
    """Load ``documents`` into a fresh ``index``; time it until every one is searchable.

    With ``cpu``, the trial also reports what the load cost each probed process per document, so
    that L's own cost can be set beside the index service's (the grid's many small loads would blur it).
    """
    es = es_tools.client(es_url, fast_json=True)
    try:
        es_tools.create_like_articles(es, index, refresh)
        actions = _actions(documents, index)
        cpu_before = cpu() if cpu else {}
        started = time.monotonic()
        results = (
            helpers.streaming_bulk(es, actions, chunk_size=chunk_size, max_retries=3, raise_on_error=True)
            if threads == 1
            else helpers.parallel_bulk(
                es,
                actions,
                thread_count=threads,
                queue_size=threads,
                chunk_size=chunk_size,
                raise_on_error=True,
            )
        )
        for ok, item in results:
            if not ok:
                raise RuntimeError(f"bulk item failed: {item}")
        if refresh == "-1":
            es_tools.set_refresh_interval(es, index, "1s")
            es.indices.refresh(index=index)
        while es_tools.count(es, index) < len(documents):
            time.sleep(0.05)
        seconds = time.monotonic() - started
        cpu_after = cpu() if cpu else {}
        return Trial(
            chunk_size=chunk_size,
            threads=threads,
            refresh_during_load=refresh,
            documents=len(documents),
            seconds_to_searchable=round(seconds, 3),
            per_s=round(len(documents) / seconds, 1),
            cpu_ms_per_doc={
                label: round(1000 * (cpu_after[label] - cpu_before[label]) / len(documents), 3)
                for label in cpu_after
                if label in cpu_before
            },
        )
    finally:
        es_tools.delete_index(es, index)
        es.close()


def tune(
    es_url: str,
    documents: Sequence[Document],
    *,
    sample: int,
    chunk_sizes: Sequence[int],
    thread_counts: Sequence[int],
    refresh_intervals: Sequence[str],
    finalists: int = 2,
    cpu: CpuProbe | None = None,
) -> tuple[Trial, Trial, list[Trial], list[Trial]]:
    """Grid on a sample, then the best configurations on every document.

    The ``finalists`` best configurations of the grid, and the best one of each refresh setting,
    each load every document; L is the fastest of those full loads. One full load of the single
    best sample can come out low on a busy machine, and a low L flatters whatever is compared
    with it. Returns ``(L, best full load refreshing every 1 s, grid, full loads)``.
    """
    subset = documents[:sample]
    grid: list[Trial] = []
    for refresh in refresh_intervals:
        for chunk_size in chunk_sizes:
            for threads in thread_counts:
                trial = run_trial(
                    es_url,
                    subset,
                    chunk_size=chunk_size,
                    threads=threads,
                    refresh=refresh,
                    index="bench-limit",
                )
                log.info(
                    "L trial: chunk %d, %d thread(s), refresh %s: %.0f docs/s",
                    chunk_size,
                    threads,
                    refresh,
                    trial.per_s,
                )
                grid.append(trial)
    chosen = finalists_of(grid, finalists)
    full = [
        run_trial(
            es_url,
            documents,
            chunk_size=trial.chunk_size,
            threads=trial.threads,
            refresh=trial.refresh_during_load,
            index="bench-limit",
            cpu=cpu,
        )
        for trial in chosen
    ]
    for trial in full:
        log.info(
            "L full load: chunk %d, %d thread(s), refresh %s: %.0f docs/s",
            trial.chunk_size,
            trial.threads,
            trial.refresh_during_load,
            trial.per_s,
        )
    best = max(full, key=lambda trial: trial.per_s)
    full_refreshing = [trial for trial in full if trial.refresh_during_load == "1s"]
    best_refreshing = max(full_refreshing, key=lambda trial: trial.per_s) if full_refreshing else best
    return best, best_refreshing, grid, full


def finalists_of(grid: Sequence[Trial], finalists: int) -> list[Trial]:
    """The grid's ``finalists`` fastest configurations, plus the fastest of each refresh setting.

    A 3,000-document sample ranks refresh settings unreliably (one final refresh weighs more in a
    short load), so every setting gets a full load: L is never a refreshing load merely because the
    sample happened to rank one first.
    """
    ranked = sorted(grid, key=lambda trial: trial.per_s, reverse=True)
    chosen = ranked[:finalists]
    for refresh in dict.fromkeys(trial.refresh_during_load for trial in ranked):
        best = next(trial for trial in ranked if trial.refresh_during_load == refresh)
        if best not in chosen:
            chosen.append(best)
    return chosen


def _actions(documents: Sequence[Document], index: str) -> Iterator[dict[str, Any]]:
    for doc_id, source in documents:
        yield {"_index": index, "_id": doc_id, "_source": source}
