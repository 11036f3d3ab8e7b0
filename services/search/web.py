"""The web page for people: a search page at ``/`` and an article view at ``/read/{id}``.

Server-rendered Jinja2 templates (autoescaped) over the same :class:`~services.search.archive.Archive`
the JSON API uses, so the page and the API always agree. Nothing is fetched from the internet: the
stylesheet is served from ``static/`` by this router.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Iterable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import pycountry
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import ValidationError

from services.search.archive import Archive, ArchiveUnavailable, SearchTimedOut
from services.search.models import FACET_PARAMS, Hit, SearchPage, SearchParams
from services.search.query import MAX_RESULT_WINDOW, PageOutOfRange

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)

#: Facet name (as in ``SearchPage.facets``) -> its heading, in the order the page lists them.
FACET_HEADINGS = {
    "people": "People",
    "organizations": "Organisations",
    "places": "Places",
    "countries": "Countries",
    "sections": "Sections",
    "sources": "Sources",
    "datelines": "Datelines",
    "months": "Months",
}
#: Parameters that may repeat: every value must hold (Xi Jinping AND Vladimir Putin).
REPEATABLE = ("person", "org", "place", "country")
#: Every parameter the page understands, in the order active filters are listed.
FILTER_LABELS = {
    "person": "Person",
    "org": "Organisation",
    "place": "Place",
    "country": "Country",
    "dateline": "Dateline",
    "dateline_country": "Dateline country",
    "section": "Section",
    "source": "Source",
    "language": "Language",
    "month": "Month",
    "since": "From",
    "until": "Until",
    "quote": "Quote words",
    "speaker": "Speaker",
    "include_duplicates": "Near-copies",
}
PARAMETERS = ("q", *FILTER_LABELS, "sort", "page", "size")
#: What a new query typed in the search box keeps: the filters (each listed as active, with a remove
#: link), the order and the page size.
KEPT_BY_NEW_QUERY = frozenset(
    {"person", "org", "place", "country", "section", "source", "language", "month", "sort", "size"}
)
#: Parameters set in the folded "Quotes, dates and options" part of the form (it opens when one is).
#: The dateline fields are there too but do not open it: a click on a dateline facet sets them, and
#: the active filter above the results already shows the city.
OPTIONS = frozenset({"quote", "speaker", "since", "until", "include_duplicates"})
#: Parameters whose values match in any letter case (``kz`` is ``KZ``, ``martinsville`` is ``Martinsville``),
#: so that a facet value is shown as chosen, and removed, whichever case the link had.
ANY_CASE = frozenset({"country", "dateline", "dateline_country"})
RELATED_SIZE = 5
#: Page links shown on either side of the current page.
PAGE_WINDOW = 3
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\.(css|js|svg|ico)$")
_ARTICLE_ID = re.compile(r"^[0-9a-f]{32}$")
_EMPHASIS = re.compile(r"<em>(.*?)</em>", re.DOTALL)

Pairs = list[tuple[str, str]]


# --------------------------------------------------------------------------------------------------
# Pure helpers (unit-testable): highlights, dates, countries, links.


def highlight(fragment: str | None) -> Markup:
    """An Elasticsearch highlight fragment as safe HTML: each ``<em>…</em>`` pair becomes ``<mark>``,
    everything else (including any markup inside the article's own text) is escaped."""
    if not fragment:
        return Markup("")
    parts: list[str] = []
    position = 0
    for match in _EMPHASIS.finditer(fragment):
        parts.append(escape(fragment[position : match.start()]))
        parts.append(Markup("<mark>") + escape(match.group(1)) + Markup("</mark>"))
        position = match.end()
    parts.append(escape(fragment[position:]))
    return Markup("").join(parts)


def as_datetime(value: Any) -> datetime | date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def nice_date(value: Any) -> str:
    """``3 July 2024`` (or the value as given when it is not a date)."""
    moment = as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    return f"{moment.day} {moment:%B %Y}"


def iso_date(value: Any) -> str:
    moment = as_datetime(value)
    return moment.isoformat() if moment is not None else ""


def nice_month(value: str) -> str:
    """``July 2024`` for the months facet's ``2024-07``."""
    try:
        return f"{date.fromisoformat(f'{value}-01'):%B %Y}"
    except ValueError:
        return value


#: Names ISO 3166 gives in a form newsreaders do not use ("Russian Federation", "Palestine, State of").
COUNTRY_NAMES = {"RU": "Russia", "PS": "Palestine", "CD": "DR Congo"}


@cache
def country_name(code: str) -> str:
    """``Kazakhstan`` for ``KZ``, the common name where ISO's differs (``Iran``, ``Russia``); the code
    itself when unknown."""
    if code.upper() in COUNTRY_NAMES:
        return COUNTRY_NAMES[code.upper()]
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def value_label(param: str, value: str) -> str:
    """How a filter value reads on the page."""
    if param in ("country", "dateline_country"):
        return country_name(value)
    if param == "month":
        return nice_month(value)
    if param == "include_duplicates":
        return "included" if value.lower() in ("1", "true", "on", "yes") else "left out"
    return value


def query_pairs(query: Iterable[tuple[str, str]]) -> Pairs:
    """The parameters the page knows, without empty values (an empty form field means "not set")."""
    pairs: Pairs = []
    for key, value in query:
        value = value.strip()
        if key in PARAMETERS and value and (key, value) not in pairs:
            pairs.append((key, value))
    return pairs


def link(pairs: Pairs, path: str = "/") -> str:
    return f"{path}?{urlencode(pairs)}" if pairs else path


def with_value(pairs: Pairs, key: str, value: str) -> str:
    """The search link that adds a filter (a repeatable one adds, any other replaces); back to page 1."""
    kept = [(k, v) for k, v in pairs if k != "page" and (k != key or key in REPEATABLE)]
    if (key, value) not in kept:
        kept.append((key, value))
    return link(kept)


def without_value(pairs: Pairs, key: str, value: str | None = None) -> str:
    """The search link without one filter value (or every value of ``key``); back to page 1."""
    return link([(k, v) for k, v in pairs if k != "page" and not (k == key and value in (None, v))])


def with_page(pairs: Pairs, page: int) -> str:
    kept = [(k, v) for k, v in pairs if k != "page"]
    return link([*kept, ("page", str(page))] if page > 1 else kept)


def params_data(pairs: Pairs) -> dict[str, Any]:
    """The input :class:`SearchParams` validates: repeatable parameters as lists, others single."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in REPEATABLE:
            data.setdefault(key, []).append(value)
        else:
            data[key] = value
    return data


def problems(error: ValidationError) -> list[str]:
    """One plain sentence per invalid parameter, naming it: ``since: Input should be a valid date``."""
    messages = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()) if not isinstance(part, int))
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        messages.append(f"{where}: {message}" if where else message)
    return messages


def page_numbers(page: int, last: int) -> list[int | None]:
    """Page links around ``page``, with the first and last always shown (``None`` is a gap)."""
    shown = sorted({1, last, *range(max(1, page - PAGE_WINDOW), min(last, page + PAGE_WINDOW) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def paragraphs_of(document: Mapping[str, Any]) -> list[str]:
    """The body's paragraphs (the index keeps the body as paragraphs joined by blank lines)."""
    if document.get("paragraphs"):
        return [str(paragraph) for paragraph in document["paragraphs"]]
    return [part.strip() for part in str(document.get("body") or "").split("\n\n") if part.strip()]


# --------------------------------------------------------------------------------------------------
# Rendering.


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        highlight=highlight,
        nice_date=nice_date,
        iso_date=iso_date,
        country_name=country_name,
        nice_month=nice_month,
    )
    return env


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


def error_page(status_code: int, title: str, message: str, details: Iterable[str] = ()) -> HTMLResponse:
    return render(
        "error.html", status_code=status_code, title=title, message=message, details=list(details), query=""
    )


def failure_page(error: Exception, what: str) -> HTMLResponse:
    """The page for a search or article the archive could not answer: Elasticsearch down (503), a
    search too slow (504), anything else (500, logged with its traceback). Never a stack trace."""
    if isinstance(error, ArchiveUnavailable):
        logger.warning("web: archive unavailable", extra={"what": what, "error": str(error)})
        return error_page(
            503,
            "Search is unavailable",
            "The archive did not answer. It may be starting or restarting: please try again in a minute.",
        )
    if isinstance(error, SearchTimedOut):
        logger.warning("web: search timed out", extra={"what": what})
        return error_page(504, "The search took too long", f"{str(error)[:1].upper()}{str(error)[1:]}.")
    logger.exception("web: unexpected failure", extra={"what": what})
    return error_page(500, "Something went wrong", "The page could not be built. The error has been logged.")


def not_found_page() -> HTMLResponse:
    return error_page(
        404,
        "Article not found",
        "There is no article with this address in the archive. It may have been removed, "
        "or the link may be incomplete.",
    )


def _archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


# --------------------------------------------------------------------------------------------------
# Routes.


@router.get("/", response_class=HTMLResponse)
async def search_page(request: Request) -> Response:
    """The search page: a search box, results with highlights, facets that filter, paging and sort.

    Without any parameter it lists the newest articles. Invalid parameters are named in a message
    above the (prefilled) form, with status 422.
    """
    pairs = query_pairs(request.query_params.multi_items())
    values = params_data(pairs)
    try:
        params = SearchParams.model_validate(values)
    except ValidationError as error:
        # The form does not carry the invalid values on: searching again must not repeat the error.
        invalid = {str(problem["loc"][0]) for problem in error.errors() if problem.get("loc")}
        kept = [(key, value) for key, value in pairs if key not in invalid]
        return search_response(kept, values, None, problems(error), status_code=422)
    try:
        page = await _archive(request).search(params)
    except PageOutOfRange as error:
        return search_response(pairs, values, None, [str(error)], status_code=422)
    except Exception as error:
        return failure_page(error, "search")
    return search_response(pairs, values, page, [])


def search_response(
    pairs: Pairs, values: dict[str, Any], page: SearchPage | None, messages: list[str], status_code: int = 200
) -> HTMLResponse:
    active = [
        {"label": label, "value": value_label(key, value), "remove": without_value(pairs, key, value)}
        for key, label in FILTER_LABELS.items()
        for k, value in pairs
        if k == key
    ]
    facets = []
    paging: dict[str, Any] | None = None
    if page is not None:
        for name, heading in FACET_HEADINGS.items():
            param = FACET_PARAMS[name]
            # The value as the link has it, by the facet value's form (its lower case where case is ignored).
            chosen = {_case_key(param, v): v for k, v in pairs if k == param}
            entries = []
            for bucket in page.facets.get(name) or []:
                value = str(bucket.value)
                given = chosen.get(_case_key(param, value))
                entries.append(
                    {
                        "label": value_label(param, value),
                        "count": bucket.count,
                        "active": given is not None,
                        "href": without_value(pairs, param, given)
                        if given is not None
                        else with_value(pairs, param, value),
                    }
                )
            if entries:
                facets.append({"name": name, "heading": heading, "entries": entries})
        last = max(1, math.ceil(min(page.total, MAX_RESULT_WINDOW) / page.size))
        paging = {
            "page": page.page,
            "last": last,
            "previous": with_page(pairs, page.page - 1) if page.page > 1 else None,
            "next": with_page(pairs, page.page + 1) if page.page < last else None,
            "numbers": [
                {"number": n, "href": with_page(pairs, n) if n is not None else None}
                for n in page_numbers(page.page, last)
            ],
            "first_shown": (page.page - 1) * page.size + 1 if page.hits else 0,
            "last_shown": (page.page - 1) * page.size + len(page.hits),
        }
    sort = values.get("sort", "relevance")
    sorts = [
        {"label": label, "active": sort == value, "href": with_value(pairs, "sort", value)}
        for value, label in (("relevance", "Relevance"), ("date", "Newest first"))
    ]
    return render(
        "search.html",
        status_code=status_code,
        query=values.get("q", ""),
        values=values,
        page=page,
        messages=messages,
        active=active,
        clear_all=link([(k, v) for k, v in pairs if k == "q"]),
        facets=facets,
        paging=paging,
        sorts=sorts,
        hidden=[(k, v) for k, v in pairs if k in KEPT_BY_NEW_QUERY],
        searched=bool(pairs),
        show_options=any(k in OPTIONS for k, _ in pairs),
    )


def _case_key(param: str, value: str) -> str:
    return value.lower() if param in ANY_CASE else value


@router.get("/read/{article_id}", response_class=HTMLResponse)
async def article_page(request: Request, article_id: str) -> Response:
    """One article: body, caption, entities, places, countries, quotes with their speakers, keywords,
    summary, near-duplicates and related articles."""
    if not _ARTICLE_ID.match(article_id):
        return not_found_page()
    archive = _archive(request)
    try:
        document = await archive.article(article_id)
    except Exception as error:
        return failure_page(error, "article")
    if document is None:
        return not_found_page()
    original_id = document.get("duplicate_of")
    (related, related_failed), (copies, copies_failed), (original, _) = await asyncio.gather(
        _optional(archive.related(article_id, RELATED_SIZE), "related"),
        _optional(_near_copies(archive, article_id), "near-copies"),
        _optional(archive.article(str(original_id)) if original_id else _nothing(), "original"),
    )
    entities = document.get("entities") or []
    return render(
        "article.html",
        query="",
        article=document,
        paragraphs=paragraphs_of(document),
        people=[entity for entity in entities if entity.get("type") == "PER"],
        organizations=[entity for entity in entities if entity.get("type") == "ORG"],
        places=places_of(document),
        countries=list(document.get("countries") or []),
        quotes=list(document.get("quotes") or []),
        keywords=list(document.get("keywords") or []),
        related=distinct(related or []),
        related_failed=related_failed,
        original=original,
        original_id=original_id,
        copies=copies or [],
        copies_failed=copies_failed,
    )


def distinct(hits: list[Hit]) -> list[Hit]:
    """Hits without repeats of the same headline from the same source (a story filed twice)."""
    seen: set[tuple[str | None, str | None]] = set()
    kept = []
    for hit in hits:
        if (hit.title, hit.source) not in seen:
            seen.add((hit.title, hit.source))
            kept.append(hit)
    return kept


def places_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Resolved places first (they know their countries), then place entities not among them."""
    places: list[dict[str, Any]] = []
    seen: set[str] = set()
    for place in document.get("places") or []:
        # "Astana, Kazakhstan" but not "Kazakhstan, Kazakhstan".
        codes = [] if place.get("kind") == "country" else place.get("country_codes") or []
        places.append({"name": place.get("name"), "countries": codes})
        seen.add(str(place.get("name")))
    for entity in document.get("entities") or []:
        if entity.get("type") == "LOC" and entity.get("name") not in seen:
            places.append({"name": entity.get("name"), "countries": []})
            seen.add(str(entity.get("name")))
    return places


async def _optional(awaitable: Awaitable[Any], what: str) -> tuple[Any, bool]:
    """A part of the article page the page can do without: ``(result, False)``, or ``(None, True)``
    (logged) when the archive could not answer it."""
    try:
        return await awaitable, False
    except Exception as error:
        logger.warning(
            "web: part of the article page unavailable", extra={"what": what, "error": repr(error)}
        )
        return None, True


async def _nothing() -> None:
    return None


async def _near_copies(archive: Archive, article_id: str) -> list[Hit]:
    return await archive.near_copies(article_id)


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """The page's stylesheet (served here: no CDN, the page works without the internet)."""
    path = STATIC_DIR / name
    if not _STATIC_NAME.match(name) or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})
