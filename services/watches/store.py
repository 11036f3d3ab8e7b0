"""The watches, stored in an Elasticsearch index (``newswire-watches``, one document per watch id).

Why an index and not a compacted Kafka topic: everything that uses watches (the alert service, the
CLI, the search API) already talks to Elasticsearch; get, list and remove are single requests,
where a topic would have to be read from its start into memory by every reader, every time; and a
watch is checked where it will run, against the archive's own mapping. What a topic would add
(the history of changes as events) no reader needs: an alert names the watch it came from.

A watch is validated when saved: the contract (:class:`~schemas.watches.Watch`) checks its fields,
then its search runs once against the archive (size 0): a search Elasticsearch refuses (a clause
limit, an unparsable date, a mapping it does not fit) is refused with Elasticsearch's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from elasticsearch import ApiError, BadRequestError, ConflictError, Elasticsearch, NotFoundError
from pydantic import ValidationError

from schemas.watches import Watch
from services.runtime.settings import index_replicas
from services.watches.matching import watch_request
from services.watches.settings import WatchStoreSettings

log = logging.getLogger(__name__)

#: Watches read per request when listing them all.
LIST_PAGE = 1_000
#: How long validating a watch's search may take on the archive.
VALIDATION_TIMEOUT = "10s"

#: The watches index: the fields a listing sorts or filters by are mapped, the search and the
#: webhook are kept as they are (``enabled: false``: stored, not indexed).
WATCHES_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "owner": {"type": "keyword"},
        "search": {"type": "object", "enabled": False},
        "webhook": {"type": "object", "enabled": False},
        "alert_on_revisions": {"type": "boolean"},
        "created_at": {"type": "date"},
    },
}


class WatchRefused(ValueError):
    """The watch cannot run: the reason is the message."""


class WatchExists(ValueError):
    """A watch with this id is already stored."""


def stored_document(watch: Watch) -> dict[str, Any]:
    """The watch as stored, the webhook secret included (a dump of the model hides it)."""
    document = watch.model_dump(mode="json")
    if watch.webhook is not None:
        document["webhook"]["secret"] = watch.webhook.secret.get_secret_value()
    return document


class WatchStore:
    """Add, get, list and remove watches; one synchronous Elasticsearch client."""

    def __init__(
        self, settings: WatchStoreSettings | None = None, client: Elasticsearch | None = None
    ) -> None:
        self.settings = settings or WatchStoreSettings()
        self.index = self.settings.index
        self._own_client = client is None
        self.es = client or Elasticsearch(**self.settings.elasticsearch_settings().client_kwargs())
        self._index_ready = False

    def close(self) -> None:
        if self._own_client:
            self.es.close()

    def __enter__(self) -> WatchStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ensure_index(self) -> None:
        """Create the watches index if it does not exist (one shard: a few thousand small documents)."""
        if self._index_ready:
            return
        try:
            self.es.indices.create(
                index=self.index,
                mappings=WATCHES_MAPPINGS,
                settings={"number_of_shards": 1, "number_of_replicas": index_replicas()},
            )
            log.info("created the watches index", extra={"index": self.index})
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        self._index_ready = True

    def validate(self, watch: Watch) -> None:
        """Raise :class:`WatchRefused` with Elasticsearch's reason if the watch's search cannot run."""
        body = watch_request(watch.search, size=1)
        body.pop("aggs", None)
        body.pop("highlight", None)
        body.update({"size": 0, "timeout": VALIDATION_TIMEOUT, "track_total_hits": False})
        try:
            # ignore_unavailable: before the first article is indexed there is no archive to check
            # against; the contract's checks still apply.
            self.es.search(index=self.settings.articles, body=body, ignore_unavailable=True)
        except BadRequestError as exc:
            raise WatchRefused(f"Elasticsearch cannot run this search: {_reason(exc)}") from exc
        except ApiError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise
            refusal = f"Elasticsearch refused this search ({exc.status_code}): {_reason(exc)}"
            raise WatchRefused(refusal) from exc

    def add(self, watch: Watch, replace: bool = False) -> Watch:
        """Validate and store ``watch``; raise :class:`WatchRefused`, or :class:`WatchExists` unless
        ``replace``. The watch is visible to :meth:`get` and :meth:`list` on return."""
        self.validate(watch)
        self.ensure_index()
        try:
            self.es.index(
                index=self.index,
                id=watch.id,
                document=stored_document(watch),
                op_type="index" if replace else "create",
                refresh="wait_for",
            )
        except ConflictError as exc:
            exists = f"a watch with id {watch.id!r} exists: remove it first or give another id"
            raise WatchExists(exists) from exc
        log.info("watch saved", extra={"watch_id": watch.id, "owner": watch.owner, "replaced": replace})
        return watch

    def get(self, watch_id: str) -> Watch | None:
        try:
            response = self.es.get(index=self.index, id=watch_id)
        except NotFoundError:
            return None
        return _watch_from(response["_source"])

    def list(self, owner: str | None = None) -> list[Watch]:
        """Every watch (of ``owner``, if given), by id."""
        return list(self.iter_watches(owner))

    def iter_watches(self, owner: str | None = None) -> Iterator[Watch]:
        """Every watch by id, a page at a time (search_after on the id: no result window limit)."""
        query: dict[str, Any] = {"term": {"owner": owner}} if owner is not None else {"match_all": {}}
        after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {"search_after": after} if after is not None else {}
            try:
                response = self.es.search(
                    index=self.index, query=query, sort=[{"id": "asc"}], size=LIST_PAGE, **extra
                )
            except NotFoundError:
                return
            hits = response["hits"]["hits"]
            for hit in hits:
                watch = _watch_from(hit["_source"])
                if watch is not None:
                    yield watch
            if len(hits) < LIST_PAGE:
                return
            after = hits[-1]["sort"]

    def remove(self, watch_id: str) -> bool:
        """Delete the watch; False if there was none. Alerts already sent stay sent."""
        try:
            self.es.delete(index=self.index, id=watch_id, refresh="wait_for")
        except NotFoundError:
            return False
        log.info("watch removed", extra={"watch_id": watch_id})
        return True


def _watch_from(source: dict[str, Any]) -> Watch | None:
    try:
        return Watch.model_validate(source)
    except ValidationError as exc:
        # Written by an older or newer contract: skipped and said, never a crash of every reader.
        log.error("unreadable watch skipped", extra={"watch_id": source.get("id"), "error": str(exc)})
        return None


def _reason(exc: ApiError) -> str:
    """Elasticsearch's own root cause, e.g. ``failed to parse date field [2024-13-45]``."""
    info: dict[str, Any] = exc.info if isinstance(exc.info, dict) else {}
    error: dict[str, Any] = info["error"] if isinstance(info.get("error"), dict) else {}
    causes = error.get("root_cause") or []
    if causes and isinstance(causes[0], dict) and causes[0].get("reason"):
        return str(causes[0]["reason"])
    failed = error.get("failed_shards") or []
    if failed and isinstance(failed[0], dict):
        return str((failed[0].get("reason") or {}).get("reason") or exc.message)
    return str(error.get("reason") or exc.message)
