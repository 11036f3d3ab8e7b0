"""Elasticsearch's side of alerting: is the batch searchable yet, which watches match it, what was sent.

Matching runs each watch's own search (:func:`services.watches.matching.batch_request`, the request
of ``newswire search``) restricted to the batch's article ids, many watches per ``_msearch`` request.
The percolator would turn this around (one request per article, matching stored queries), but its
module is not in the minimal Elasticsearch distribution the stack runs (modules are part of the
distribution, not plugins that ``elasticsearch-plugin install`` adds, unlike deploy/analysis-plugin),
and percolated queries could not use the search's highlighting of the article as indexed. The cost:
one search per watch per batch, each over at most ``max_batch`` ids, so the work per article falls
as batches fill and grows linearly with the number of watches (README: Watches and alerts).

The sent-alerts index holds one document per alert, ``_id`` = :func:`sent_id`; its ``status`` goes
``pending`` (matched, being delivered) -> ``delivered`` (Kafka acknowledged the alert), and
``webhook`` records that the webhook took it, so a batch read again after a crash delivers only
what had not been delivered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, BadRequestError, Elasticsearch

from schemas.watches import Watch, alert_key
from services.runtime.messages import TransientError
from services.runtime.settings import index_replicas
from services.watches.matching import batch_request
from services.watches.store import WatchStore

log = logging.getLogger(__name__)

PENDING = "pending"
DELIVERED = "delivered"

SENT_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "watch_id": {"type": "keyword"},
        "article_id": {"type": "keyword"},
        "revision": {"type": "long"},
        "event_id": {"type": "keyword"},
        "status": {"type": "keyword"},
        "webhook": {"type": "keyword"},
        "matched_at": {"type": "date"},
        "delivered_at": {"type": "date"},
    },
}


def sent_id(watch: Watch, article_id: str, revision: int) -> str:
    """The sent-alerts id: once per (watch, article), or per revision for a watch that asks for them."""
    key = alert_key(watch.id, article_id)
    return f"{key}:{revision}" if watch.alert_on_revisions else key


@dataclass(frozen=True)
class Match:
    """One watch matched one article: the watch and the search hit (highlights, quotes, revision)."""

    watch: Watch
    hit: dict[str, Any]

    @property
    def article_id(self) -> str:
        return str(self.hit["_id"])

    @property
    def revision(self) -> int:
        return int((self.hit.get("_source") or {}).get("revision") or 0)


def _unavailable(what: str, exc: Exception) -> TransientError:
    return TransientError(f"Elasticsearch unavailable while {what}: {exc}")


class AlertArchive:
    """The requests the alert service makes, through one synchronous client."""

    def __init__(
        self,
        es: Elasticsearch,
        alias: str,
        sent_index: str,
        searches_per_request: int = 200,
        index_wait_s: float = 60.0,
        index_poll_s: float = 0.25,
    ) -> None:
        self.es = es
        self.alias = alias
        self.sent_index = sent_index
        self.searches_per_request = searches_per_request
        self.index_wait_s = index_wait_s
        self.index_poll_s = index_poll_s

    def ensure_sent_index(self) -> None:
        try:
            self.es.indices.create(
                index=self.sent_index,
                mappings=SENT_MAPPINGS,
                settings={"number_of_shards": 1, "number_of_replicas": index_replicas()},
            )
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    def searchable(self, revisions: dict[str, int]) -> dict[str, int]:
        """The articles of ``revisions`` (id -> revision) the index has at that revision or a later
        one and that searches see now, with the revision stored."""
        try:
            response = self.es.search(
                index=self.alias,
                query={"ids": {"values": list(revisions)}},
                source_includes=["revision"],
                size=len(revisions),
                ignore_unavailable=True,
            )
        except (ApiError, TransportError) as exc:
            raise _unavailable("looking for the batch in the index", exc) from exc
        found: dict[str, int] = {}
        for hit in response["hits"]["hits"]:
            stored = int((hit.get("_source") or {}).get("revision") or 0)
            if stored >= revisions.get(hit["_id"], 0):
                found[hit["_id"]] = stored
        return found

    def wait_until_searchable(self, revisions: dict[str, int]) -> dict[str, int]:
        """Poll until every article is searchable or ``index_wait_s`` passed; what is searchable then.

        The index service writes the same topic's articles and Elasticsearch shows them to searches
        after its next refresh (a second, or the catch-up interval while the index is far behind):
        matching before that would miss them. Raises :class:`TransientError` when none is there by
        then (the index is behind or down: the worker retries the batch later).
        """
        deadline = time.monotonic() + self.index_wait_s
        pause = self.index_poll_s
        while True:
            found = self.searchable(revisions)
            if len(found) == len(revisions):
                return found
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            pause = min(2.0, pause * 2)
        if not found:
            raise TransientError(
                f"none of the batch's {len(revisions)} articles is searchable after "
                f"{self.index_wait_s:.0f}s: is the index service running and keeping up?"
            )
        log.warning(
            "articles not searchable in time, not matched",
            extra={"missing": sorted(set(revisions) - set(found))[:20], "waited_s": self.index_wait_s},
        )
        return found

    def match(self, watches: Sequence[Watch], article_ids: Sequence[str]) -> list[Match]:
        """Every (watch, article) of the batch the watch's search finds, with the hit.

        Two passes: every watch's search for the ids of its hits alone, then, for the watches that
        matched, the same search on just those articles with highlights and quotes. Most watches
        match nothing in a batch, and the ids alone cost a fifth of a full answer.

        A watch whose search fails (say, the mapping changed under it) is logged and skipped, so one
        bad watch does not stop the others; an unreachable cluster raises :class:`TransientError`.
        """
        if not watches or not article_ids:
            return []
        found = self._search(watches, lambda watch: batch_request(watch.search, article_ids, ids_only=True))
        hit_ids = {watch.id: [hit["_id"] for hit in hits] for watch, hits in found}
        matched = [watch for watch, hits in found if hits]
        detailed = self._search(matched, lambda watch: batch_request(watch.search, hit_ids[watch.id]))
        return [Match(watch, hit) for watch, hits in detailed for hit in hits]

    def _search(
        self, watches: Sequence[Watch], request: Callable[[Watch], dict[str, Any]]
    ) -> list[tuple[Watch, list[dict[str, Any]]]]:
        """Each watch with the hits of its ``request``, many watches per ``_msearch``."""
        results: list[tuple[Watch, list[dict[str, Any]]]] = []
        for start in range(0, len(watches), self.searches_per_request):
            chunk = watches[start : start + self.searches_per_request]
            searches: list[dict[str, Any]] = []
            for watch in chunk:
                searches.append({"index": self.alias})
                searches.append(request(watch))
            try:
                response = self.es.msearch(searches=searches)
            except (ApiError, TransportError) as exc:
                raise _unavailable("matching the watches", exc) from exc
            for watch, answer in zip(chunk, response["responses"], strict=True):
                if "error" in answer:
                    status = answer.get("status", 0)
                    if status == 429 or status >= 500:
                        raise TransientError(
                            f"Elasticsearch could not run watch {watch.id}: {answer['error']}"
                        )
                    log.error(
                        "a watch's search failed; skipped",
                        extra={"watch_id": watch.id, "error": str(answer["error"])[:500]},
                    )
                    continue
                results.append((watch, answer["hits"]["hits"]))
        return results

    def sent_records(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The sent-alerts documents of ``ids`` that exist."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        try:
            response = self.es.mget(index=self.sent_index, ids=wanted)
        except (ApiError, TransportError) as exc:
            raise _unavailable("reading the sent alerts", exc) from exc
        return {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}

    def record(self, documents: dict[str, dict[str, Any]], what: str) -> None:
        """Write (or update) sent-alerts documents by id, visible to the next read at once."""
        if not documents:
            return
        operations: list[dict[str, Any]] = []
        for doc_id, fields in documents.items():
            operations.append({"update": {"_index": self.sent_index, "_id": doc_id}})
            operations.append({"doc": fields, "doc_as_upsert": True})
        try:
            response = self.es.bulk(operations=operations, refresh="wait_for")
        except (ApiError, TransportError) as exc:
            raise _unavailable(f"recording alerts {what}", exc) from exc
        if response.get("errors"):
            failed = [item["update"] for item in response["items"] if item["update"].get("error")]
            raise TransientError(f"recording alerts {what} failed for {len(failed)}: {failed[0]['error']}")


class WatchCache:
    """Every watch, read again from the store when older than ``refresh_s``."""

    def __init__(self, store: WatchStore, refresh_s: float) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._watches: list[Watch] | None = None
        self._read_at = 0.0

    def current(self) -> list[Watch]:
        if self._watches is not None and time.monotonic() - self._read_at < self.refresh_s:
            return self._watches
        try:
            watches = list(self.store.iter_watches())
        except (ApiError, TransportError) as exc:
            if self._watches is None:
                raise _unavailable("reading the watches", exc) from exc
            log.warning("could not read the watches; using the last list", extra={"error": str(exc)})
            return self._watches
        if self._watches is None or len(watches) != len(self._watches):
            log.info("watches read", extra={"watches": len(watches)})
        self._watches, self._read_at = watches, time.monotonic()
        return watches


def now() -> datetime:
    return datetime.now(UTC)
