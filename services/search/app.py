"""Wiring of the search service: settings -> Archive -> FastAPI app (API, web page, metrics) -> uvicorn."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from elasticsearch import ApiError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter, Histogram

from services.runtime.logging import configure_logging
from services.runtime.metrics import SERVICE_INFO
from services.runtime.settings import load_settings
from services.search.api import ArticleNotFound, not_found, router
from services.search.archive import Archive, ArchiveUnavailable, SearchTimedOut
from services.search.query import PageOutOfRange
from services.search.settings import Settings

SERVICE = "search"
log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HTTP_REQUESTS = Counter(
    "newswire_search_http_requests",
    "HTTP requests answered, by route template (unmatched paths: 'other'), method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "newswire_search_http_request_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["route", "status"],
    buckets=_LATENCY_BUCKETS,
)

DESCRIPTION = """\
Full-text search of the newswire archive: articles with their enrichment (people, organisations,
places, countries, quotes with speakers, keywords, summary, near-duplicates).

* `GET /search`: words, filters, quote search by words and speaker, paging, sort, facets, highlights.
* `GET /articles/{id}`: one article, whole; `GET /articles/{id}/related`: more like it.
* Errors: 422 names the invalid parameter; 503 when Elasticsearch cannot answer; 504 when a search
  took longer than the query timeout. The error body is `{"detail": ...}`.
"""


def create_app(settings: Settings, archive: Archive | None = None) -> FastAPI:
    """The service's app; its lifespan builds the :class:`Archive` (unless given) on ``app.state.archive``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = archive or Archive(settings)
        app.state.archive = current
        if settings.startup_timeout_s > 0:
            await current.wait_until_reachable(settings.startup_timeout_s)
        log.info(
            "search service up",
            extra={"index": settings.index, "address": f"http://{settings.host}:{settings.port}/"},
        )
        try:
            yield
        finally:
            await current.close()

    app = FastAPI(
        title="newswire search",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "search", "description": "Find articles."},
            {"name": "articles", "description": "Read one article and its neighbours."},
            {"name": "operations", "description": "Probes and metrics."},
        ],
    )
    app.middleware("http")(_RequestMetrics(settings.slow_request_log_s))
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        # Read-only and without cookies: other sites' pages may read results, nothing more.
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["GET"], allow_credentials=False
        )
    app.add_exception_handler(ArticleNotFound, not_found)
    app.add_exception_handler(ArchiveUnavailable, _unavailable)
    app.add_exception_handler(SearchTimedOut, _timed_out)
    app.add_exception_handler(PageOutOfRange, _page_out_of_range)
    app.add_exception_handler(ApiError, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.include_router(router)
    web = _web_router()
    if web is not None:
        app.include_router(web)
    return app


def _web_router() -> Any | None:
    """The web page's router (services/search/web.py), when that module exists."""
    if importlib.util.find_spec("services.search.web") is None:
        return None
    from services.search import web

    return getattr(web, "router", None)


class _RequestMetrics:
    """Counts and times every request by route template and status; logs the slow ones."""

    def __init__(self, slow_after_s: float) -> None:
        self.slow_after_s = slow_after_s

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            elapsed = time.perf_counter() - started
            # The template, not the path: one series per endpoint whatever the ids and words.
            route = getattr(request.scope.get("route"), "path", None) or "other"
            HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
            HTTP_SECONDS.labels(route, str(status)).observe(elapsed)
            if self.slow_after_s and elapsed > self.slow_after_s:
                log.warning(
                    "slow request",
                    extra={
                        "route": route,
                        "path": request.url.path,
                        "query": str(request.query_params)[:500],
                        "status": status,
                        "seconds": round(elapsed, 3),
                    },
                )


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("archive unavailable", extra={"path": request.url.path, "error": str(exc)})
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})


def _timed_out(request: Request, exc: Exception) -> JSONResponse:
    log.warning("search timed out", extra={"path": request.url.path, "query": str(request.query_params)})
    return JSONResponse({"detail": str(exc)}, status_code=504)


def _refused(request: Request, exc: Exception) -> JSONResponse:
    """Elasticsearch refused a request the service built: a bug here, said as such (not a bare 500)."""
    assert isinstance(exc, ApiError)
    log.error(
        "Elasticsearch refused a request",
        extra={"path": request.url.path, "query": str(request.query_params), "status": exc.status_code},
        exc_info=exc,
    )
    return JSONResponse(
        {"detail": f"Elasticsearch refused the request ({exc.status_code}): {exc.message}"}, status_code=502
    )


def _page_out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    # SearchParams refuses such pages first; this is the last line should the limits ever differ.
    field = "size" if str(exc).startswith("size") else "page"
    return JSONResponse(
        {"detail": [{"type": "value_error", "loc": ["query", field], "msg": str(exc)}]}, status_code=422
    )


def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    """422 with each problem's location (``["query", "page"]``) and message; inputs are not echoed."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"type": error.get("type"), "loc": list(error.get("loc", ())), "msg": error.get("msg")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": problems}, status_code=422)


def main() -> None:
    import uvicorn

    settings = load_settings(Settings)
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    SERVICE_INFO.info({"service": SERVICE})
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # our JSON logging, configured above
        access_log=False,  # requests are counted in /metrics; a line per request would drown the log
        timeout_graceful_shutdown=10,
    )
