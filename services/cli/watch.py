"""``newswire watch add|list|show|remove|test``: saved searches that alert when a matching article arrives.

A watch looks for what ``newswire search`` with the same options finds (the options are the same
definitions); the alert service matches each newly indexed article against every watch. Watches live
in the Elasticsearch index ``NEWSWIRE_WATCHES_INDEX`` (``newswire-watches``), checked when saved: a
watch whose search cannot run is refused with the reason. A webhook's secret is never shown.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import orjson
import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from services.cli.search import SearchOptions, print_results, run_search, with_search_options
from services.cli.state import err, fail, out, state_of
from services.search.query import MAX_PAGE_SIZE

if TYPE_CHECKING:
    from schemas.watches import Watch, WatchSearch
    from services.watches.store import WatchStore

#: Exit code of a watch the store (or the contract) refuses, and of a watch that does not exist.
EXIT_REFUSED = 1

app = typer.Typer(
    help="Saved searches that alert when a matching article arrives (add, list, show, remove, test).",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WatchArgument = Annotated[str, typer.Argument(help="The watch's id or name.", show_default=False)]


@contextlib.contextmanager
def watch_store(ctx: typer.Context) -> Iterator[WatchStore]:
    """The store (``NEWSWIRE_WATCHES_*``, Elasticsearch from ``--es-url`` or ``NEWSWIRE_ES_*``); its
    Elasticsearch failures become one-line errors."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, Elasticsearch

    from services.runtime.settings import load_settings
    from services.watches.settings import WatchStoreSettings
    from services.watches.store import WatchStore

    state = state_of(ctx)
    settings = load_settings(WatchStoreSettings)
    if state.es_url:
        settings = settings.model_copy(update={"elasticsearch": state.elasticsearch()})
    es_settings = settings.elasticsearch_settings()
    url = es_settings.url
    # One retry, as `newswire search`: a person waits for the answer.
    client = Elasticsearch(**{**es_settings.client_kwargs(), "max_retries": 1})
    try:
        yield WatchStore(settings, client=client)
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise fail(f"Elasticsearch is not reachable at {url}: {exc.message}") from exc
    except ApiError as exc:
        raise fail(f"Elasticsearch refused the request ({exc.status_code}): {exc.message}") from exc
    finally:
        client.close()


def add(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="The watch's name, e.g. 'Xi Jinping quoted'.", show_default=False)
    ],
    what: SearchOptions,
    owner: Annotated[
        str,
        typer.Option(
            help="Who to ask about the watch (a label, e.g. a desk or a person).", show_default=False
        ),
    ],
    watch_id: Annotated[
        str | None,
        typer.Option("--id", help="The watch's id (default: the name as a slug).", show_default=False),
    ] = None,
    webhook: Annotated[
        str | None, typer.Option(help="Also POST each alert to this URL (signed with the secret).")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(help="The webhook's signing secret (16 characters or more).", show_default=False),
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option(
            help="Read the webhook's secret from this environment variable instead.", show_default=False
        ),
    ] = None,
    revisions: Annotated[
        bool,
        typer.Option("--revisions", help="Alert again when a revision of an alerted article still matches."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Save a watch: what it looks for (the options of `newswire search`), its owner and webhook."""
    from services.search.watch_models import NewWatch, ShownWatch
    from services.watches.store import WatchExists, WatchRefused

    search = what.params()  # the usage errors of `newswire search` for the same options
    signing_key = webhook_secret(webhook, secret, secret_env)
    fields = {
        "id": watch_id,
        "name": name,
        "owner": owner,
        "search": search.model_dump(include=set(search_fields()), exclude_defaults=True, mode="json"),
        "webhook": {"url": webhook, "secret": signing_key} if webhook else None,
        "alert_on_revisions": revisions,
    }
    try:
        watch = NewWatch.model_validate(fields).watch()
    except (ValidationError, ValueError) as exc:
        raise fail(f"watch refused: {refusal(exc)}", EXIT_REFUSED) from None
    with watch_store(ctx) as store:
        try:
            saved = store.add(watch)
        except (WatchRefused, WatchExists) as exc:
            raise fail(f"watch refused: {exc}", EXIT_REFUSED) from None
    if as_json:
        out.print_json(ShownWatch.of(saved).model_dump_json())
        return
    out.print(f"[green]saved[/] watch {escape(saved.id)!r}")
    print_watch(saved)


app.command("add")(with_search_options(add))


def webhook_secret(webhook: str | None, secret: str | None, secret_env: str | None) -> str | None:
    """The webhook's secret from ``--secret`` or ``--secret-env``: exactly one with ``--webhook``."""
    if webhook is None:
        if secret is not None or secret_env is not None:
            raise typer.BadParameter(
                "a secret signs a webhook's alerts: give --webhook too", param_hint="--secret"
            )
        return None
    if (secret is None) == (secret_env is None):
        raise typer.BadParameter(
            "give the webhook's secret: --secret or --secret-env (one)", param_hint="--webhook"
        )
    if secret_env is None:
        return secret
    value = os.environ.get(secret_env)
    if not value:
        raise typer.BadParameter(
            f"the environment variable {secret_env} is not set", param_hint="--secret-env"
        )
    return value


def search_fields() -> tuple[str, ...]:
    from schemas.watches import WatchSearch

    return tuple(WatchSearch.model_fields)


def refusal(exc: Exception) -> str:
    """The reason the contract refuses a watch: ``search.country.0: String should match ...``."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    reasons = []
    for problem in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in problem["loc"])
        reasons.append(
            f"{where}: {problem['msg'].removeprefix('Value error, ')}" if where else problem["msg"]
        )
    return "; ".join(reasons)


def summary(search: WatchSearch) -> str:
    """What a watch looks for in a line: ``"summit" · person Xi Jinping · quotes "friendship" by ...``."""
    parts = [f"“{search.q.strip()}”"] if search.q.strip() else []
    for label, values in (
        ("person", search.person),
        ("org", search.org),
        ("place", search.place),
        ("country", [code.upper() for code in search.country]),
    ):
        parts.extend(f"{label} {value}" for value in values)
    if search.quote or search.speaker:
        said = f"quotes “{search.quote}”" if search.quote else "quotes"
        parts.append(f"{said} by {search.speaker}" if search.speaker else said)
    for label, value in (
        ("filed in", search.dateline),
        ("filed in", search.dateline_country.upper() if search.dateline_country else None),
        ("section", search.section),
        ("source", search.source),
        ("language", search.language),
        ("since", search.since.isoformat() if search.since else None),
        ("until", search.until.isoformat() if search.until else None),
    ):
        if value:
            parts.append(f"{label} {value}")
    if search.include_duplicates:
        parts.append("near-copies too")
    return " · ".join(parts)


def webhook_host(watch: Watch) -> str:
    return (urlsplit(str(watch.webhook.url)).netloc or "?") if watch.webhook else ""


def print_watch(watch: Watch) -> None:
    """One watch, field by field (never the webhook's secret)."""
    rows = [
        ("id", watch.id),
        ("name", watch.name),
        ("owner", watch.owner),
        ("looks for", summary(watch.search)),
        ("webhook", str(watch.webhook.url) if watch.webhook else "none (articles.alerts only)"),
        (
            "revisions",
            "alert again on a matching revision" if watch.alert_on_revisions else "first match only",
        ),
        ("created", watch.created_at.isoformat(timespec="seconds")),
    ]
    for label, value in rows:
        out.print(Text.assemble((f"{label:>10}  ", "dim"), value))


def find(store: WatchStore, name_or_id: str) -> Watch:
    """The watch with this id, or whose name makes this id; a missing watch is an error."""
    from schemas.watches import watch_id_for

    watch = store.get(name_or_id)
    if watch is None:
        with contextlib.suppress(ValueError):
            watch = store.get(watch_id_for(name_or_id))
    if watch is None:
        raise fail(f"no watch {name_or_id!r} (newswire watch list shows them)", EXIT_REFUSED)
    return watch


@app.command("list")
def list_watches(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option(help="Only this owner's watches.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """The watches: name, owner, what each looks for, webhook host, when created."""
    from services.search.watch_models import ShownWatch

    with watch_store(ctx) as store:
        watches = store.list(owner=owner)
    if as_json:
        out.print_json(orjson.dumps([ShownWatch.of(w).model_dump(mode="json") for w in watches]).decode())
        return
    if not watches:
        out.print("no watches" + (f" of {escape(owner)!r}" if owner else ""))
        return
    table = Table("id", "name", "owner", "looks for", "webhook", "created", box=None, pad_edge=False)
    for watch in watches:
        table.add_row(
            watch.id,
            watch.name,
            watch.owner,
            summary(watch.search),
            webhook_host(watch) or "-",
            watch.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@app.command()
def show(ctx: typer.Context, watch: WatchArgument, as_json: JsonOption = False) -> None:
    """One watch: what it looks for, its owner and webhook (never the secret)."""
    from services.search.watch_models import ShownWatch

    with watch_store(ctx) as store:
        found = find(store, watch)
    if as_json:
        out.print_json(ShownWatch.of(found).model_dump_json())
        return
    print_watch(found)


@app.command()
def remove(
    ctx: typer.Context,
    watch: WatchArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a watch (alerts already sent stay sent)."""
    with watch_store(ctx) as store:
        found = find(store, watch)
        if not yes:
            typer.confirm(f"Remove the watch {found.id!r} ({found.name}, owner {found.owner})?", abort=True)
        if not store.remove(found.id):
            raise fail(f"no watch {found.id!r} (removed meanwhile?)", EXIT_REFUSED)
    err.print(f"removed watch {escape(found.id)!r}")


@app.command()
def test(
    ctx: typer.Context,
    watch: WatchArgument,
    size: Annotated[
        int, typer.Option("--size", "-n", help="How many articles to show.", min=1, max=MAX_PAGE_SIZE)
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    index: Annotated[
        str | None,
        typer.Option(
            help="Index or alias to search (default: the archive watches run on).", show_default=False
        ),
    ] = None,
) -> None:
    """What the watch would have matched in the archive, newest first (as `newswire search` shows it)."""
    from services.watches.matching import search_params_for

    with watch_store(ctx) as store:
        found = find(store, watch)
        archive = index or store.settings.articles
    params = search_params_for(found.search).model_copy(update={"size": size, "sort": "date"})
    # Strict, as the alert service matches: a watch does not fall back to any one of its words.
    response, relaxed = run_search(ctx, params, archive, relax=False)
    if not as_json:
        err.print(f"[dim]watch {escape(found.id)!r}: {escape(summary(found.search))}, newest first[/]")
    print_results(response, relaxed, params, as_json)
