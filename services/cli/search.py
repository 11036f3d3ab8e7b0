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
from services.cli.search_query import SearchFilters, build_query, parse_date
from services.cli.state import fail, out, state_of

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


def hit_summary(hit: dict[str, Any]) -> dict[str, Any]:
    """The fields ``--json`` prints for one hit (highlights keep their ``<em>`` tags)."""
    source = hit.get("_source") or {}
    return {
        "id": source.get("id") or hit.get("_id"),
        "score": hit.get("_score"),
        "title": source.get("title"),
        "section": source.get("section"),
        "source": source.get("source"),
        "url": source.get("url") or source.get("canonical_url"),
        "published_at": source.get("published_at"),
        "highlights": hit.get("highlight") or {},
    }


def _date_option(value: str | None, option: str) -> date | datetime | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (2024-07-03) or ISO timestamp", param_hint=option
        ) from None


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words or a phrase to look for.", show_default=False)],
    size: Annotated[int, typer.Option("--size", "-n", help="How many hits to show.", min=1, max=10_000)] = 10,
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    index: Annotated[
        str, typer.Option(help="Index or alias to search (e.g. a new index version before the alias moves).")
    ] = ALIAS,
) -> None:
    """Search the archive: best matches first, with highlighted snippets."""
    if not query.strip():
        raise typer.BadParameter("the query is empty", param_hint="QUERY")
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, Elasticsearch, NotFoundError

    filters = SearchFilters(
        section=section,
        source=source,
        language=language,
        since=_date_option(since, "--since"),
        until=_date_option(until, "--until"),
    )
    settings = state_of(ctx).elasticsearch()
    client = Elasticsearch(**{**settings.client_kwargs(), "max_retries": 1})
    try:
        response = client.search(index=index, body=build_query(query, filters, size=size))
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
    if as_json:
        out.print_json(orjson.dumps({"total": total, "hits": [hit_summary(hit) for hit in hits]}).decode())
        return
    if not hits:
        out.print(f"no articles match {escape(query)!r}")
        return
    shown = f"top {len(hits)} of {total}" if total > len(hits) else str(total)
    out.print(f"[dim]{shown} article{'s' if total != 1 else ''}[/]\n")
    for rank, hit in enumerate(hits, start=1):
        print_hit(rank, hit_summary(hit))


def print_hit(rank: int, hit: dict[str, Any]) -> None:
    highlights: dict[str, list[str]] = hit["highlights"]
    title = (
        highlighted(highlights["title"][0]) if highlights.get("title") else Text(hit["title"] or "(untitled)")
    )
    heading = Text.assemble((f"{rank:>2}. ", "bold cyan"), title, (f"  {hit['score']:.2f}", "dim"))
    out.print(heading)
    meta = " · ".join(
        str(value) for value in (hit["source"], hit["section"], (hit["published_at"] or "")[:10]) if value
    )
    out.print(Text(f"    {meta}" if meta else "    ", style="dim"), Text(f"  id {hit['id']}", style="dim"))
    if hit["url"]:
        out.print(Text(f"    {hit['url']}", style="blue"))
    for field_name in ("caption", "body"):
        for fragment in highlights.get(field_name, []):
            out.print(Text("    … ").append_text(highlighted(" ".join(fragment.split()))).append(" …"))
    out.print()
