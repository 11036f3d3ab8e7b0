"""The archive as the search service sees it: searches, articles and related articles from Elasticsearch.

Every search request comes from :mod:`services.search.query` (the CLI sends the same); this module
runs it with a time limit and turns Elasticsearch's failures into two errors the API can explain:
:class:`ArchiveUnavailable` (503) and :class:`SearchTimedOut` (504).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from services.search.models import Hit, SearchPage, SearchParams
from services.search.query import build_query, near_copies_query, related_query
from services.search.ranking import can_relax
from services.search.results import hit_from, page_from
from services.search.settings import Settings

log = logging.getLogger(__name__)


def request_for(params: SearchParams, relaxed: bool = False) -> dict[str, Any]:
    """The ``_search`` body for a page of :class:`SearchParams` (see :func:`build_query`)."""
    return build_query(
        params.q,
        params.filters(),
        size=params.size,
        quotes=params.quotes(),
        offset=params.offset(),
        sort=params.sort,
        relaxed=relaxed,
    )


class ArchiveUnavailable(Exception):
    """Elasticsearch is unreachable, overloaded, or the index does not exist (yet)."""


class SearchTimedOut(Exception):
    """The search did not finish within the query timeout."""


class Archive:
    """Reads the archive's alias through one ``AsyncElasticsearch`` client (connection pool)."""

    def __init__(self, settings: Settings, client: AsyncElasticsearch | None = None) -> None:
        self.settings = settings
        self.index = settings.index
        self.es_settings = settings.elasticsearch_settings()
        self.es = client or AsyncElasticsearch(
            **{
                **self.es_settings.client_kwargs(),
                "request_timeout": settings.client_request_timeout_s(),
                # A search is answered by one node or fails fast: a retry would double the wait.
                "max_retries": 0,
                "retry_on_timeout": False,
                "connections_per_node": settings.es_connections,
            }
        )
        self._query_timeout = f"{int(settings.query_timeout_s * 1000)}ms"

    async def search(self, params: SearchParams) -> SearchPage:
        """One page of results; raises ``PageOutOfRange`` (a ``ValueError``) for a page too deep."""
        response = await self._search(request_for(params), what="search")
        # Nothing had enough of the words: any one of them will do rather than an empty answer.
        relaxed = response["hits"]["total"]["value"] == 0 and can_relax(params.q)
        if relaxed:
            response = await self._search(request_for(params, relaxed=True), what="search")
        return page_from(response, params.page, params.size, relaxed=relaxed)

    async def article(self, article_id: str) -> dict[str, Any] | None:
        """The whole stored document of an article (as indexed, enrichment included), or None."""
        response = await self._search({"query": {"ids": {"values": [article_id]}}, "size": 1}, what="article")
        hits = response["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    async def related(self, article_id: str, size: int = 5) -> list[Hit]:
        """Articles like this one (more like this on title and body), best first; near-copies left out."""
        response = await self._search(related_query(article_id, self.index, size=size), what="related")
        return [hit_from(hit) for hit in response["hits"]["hits"]]

    async def near_copies(self, article_id: str, size: int = 10) -> list[Hit]:
        """Later articles that nearly copy this one (their ``duplicate_of`` is its id), earliest first."""
        response = await self._search(near_copies_query(article_id, size=size), what="near-copies")
        return [hit_from(hit) for hit in response["hits"]["hits"]]

    async def ready(self) -> bool:
        return (await self.readiness())[0]

    async def readiness(self) -> tuple[bool, str]:
        """Whether Elasticsearch answers and the alias exists, and if not, why."""
        try:
            exists = await self.es.options(request_timeout=5.0).indices.exists(index=self.index)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            return False, f"Elasticsearch is not reachable at {self.es_settings.url}: {exc.message}"
        except ApiError as exc:
            return False, f"Elasticsearch answered {exc.status_code}: {exc.message}"
        if not exists:
            return False, f"{self.index!r} does not exist on {self.es_settings.url} yet (nothing indexed)"
        return True, "ready"

    async def wait_until_reachable(self, timeout_s: float) -> bool:
        """Poll Elasticsearch (growing pauses, up to 5 s) until it answers or ``timeout_s`` ran out."""
        deadline = time.monotonic() + timeout_s
        pause = 0.5
        while True:
            try:
                # Any answer will do; a read-only key may not call cluster APIs (GET / needs monitor).
                await self.es.options(request_timeout=5.0).indices.exists(index=self.index)
                return True
            except ApiError as exc:
                if exc.status_code < 500:
                    log.error("Elasticsearch refuses the search service", extra={"error": str(exc)})
                    return True
                problem: Exception = exc
            except (TransportConnectionError, ConnectionTimeout) as exc:
                problem = exc
            if time.monotonic() + pause > deadline:
                log.error(
                    "Elasticsearch not reachable at start-up; serving anyway, /readyz says why",
                    extra={"url": self.es_settings.url, "error": str(problem), "waited_s": timeout_s},
                )
                return False
            log.info("waiting for Elasticsearch", extra={"url": self.es_settings.url, "error": str(problem)})
            await asyncio.sleep(pause)
            pause = min(5.0, pause * 2)

    async def close(self) -> None:
        await self.es.close()

    async def _search(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            # The timeout goes inside the body: beside ``body=`` the client takes it as a deprecated
            # mix of styles and inspects the call stack on every search (5 of 8 ms of CPU per request).
            response = await self.es.search(index=self.index, body={**body, "timeout": self._query_timeout})
        except ConnectionTimeout as exc:
            raise SearchTimedOut(self._timed_out_message()) from exc
        except TransportConnectionError as exc:
            raise ArchiveUnavailable(
                f"Elasticsearch is not reachable at {self.es_settings.url}: {exc.message}"
            ) from exc
        except NotFoundError as exc:
            raise ArchiveUnavailable(
                f"{self.index!r} does not exist on {self.es_settings.url}: nothing has been indexed yet"
            ) from exc
        except ApiError as exc:
            if exc.status_code in (429, 502, 503, 504):
                raise ArchiveUnavailable(
                    f"Elasticsearch cannot answer now ({exc.status_code}): {exc.message}"
                ) from exc
            raise
        result = dict(response.body)
        if result.get("timed_out"):
            log.warning("search timed out", extra={"what": what, "took_ms": result.get("took")})
            raise SearchTimedOut(self._timed_out_message())
        return result

    def _timed_out_message(self) -> str:
        return (
            f"the search took longer than {self.settings.query_timeout_s:g}s and was stopped; "
            "try fewer or more specific words, or a narrower filter"
        )
