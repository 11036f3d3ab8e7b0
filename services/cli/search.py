"""``newswire search``: full-text search of the archive through the ``articles`` alias."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.text import Text

from schemas.search_index import ALIAS
from services.cli.state import fail, out, state_of
from services.search.models import SearchParams
from services.search.query import MAX_PAGE_SIZE, SORTS, QuoteQuery, facets_from
from services.search.ranking import can_relax
from services.search.results import hit_summary

_EMPHASIS = re.compile(r"<em>(.*?)</em>", re.DOTALL)
HIGHLIGHT_ORDER = ("title", "caption", "body")


def highlighted(fragment: str, style: str = "bold") -> Text:
    """A highlight fragment for the terminal: ``<em>`` marks become bold, everything else stays literal."""
    text = Text()
    position = 0
    for match in _EMPHASIS.finditer(fragment):
        text.append(fragment[position : match.start()])
        text.append(match.group(1), style=style)
        position = match.end()
    text.append(fragment[position:])
    return text


#: ``SearchParams`` field -> the option (or argument) that gives it, for error messages.
OPTION_OF_FIELD = {
    "q": "QUERY",
    "quote": "--quotes",
    "dateline_country": "--dateline-country",
    "include_duplicates": "--include-duplicates",
}


def _shared_search_options(
    query: Annotated[
        str | None, typer.Argument(help="Words or a phrase to look for.", show_default=False)
    ] = None,
    person: Annotated[
        list[str] | None, typer.Option(help="Only articles naming this person (repeat: all of them).")
    ] = None,
    org: Annotated[list[str] | None, typer.Option(help="Only articles naming this organisation.")] = None,
    place: Annotated[list[str] | None, typer.Option(help="Only articles naming this place.")] = None,
    country: Annotated[
        list[str] | None, typer.Option(help="Only articles about this country (ISO code, e.g. CN).")
    ] = None,
    dateline: Annotated[
        str | None, typer.Option(help="Only articles filed from this city (any case), e.g. Martinsville.")
    ] = None,
    dateline_country: Annotated[
        str | None, typer.Option(help="Only articles filed from this country (ISO code, e.g. US).")
    ] = None,
    section: Annotated[str | None, typer.Option(help="Only this section (exact value).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this publisher, e.g. 'Press TV'.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language code, e.g. 'en'.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Published on or after (2024-07-03 or an ISO timestamp)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Published on or before (a date includes that whole day)."),
    ] = None,
    quotes: Annotated[
        str | None, typer.Option("--quotes", help="Only articles quoting someone saying these words.")
    ] = None,
    speaker: Annotated[
        str | None, typer.Option(help="Only articles quoting this speaker, e.g. 'Xi Jinping'.")
    ] = None,
    include_duplicates: Annotated[
        bool, typer.Option("--include-duplicates", help="Also show near-copies of earlier articles.")
    ] = False,
) -> None:
    """The options saying what to look for, shared by ``newswire search`` and ``newswire watch add``
    (see :func:`with_search_options`); never called."""


class NothingToSearch(typer.BadParameter):
    """A usage error (exit 2) worded as a missing argument: with no filter either, words are needed."""

    def __init__(self) -> None:
        super().__init__("give words to look for, --quotes/--speaker or a filter", param_hint="'QUERY'")

    def format_message(self) -> str:
        return f"Missing argument 'QUERY': {self.message}."


@dataclass(frozen=True)
class SearchOptions:
    """What the search options said, as given (``None``: not given)."""

    query: str | None = None
    person: list[str] | None = None
    org: list[str] | None = None
    place: list[str] | None = None
    country: list[str] | None = None
    dateline: str | None = None
    dateline_country: str | None = None
    section: str | None = None
    source: str | None = None
    language: str | None = None
    since: str | None = None
    until: str | None = None
    quotes: str | None = None
    speaker: str | None = None
    include_duplicates: bool = False

    def params(self, **paging: Any) -> SearchParams:
        """The search as the API's :class:`SearchParams` (``paging``: ``size``, ``sort``), validated the
        same way; a value it refuses is a usage error naming the option. With neither words nor a
        quote condition nor a filter, there is nothing to search for (:class:`NothingToSearch`)."""
        values = {
            "q": self.query or "",
            "person": self.person or [],
            "org": self.org or [],
            "place": self.place or [],
            "country": self.country or [],
            "dateline": self.dateline,
            "dateline_country": self.dateline_country,
            "section": self.section,
            "source": self.source,
            "language": self.language,
            "since": self.since,
            "until": self.until,
            "quote": self.quotes,
            "speaker": self.speaker,
            "include_duplicates": self.include_duplicates,
            **paging,
        }
        try:
            params = SearchParams.model_validate(values)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = str(problem["loc"][0]) if problem["loc"] else "QUERY"
            option = OPTION_OF_FIELD.get(field, "--" + field.replace("_", "-"))
            given = values.get(field)
            if isinstance(given, list) and len(problem["loc"]) > 1:
                given = given[int(problem["loc"][1])]  # the one value of a repeated option at fault
            shown = f"{given!r}: " if isinstance(given, str) else ""
            raise typer.BadParameter(
                f"{shown}{problem['msg'].removeprefix('Value error, ')}", param_hint=option
            ) from None
        if not params.q.strip() and params.quotes() is None and params.filters().is_empty():
            if self.query is not None:
                raise typer.BadParameter("the query is empty", param_hint="QUERY")
            raise NothingToSearch()
        return params


_SEARCH_PARAMETERS = inspect.signature(_shared_search_options, eval_str=True).parameters


def with_search_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the search options of ``newswire search`` (the words, filters and quote
    conditions, defined once in :func:`_shared_search_options`); they reach it together as its
    ``what: SearchOptions`` parameter. The command's own parameters without a default (``ctx``, a
    ``NAME`` argument) come first, then the search options, then its other options."""
    own = inspect.signature(command, eval_str=True).parameters
    if "what" not in own:
        raise TypeError(f"{command.__name__} takes no 'what: SearchOptions' parameter")
    required = [p for name, p in own.items() if name != "what" and p.default is inspect.Parameter.empty]
    optional = [p for name, p in own.items() if name != "what" and p.default is not inspect.Parameter.empty]
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in (*required, *_SEARCH_PARAMETERS.values(), *optional)
    ]

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        searched = {name: values.pop(name) for name in _SEARCH_PARAMETERS}
        command(**values, what=SearchOptions(**searched))

    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


@with_search_options
def search(
    ctx: typer.Context,
    what: SearchOptions,
    size: Annotated[
        int, typer.Option("--size", "-n", help="How many hits to show.", min=1, max=MAX_PAGE_SIZE)
    ] = 10,
    sort: Annotated[
        str, typer.Option(help=f"Order: {' or '.join(SORTS)} (newest first).", show_default=True)
    ] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    index: Annotated[
        str, typer.Option(help="Index or alias to search (e.g. a new index version before the alias moves).")
    ] = ALIAS,
) -> None:
    """Search the archive: best matches first, with highlighted snippets, quotes and facets."""
    params = what.params(size=size, sort=sort)
    response, relaxed = run_search(ctx, params, index)
    print_results(response, relaxed, params, as_json)


def run_search(
    ctx: typer.Context, params: SearchParams, index: str, relax: bool = True
) -> tuple[dict[str, Any], bool]:
    """Elasticsearch's answer to the search (the API's request for the same parameters) and whether
    it was relaxed to any one of the words (only if ``relax``, when the words found nothing);
    Elasticsearch's failures are one-line errors."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, Elasticsearch, NotFoundError

    from services.search.archive import request_for

    settings = state_of(ctx).elasticsearch()
    client = Elasticsearch(**{**settings.client_kwargs(), "max_retries": 1})
    try:
        response = client.search(index=index, body=request_for(params))
        # Nothing had enough of the words: any one of them will do rather than an empty answer.
        relaxed = relax and response["hits"]["total"]["value"] == 0 and can_relax(params.q)
        if relaxed:
            response = client.search(index=index, body=request_for(params, relaxed=True))
    except NotFoundError as exc:
        raise fail(
            f"{index!r} does not exist on {settings.url}: nothing has been indexed yet "
            "(the index service or `newswire index init` creates it)"
        ) from exc
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise fail(f"Elasticsearch is not reachable at {settings.url}: {exc.message}") from exc
    except ApiError as exc:
        raise fail(f"Elasticsearch refused the search ({exc.status_code}): {exc.message}") from exc
    finally:
        client.close()
    return dict(response), relaxed


def print_results(response: dict[str, Any], relaxed: bool, params: SearchParams, as_json: bool) -> None:
    """The hits and facets of a search: ranked with snippets and quotes, or as JSON."""
    hits = response["hits"]["hits"]
    total = response["hits"]["total"]["value"]
    facets = facets_from(response.get("aggregations"))
    if as_json:
        output = {
            "total": total,
            "relaxed": relaxed,
            "hits": [hit_summary(hit) for hit in hits],
            "facets": facets,
        }
        out.print_json(orjson.dumps(output).decode())
        return
    if not hits:
        out.print(f"no articles match {escape(describe(params.q.strip(), params.quotes()))!r}")
        return
    if relaxed:
        out.print("[dim]no article has enough of these words; these have some of them[/]")
    shown = f"top {len(hits)} of {total}" if total > len(hits) else str(total)
    out.print(f"[dim]{shown} article{'s' if total != 1 else ''}[/]\n")
    for rank, hit in enumerate(hits, start=1):
        print_hit(rank, hit_summary(hit))
    print_facets(facets)


def describe(text: str, quotes: QuoteQuery | None) -> str:
    parts = [text] if text else []
    if quotes and quotes.text:
        parts.append(f"quotes {quotes.text}")
    if quotes and quotes.speaker:
        parts.append(f"said by {quotes.speaker}")
    return ", ".join(parts) or "these filters"


def print_facets(facets: dict[str, list[dict[str, Any]]]) -> None:
    lines = [
        Text.assemble((f"{name:>13}  ", "dim"), " · ".join(f"{b['value']} ({b['count']})" for b in buckets))
        for name, buckets in facets.items()
        if buckets
    ]
    if lines:
        out.print(Text("in these results", style="bold"))
        for line in lines:
            out.print(line)


def where_filed(dateline: dict[str, Any]) -> str:
    """``Martinsville, Virginia, US``: the dateline's city, region and country code, those it has."""
    return ", ".join(
        str(part) for part in (dateline["name"], dateline.get("region"), dateline.get("country")) if part
    )


def print_hit(rank: int, hit: dict[str, Any]) -> None:
    highlights: dict[str, list[str]] = hit["highlights"]
    title = (
        highlighted(highlights["title"][0]) if highlights.get("title") else Text(hit["title"] or "(untitled)")
    )
    # Sorted by date only, Elasticsearch gives no score.
    score = f"  {hit['score']:.2f}" if hit["score"] is not None else ""
    heading = Text.assemble((f"{rank:>2}. ", "bold cyan"), title, (score, "dim"))
    out.print(heading)
    filed = f"filed in {where_filed(hit['dateline'])}" if hit.get("dateline") else None
    meta = " · ".join(
        str(value)
        for value in (hit["source"], hit["section"], (hit["published_at"] or "")[:10], filed)
        if value
    )
    out.print(Text(f"    {meta}" if meta else "    ", style="dim"), Text(f"  id {hit['id']}", style="dim"))
    if hit["url"]:
        out.print(Text(f"    {hit['url']}", style="blue"))
    if hit.get("duplicate_of"):
        out.print(Text(f"    near-copy of {hit['duplicate_of']}", style="yellow"))
    for quote in hit.get("quotes") or []:
        line = Text("    “").append_text(highlighted(" ".join(quote["highlight"].split()))).append("”")
        out.print(line.append(f" — {quote['speaker'] or 'unattributed'}", style="italic"))
    fragments = [f for name in ("caption", "body") for f in highlights.get(name, [])]
    for fragment in fragments:
        out.print(Text("    … ").append_text(highlighted(" ".join(fragment.split()))).append(" …"))
    if not fragments and not hit.get("quotes") and hit.get("summary"):
        out.print(Text(f"    {hit['summary']}"))
    out.print()
