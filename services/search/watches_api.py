"""The watches API: ``/watches`` (list, create), ``/watches/{id}`` (read, delete), ``/watches/{id}/test``.

The watches are those of ``newswire watch`` (the store of :mod:`services.watches.store`, settings
``NEWSWIRE_WATCHES_*``), checked against the archive this service searches. A webhook's secret is
write-only: given with ``POST /watches``, never answered. The store's client is synchronous, so the
routes are plain functions (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, NotFoundError
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from schemas.watches import MAX_WATCH_ID_CHARS, WATCH_ID_PATTERN
from services.search.archive import Archive, ArchiveUnavailable, request_for
from services.search.models import SearchPage
from services.search.query import MAX_PAGE_SIZE
from services.search.results import page_from
from services.search.watch_models import NewWatch, ShownWatch
from services.watches.matching import search_params_for
from services.watches.settings import WatchStoreSettings
from services.watches.store import WatchExists, WatchRefused, WatchStore

router = APIRouter(tags=["watches"])

WatchIdPath = Annotated[
    str,
    Path(
        pattern=WATCH_ID_PATTERN,
        max_length=MAX_WATCH_ID_CHARS,
        description="The watch id (lower-case letters, digits, hyphens), as in a watch's ``id``.",
        examples=["xi-jinping-quoted"],
    ),
]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Elasticsearch is unreachable or overloaded."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No watch has this id."}}
_store_lock = threading.Lock()


def store_of(request: Request) -> WatchStore:
    """The service's :class:`WatchStore`, made on first use, checking watches against the archive this
    service searches (its ``NEWSWIRE_SEARCH_INDEX``)."""
    state = request.app.state
    with _store_lock:
        store: WatchStore | None = getattr(state, "watch_store", None)
        if store is None:
            archive: Archive = state.archive
            store = WatchStore(WatchStoreSettings(articles=archive.index))
            state.watch_store = store
    return store


@contextlib.contextmanager
def _elasticsearch_answers(store: WatchStore) -> Iterator[None]:
    """Elasticsearch out of reach or overloaded: a 503 (:class:`ArchiveUnavailable`), as for searches."""
    url = store.settings.elasticsearch_settings().url
    try:
        yield
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise ArchiveUnavailable(f"Elasticsearch is not reachable at {url}: {exc.message}") from exc
    except ApiError as exc:
        if exc.status_code in (429, 502, 503, 504):
            raise ArchiveUnavailable(
                f"Elasticsearch cannot answer now ({exc.status_code}): {exc.message}"
            ) from exc
        raise


def _problem(status: int, kind: str, where: list[str], message: str) -> JSONResponse:
    """An error in the shape of the service's 422s: ``{"detail": [{"type", "loc", "msg"}]}``."""
    return JSONResponse({"detail": [{"type": kind, "loc": where, "msg": message}]}, status_code=status)


@router.get(
    "/watches",
    response_model=list[ShownWatch],
    summary="List the watches",
    description="Every watch (of ``owner``, if given), by id; webhook secrets are never shown.",
    responses=UNAVAILABLE,
)
def list_watches(
    request: Request,
    owner: Annotated[str | None, Query(max_length=200, description="Only this owner's watches.")] = None,
) -> list[ShownWatch]:
    store = store_of(request)
    with _elasticsearch_answers(store):
        return [ShownWatch.of(watch) for watch in store.list(owner=owner)]


@router.post(
    "/watches",
    status_code=201,
    response_model=ShownWatch,
    summary="Save a watch",
    description=(
        "A saved search that alerts: ``search`` takes the parameters of ``GET /search`` (without paging "
        "and sort). The watch is refused (422, with the reason) when its fields are invalid or its search "
        "cannot run on the archive; 409 when a watch with its id exists. The webhook's secret is stored, "
        "never answered."
    ),
    responses={
        409: {"description": "A watch with this id exists."},
        422: {"description": "The watch cannot run; ``detail`` says why."},
        **UNAVAILABLE,
    },
)
def create_watch(request: Request, new: NewWatch) -> Any:
    store = store_of(request)
    try:
        watch = new.watch()
    except ValueError as exc:
        return _problem(422, "watch_refused", ["body", "name"], str(exc))
    with _elasticsearch_answers(store):
        try:
            saved = store.add(watch)
        except WatchExists as exc:
            return _problem(409, "watch_exists", ["body", "id"], str(exc))
        except WatchRefused as exc:
            return _problem(422, "watch_refused", ["body", "search"], str(exc))
    return ShownWatch.of(saved)


@router.get(
    "/watches/{watch_id}",
    response_model=ShownWatch,
    summary="One watch",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
def get_watch(request: Request, watch_id: WatchIdPath) -> Any:
    store = store_of(request)
    with _elasticsearch_answers(store):
        watch = store.get(watch_id)
    if watch is None:
        return JSONResponse({"detail": f"no watch has the id {watch_id!r}"}, status_code=404)
    return ShownWatch.of(watch)


@router.delete(
    "/watches/{watch_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a watch",
    description="Alerts already sent stay sent.",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
def delete_watch(request: Request, watch_id: WatchIdPath) -> Response:
    store = store_of(request)
    with _elasticsearch_answers(store):
        removed = store.remove(watch_id)
    if not removed:
        return JSONResponse({"detail": f"no watch has the id {watch_id!r}"}, status_code=404)
    return Response(status_code=204)


@router.get(
    "/watches/{watch_id}/test",
    response_model=SearchPage,
    summary="What a watch would have matched",
    description=(
        "The watch's search over the archive, newest first: the articles it would have alerted on had they "
        "arrived now (as the alert service matches: the words are never relaxed to any one of them)."
    ),
    responses={**NOT_FOUND, **UNAVAILABLE},
)
def watch_test(
    request: Request,
    watch_id: WatchIdPath,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="How many articles.")] = 10,
) -> Any:
    store = store_of(request)
    archive: Archive = request.app.state.archive
    with _elasticsearch_answers(store):
        watch = store.get(watch_id)
        if watch is None:
            return JSONResponse({"detail": f"no watch has the id {watch_id!r}"}, status_code=404)
        params = search_params_for(watch.search).model_copy(update={"size": size, "sort": "date"})
        body = {**request_for(params), "timeout": f"{int(archive.settings.query_timeout_s * 1000)}ms"}
        try:
            response = store.es.search(index=archive.index, body=body)
        except NotFoundError as exc:
            raise ArchiveUnavailable(
                f"{archive.index!r} does not exist: nothing has been indexed yet"
            ) from exc
    return page_from(dict(response), page=1, size=size)
