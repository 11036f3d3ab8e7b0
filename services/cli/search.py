"""``newswire search``: full-text search of the archive through the ``articles`` alias."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.text import Text

from schemas.search_index import ALIAS
from services.cli.state import fail, out, state_of
from services.search.query import (
    MAX_PAGE_SIZE,
    SORTS,
    QuoteQuery,
    SearchFilters,
    build_query,
    facets_from,
    parse_date,
)
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


def _date_option(value: str | None, option: str) -> date | datetime | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (2024-07-03) or ISO timestamp", param_hint=option
        ) from None


class NothingToSearch(typer.BadParameter):
    """A usage error (exit 2) worded as a missing argument: with no filter either, words are needed."""

    def __init__(self) -> None:
        super().__init__("give words to look for, --quotes/--speaker or a filter", param_hint="'QUERY'")

    def format_message(self) -> str:
        return f"Missing argument 'QUERY': {self.message}."


def search(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help="Words or a phrase to look for.", show_default=False)
    ] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", help="How many hits to show.", min=1, max=MAX_PAGE_SIZE)
    ] = 10,
    sort: Annotated[
        str, typer.Option(help=f"Order: {' or '.join(SORTS)} (newest first).", show_default=True)
    ] = "relevance",
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    index: Annotated[
        str, typer.Option(help="Index or alias to search (e.g. a new index version before the alias moves).")
    ] = ALIAS,
) -> None:
    """Search the archive: best matches first, with highlighted snippets, quotes and facets."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, Elasticsearch, NotFoundError

    filters = SearchFilters(
        section=section,
        source=source,
        language=language,
        since=_date_option(since, "--since"),
        until=_date_option(until, "--until"),
        people=tuple(person or ()),
        organizations=tuple(org or ()),
        places=tuple(place or ()),
        countries=tuple(country or ()),
        dateline=dateline,
        dateline_country=dateline_country,
        include_duplicates=include_duplicates,
    )
    quote_query = QuoteQuery(text=quotes, speaker=speaker) if (quotes or speaker) else None
    if sort not in SORTS:
        raise typer.BadParameter(f"{sort!r} is not one of {', '.join(SORTS)}", param_hint="--sort")
    text = (query or "").strip()
    if not text and quote_query is None and filters.is_empty():
        if query is not None:
            raise typer.BadParameter("the query is empty", param_hint="QUERY")
        raise NothingToSearch()
    settings = state_of(ctx).elasticsearch()
    client = Elasticsearch(**{**settings.client_kwargs(), "max_retries": 1})
    try:
        response = client.search(
            index=index, body=build_query(text, filters, size=size, quotes=quote_query, sort=sort)
        )
        # Nothing had enough of the words: any one of them will do rather than an empty answer.
        relaxed = response["hits"]["total"]["value"] == 0 and can_relax(text)
        if relaxed:
            body = build_query(text, filters, size=size, quotes=quote_query, sort=sort, relaxed=True)
            response = client.search(index=index, body=body)
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
        out.print(f"no articles match {escape(describe(text, quote_query))!r}")
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
