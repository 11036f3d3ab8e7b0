"""The JSON API: ``/search``, ``/articles/{id}``, ``/articles/{id}/related``, ``/watches`` (from
:mod:`services.search.watches_api`) and the health endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from services.search.archive import Archive
from services.search.models import Hit, SearchPage, SearchParams
from services.search.watches_api import router as watches_router

router = APIRouter()

#: The documented error answers (their body is ``{"detail": "why"}``).
ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"description": "Elasticsearch is unreachable, overloaded, or nothing has been indexed yet."},
    504: {"description": "The search took longer than the query timeout and was stopped."},
}
ARTICLE_ID_PATTERN = r"^[0-9a-f]{32}$"
ArticleIdPath = Annotated[
    str,
    Path(
        pattern=ARTICLE_ID_PATTERN,
        description="The article id (32 lowercase hex digits), as in a hit's ``id``.",
        examples=["0123456789abcdef0123456789abcdef"],
    ),
]
#: Most related articles one request may ask for.
MAX_RELATED = 20
#: An abridged stored document, for the OpenAPI description (schemas/search_index.py builds them).
ARTICLE_EXAMPLE: dict[str, Any] = {
    "id": "23b504e2d0be1053511819a769e181ad",
    "title": "Putin, Xi meet at Central Asian summit",
    "body": "Vladimir Putin and Xi Jinping met at the summit of the Shanghai Cooperation Organization ...",
    "caption": "Russia's President Vladimir Putin shakes hands with China's President Xi Jinping ...",
    "source": "Press TV",
    "section": "Russia",
    "url": "https://www.presstv.ir/Detail/2024/07/03/729348",
    "published_at": "2024-07-03T10:00:00Z",
    "language": "en",
    "entities": [{"name": "Xi Jinping", "type": "PERSON", "mentions": 4, "first_offset": 38}],
    "people": ["Vladimir Putin", "Xi Jinping"],
    "organizations": ["Shanghai Cooperation Organization"],
    "place_names": ["Astana"],
    "places": [{"name": "Astana", "kind": "city", "country_codes": ["KZ"]}],
    "countries": ["KZ", "CN", "RU"],
    "quotes": [{"text": "friendship for generations to come", "speaker": "Xi Jinping", "offset": 120}],
    "keywords": ["Shanghai Cooperation Organization", "summit"],
    "summary": "Putin and Xi met at a Central Asian summit in Kazakhstan.",
    "duplicate_of": None,
}


def archive_of(request: Request) -> Archive:
    """The service's :class:`Archive` (built at start-up), for route handlers: ``archive_of(request)``."""
    archive: Archive = request.app.state.archive
    return archive


@router.get(
    "/search",
    response_model=SearchPage,
    tags=["search"],
    summary="Search the archive",
    description=(
        "Best matches first (an exact phrase ranks first), with highlighted fragments, quotes matched by "
        "a quote search, and facets over all matching articles. Every filter narrows the results; "
        "repeatable ones (person, org, place, country) must all match. Without words, what matches the "
        "filters is listed newest first. Invalid parameters answer 422 naming the parameter."
    ),
    responses=ERRORS,
)
async def search(request: Request, params: Annotated[SearchParams, Query()]) -> SearchPage:
    return await archive_of(request).search(params)


@router.get(
    "/articles/{article_id}",
    tags=["articles"],
    summary="One article, whole",
    description=(
        "The article's stored document: title, body, caption, source, dates and the enrichment (entities, "
        "places, countries, quotes with speakers, keywords, summary, language, near-duplicate)."
    ),
    responses={
        200: {"content": {"application/json": {"example": ARTICLE_EXAMPLE}}},
        404: {"description": "No article has this id."},
        **ERRORS,
    },
)
async def article(request: Request, article_id: ArticleIdPath) -> dict[str, Any]:
    document = await archive_of(request).article(article_id)
    if document is None:
        raise ArticleNotFound(article_id)
    return document


@router.get(
    "/articles/{article_id}/related",
    response_model=list[Hit],
    tags=["articles"],
    summary="Articles like this one",
    description=(
        "More like this on title and body, best first; the article itself and near-copies of it are left out."
    ),
    responses={404: {"description": "No article has this id."}, **ERRORS},
)
async def related(
    request: Request,
    article_id: ArticleIdPath,
    size: Annotated[int, Query(ge=1, le=MAX_RELATED, description="How many related articles.")] = 5,
) -> list[Hit]:
    archive = archive_of(request)
    if await archive.article(article_id) is None:
        raise ArticleNotFound(article_id)
    return await archive.related(article_id, size=size)


@router.get(
    "/healthz",
    tags=["operations"],
    summary="Liveness",
    description=(
        "200 while the process serves requests (Elasticsearch being down is not a reason to restart it)."
    ),
    response_class=PlainTextResponse,
)
async def healthz() -> str:
    return "alive\n"


@router.get(
    "/readyz",
    tags=["operations"],
    summary="Readiness",
    description=(
        "200 when Elasticsearch answers and the archive's alias exists; 503 with the reason otherwise."
    ),
    response_class=PlainTextResponse,
    responses={503: {"description": "Not ready; the body says why."}},
)
async def readyz(request: Request) -> Response:
    ready, why = await archive_of(request).readiness()
    return PlainTextResponse(f"{why}\n", status_code=200 if ready else 503)


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    description="Requests by route and status, their latency, and the process's own metrics.",
    response_class=PlainTextResponse,
)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


router.include_router(watches_router)


class ArticleNotFound(Exception):
    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article has the id {article_id!r}")


def not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)
