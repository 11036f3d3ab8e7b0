"""Writing a batch of enriched articles to Elasticsearch in bulk (a big batch as parallel requests).

Documents are indexed under the article id with the article's revision as an external version
(``external_gte``): a redelivered or replayed event rewrites the same document with the same
version, so retrying a batch is harmless, and an older revision arriving late is refused by
Elasticsearch (a version conflict, dropped as ``stale_revision``) instead of overwriting a newer one.

While a reprocess run builds a new index (``newswire reprocess``), the alias ``articles-next``
exists on it and every batch is written through it first, then through ``articles``: whichever
index the alias ``articles`` points at when the second write lands, the new index has the
document, so no live article is missing after the swap (services/reprocess/coordinator.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

import orjson
from elasticsearch import ApiError, TransportError

from schemas.dead_letter import FailureReason
from schemas.envelope import ArticleEnriched
from schemas.search_index import ALIAS, document_from
from services.runtime import metrics
from services.runtime.events import decode_event
from services.runtime.messages import (
    Dropped,
    Emitted,
    Message,
    Outcome,
    Rejected,
    TransientError,
)
from services.runtime.worker import RetryPolicy

log = logging.getLogger(__name__)

# Item errors that say "not now" rather than "never": the cluster is overloaded, a shard is
# moving, or the index is blocked or gone until an operator acts. Everything else 4xx is the
# document's fault.
_TRANSIENT_ERROR_TYPES = frozenset(
    {
        "es_rejected_execution_exception",
        "unavailable_shards_exception",
        "cluster_block_exception",
        "index_not_found_exception",
        "circuit_breaking_exception",
        "node_not_connected_exception",
        "no_shard_available_action_exception",
        "primary_missing_action_exception",
    }
)
# External versioning: Elasticsearch answers a write older than the stored revision with this
# conflict, which means "already superseded", not failure.
_STALE_WRITE_ERROR_TYPES = frozenset({"version_conflict_engine_exception"})
# A batch is split into parallel bulk requests only if each part keeps at least this many documents:
# with one shard, one request in flight keeps one Elasticsearch write thread busy, two keep both
# cores busy (bench/speed); tiny requests would only add overhead.
_MIN_DOCUMENTS_PER_PARALLEL_REQUEST = 100


class ElasticsearchBulk(Protocol):
    """The part of ``elasticsearch.Elasticsearch`` the handler uses."""

    def bulk(self, *, operations: bytes, refresh: bool, require_alias: bool) -> Any: ...


class ItemResult(Enum):
    INDEXED = "indexed"
    STALE = "stale"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


def classify_item(item: Mapping[str, Any]) -> ItemResult:
    """What one ``items[]`` entry of a bulk response means for its message."""
    result = next(iter(item.values()))
    status = int(result.get("status", 0))
    error = result.get("error")
    if 200 <= status < 300 and not error:
        return ItemResult.INDEXED
    error_type = error.get("type") if isinstance(error, Mapping) else None
    if error_type in _STALE_WRITE_ERROR_TYPES:
        return ItemResult.STALE
    if status == 429 or status >= 500 or error_type in _TRANSIENT_ERROR_TYPES:
        return ItemResult.TRANSIENT
    return ItemResult.PERMANENT


def describe_item_error(item: Mapping[str, Any]) -> str:
    """``"<type>: <reason>"`` of a failed item, with the root cause when Elasticsearch gives one."""
    result = next(iter(item.values()))
    error = result.get("error")
    if not isinstance(error, Mapping):
        return f"status {result.get('status')}: {error or 'no error detail'}"
    detail = f"{error.get('type')}: {error.get('reason')}"
    caused_by = error.get("caused_by")
    if isinstance(caused_by, Mapping):
        detail += f" (caused by {caused_by.get('type')}: {caused_by.get('reason')})"
    return detail


@dataclass(frozen=True)
class _Pending:
    """A document waiting to be written, and the position of the message it came from."""

    position: int
    article_id: str
    trace_id: str
    revision: int
    ingested_at: str | None
    #: The bulk item, action and source lines, serialized once when the batch is prepared.
    item: bytes

    @property
    def size_bytes(self) -> int:
        return len(self.item)

    def item_through(self, target: str) -> bytes:
        """The same bulk item writing through ``target`` instead (its source line reused)."""
        source = self.item[self.item.index(b"\n") + 1 :]
        return bulk_action(target, self.article_id, self.revision) + source


@dataclass(frozen=True)
class PreparedBatch:
    """A batch parsed and shaped into bulk items, not yet written (see :meth:`IndexHandler.prepare`)."""

    #: Outcomes already known from parsing (rejections, drops); None where the write decides.
    decided: tuple[Outcome | None, ...]
    pending: tuple[_Pending, ...]


class IndexHandler:
    """Turns a batch of ``articles.enriched`` messages into bulk writes.

    The work comes in two steps so that the worker can overlap them across batches:
    :meth:`prepare` is CPU only (parse, validate, shape, serialize) and :meth:`write` is the I/O
    (bulk requests, per-item retries). :meth:`process` does both, for one batch at a time.
    """

    def __init__(
        self,
        es: ElasticsearchBulk,
        *,
        alias: str = ALIAS,
        bulk_max_bytes: int = 10 * 1024 * 1024,
        item_retry_attempts: int = 3,
        item_retry: RetryPolicy | None = None,
        parallel_requests: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        next_alias: str | None = None,
        next_alias_exists: Callable[[], bool] | None = None,
        next_alias_check_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``next_alias``: also write every document through this alias while ``next_alias_exists()``,
        asked at most every ``next_alias_check_s`` seconds."""
        self.es = es
        self.alias = alias
        self.bulk_max_bytes = bulk_max_bytes
        self.item_retry_attempts = item_retry_attempts
        self.item_retry = item_retry or RetryPolicy(initial_s=0.2, max_s=5.0)
        self.parallel_requests = parallel_requests
        self._pool = ThreadPoolExecutor(parallel_requests, "bulk") if parallel_requests > 1 else None
        self.sleep = sleep
        self.clock = clock
        self.next_alias = next_alias
        self.next_alias_exists = next_alias_exists
        self.next_alias_check_s = next_alias_check_s
        self.monotonic = monotonic
        self._next_present = False
        self._next_checked_at: float | None = None

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        return self.write(self.prepare(messages))

    def prepare(self, messages: Sequence[Message]) -> PreparedBatch:
        """Parse each message and serialize its bulk item; decide what needs no Elasticsearch."""
        decided: list[Outcome | None] = [None] * len(messages)
        latest: dict[str, _Pending] = {}
        indexed_at = self.clock()
        for position, message in enumerate(messages):
            try:
                parsed = parse_event(message)
                if isinstance(parsed, Rejected):
                    decided[position] = parsed
                    continue
                pending = self._pending(position, parsed, indexed_at)
            except Exception as exc:
                # One odd message must not stall the partition: quarantine it like MessageHandler does.
                log.exception("could not prepare a message", extra={"offset": message.offset})
                decided[position] = Rejected(FailureReason.UNHANDLED_ERROR, f"{type(exc).__name__}: {exc}")
                continue
            current = latest.get(pending.article_id)
            if current is not None and current.revision > pending.revision:
                # An older revision behind a newer one in the same batch: Elasticsearch would refuse it.
                decided[position] = Dropped("stale_revision", pending.article_id)
                continue
            if current is not None:
                # Same revision or newer: the later event wins, as it would in Elasticsearch.
                decided[current.position] = Dropped("superseded_in_batch", pending.article_id)
            latest[pending.article_id] = pending
        return PreparedBatch(tuple(decided), tuple(latest.values()))

    def write(self, batch: PreparedBatch) -> Sequence[Outcome]:
        """Write a prepared batch; one outcome per message. Safe to call again after a TransientError."""
        outcomes = list(batch.decided)
        if self._next_alias_present():
            # First the index being built, then the live one: see the module's docstring.
            self._write(list(batch.pending), self.next_alias or "", optional=True)
        for pending, outcome in self._write(list(batch.pending), self.alias):
            outcomes[pending.position] = outcome
        missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if missing:
            raise RuntimeError(f"no outcome for messages at positions {missing}")
        done = [outcome for outcome in outcomes if outcome is not None]
        if done:
            log.info(
                "indexed batch",
                extra={
                    "messages": len(done),
                    "indexed": sum(isinstance(o, Emitted) for o in done),
                    "rejected": sum(isinstance(o, Rejected) for o in done),
                    "dropped": sum(isinstance(o, Dropped) for o in done),
                },
            )
        return done

    def _next_alias_present(self) -> bool:
        """Whether a new index is being built (asked at most every ``next_alias_check_s``)."""
        if not self.next_alias or self.next_alias_exists is None:
            return False
        now = self.monotonic()
        if self._next_checked_at is None or now - self._next_checked_at >= self.next_alias_check_s:
            try:
                self._next_present = bool(self.next_alias_exists())
            except Exception as exc:
                # Unknown: write to it; if it is missing, that costs one request and is tolerated.
                log.warning("could not look for the next alias", extra={"error": repr(exc)})
                self._next_present = True
            self._next_checked_at = now
        return self._next_present

    def _pending(self, position: int, event: ArticleEnriched, indexed_at: datetime) -> _Pending:
        article = event.article
        document = document_from(article, event.trace_id, indexed_at)
        ingested_at = document.get("ingested_at")
        return _Pending(
            position,
            article.id,
            event.trace_id,
            article.revision,
            ingested_at if isinstance(ingested_at, str) else None,
            bulk_action(self.alias, article.id, article.revision) + orjson.dumps(document) + b"\n",
        )

    def _write(
        self, pending: list[_Pending], target: str, *, optional: bool = False
    ) -> list[tuple[_Pending, Outcome]]:
        """Index ``pending`` through ``target``, retrying only the items that failed transiently; raise
        if they keep failing.

        ``optional`` (the next alias): a missing alias means the run swapped or ended meanwhile, so
        those items are done; a document the new index refuses is logged, the live write decides.
        """
        done: list[tuple[_Pending, Outcome]] = []
        attempt = 0
        while pending:
            retry: list[tuple[_Pending, str]] = []
            chunks = _chunks(pending, self.bulk_max_bytes, self._per_request(pending))
            for results in self._bulk_all(chunks, target):
                for entry, item in results:
                    result = classify_item(item)
                    if optional and result is not ItemResult.TRANSIENT:
                        if result is ItemResult.PERMANENT:
                            log.warning(
                                "the index being built refused a document",
                                extra={"article_id": entry.article_id, "error": describe_item_error(item)},
                            )
                        continue
                    if optional and _error_type(item) == "index_not_found_exception":
                        self._next_present = False
                        continue
                    if result is ItemResult.INDEXED:
                        done.append((entry, Emitted((), entry.article_id, entry.trace_id)))
                        metrics.record_indexed(entry.ingested_at)
                    elif result is ItemResult.STALE:
                        done.append((entry, Dropped("stale_revision", entry.article_id)))
                    elif result is ItemResult.PERMANENT:
                        rejection = Rejected(
                            FailureReason.ES_REJECTED,
                            describe_item_error(item),
                            entry.article_id,
                            entry.trace_id,
                        )
                        done.append((entry, rejection))
                    else:
                        retry.append((entry, describe_item_error(item)))
            if not retry:
                break
            attempt += 1
            if attempt > self.item_retry_attempts:
                raise TransientError(
                    f"{len(retry)} of the batch's documents still failing after {attempt} bulk attempts, "
                    f"e.g. {retry[0][1]}"
                )
            delay = self.item_retry.delay(attempt)
            log.warning(
                "retrying failed bulk items",
                extra={
                    "attempt": attempt,
                    "items": len(retry),
                    "delay_s": round(delay, 2),
                    "error": retry[0][1],
                },
            )
            self.sleep(delay)
            pending = [entry for entry, _ in retry]
        return done

    def _per_request(self, pending: list[_Pending]) -> int | None:
        """Documents per bulk request when the batch is big enough to split, else None (no limit)."""
        if len(pending) < self.parallel_requests * _MIN_DOCUMENTS_PER_PARALLEL_REQUEST:
            return None
        return -(-len(pending) // self.parallel_requests)

    def _bulk_all(
        self, chunks: list[list[_Pending]], target: str
    ) -> list[list[tuple[_Pending, Mapping[str, Any]]]]:
        """:meth:`_bulk` for every chunk, up to ``parallel_requests`` at a time; results in chunk order."""
        if self._pool is None or len(chunks) < 2:
            return [self._bulk(chunk, target) for chunk in chunks]
        return list(self._pool.map(lambda chunk: self._bulk(chunk, target), chunks))

    def _bulk(self, chunk: list[_Pending], target: str) -> list[tuple[_Pending, Mapping[str, Any]]]:
        """One bulk request through ``target``; each entry paired with its ``items[]`` result."""
        body = b"".join(entry.item if target == self.alias else entry.item_through(target) for entry in chunk)
        metrics.record_bulk(len(chunk), len(body))
        try:
            response = self.es.bulk(operations=body, refresh=False, require_alias=True)
        except ApiError as exc:
            if exc.status_code == 413 and len(chunk) > 1:
                # Too big as a whole: halve until each request fits, or a lone document is refused.
                middle = len(chunk) // 2
                return self._bulk(chunk[:middle], target) + self._bulk(chunk[middle:], target)
            if exc.status_code == 413:
                too_large = {
                    "index": {
                        "status": 413,
                        "error": {"type": "request_entity_too_large", "reason": str(exc)},
                    }
                }
                return [(chunk[0], too_large)]
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientError(f"bulk request failed: {exc}") from exc
            if exc.status_code != 400:
                raise  # credentials or permissions: no document's fault, and retrying will not help
            if len(chunk) > 1:
                # A refused request names no culprit: halve until the document at fault stands alone.
                middle = len(chunk) // 2
                return self._bulk(chunk[:middle], target) + self._bulk(chunk[middle:], target)
            refused = {"index": {"status": exc.status_code, "error": {"type": exc.error, "reason": str(exc)}}}
            return [(chunk[0], refused)]
        except TransportError as exc:
            raise TransientError(f"bulk request failed: {exc}") from exc
        items: list[Mapping[str, Any]] = response["items"]
        if len(items) != len(chunk):
            raise TransientError(f"bulk response has {len(items)} items for {len(chunk)} actions")
        return list(zip(chunk, items, strict=True))


def bulk_action(target: str, article_id: str, revision: int) -> bytes:
    """The action line indexing an article's revision through the alias ``target``."""
    # require_alias (on the request): if the alias is gone, fail the items instead of
    # auto-creating an index named like the alias with dynamic mappings. external_gte: the same
    # revision again is an idempotent rewrite, an older one a conflict.
    action = {
        "index": {"_index": target, "_id": article_id, "version": revision, "version_type": "external_gte"}
    }
    return orjson.dumps(action) + b"\n"


def _error_type(item: Mapping[str, Any]) -> str | None:
    error = next(iter(item.values())).get("error")
    return error.get("type") if isinstance(error, Mapping) else None


def parse_event(message: Message) -> ArticleEnriched | Rejected:
    """The message's event, or why it can never be indexed."""
    return decode_event(message, ArticleEnriched)


def _chunks(
    pending: list[_Pending], max_bytes: int, max_documents: int | None = None
) -> list[list[_Pending]]:
    """Consecutive runs of ``pending`` whose bulk bodies stay under ``max_bytes``; a bigger one goes alone.

    With ``max_documents``, a run also ends when it holds that many documents.
    """
    chunks: list[list[_Pending]] = []
    current: list[_Pending] = []
    size = 0
    for entry in pending:
        if current and (size + entry.size_bytes > max_bytes or len(current) == max_documents):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry.size_bytes
    if current:
        chunks.append(current)
    return chunks
