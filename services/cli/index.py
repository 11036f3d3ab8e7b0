"""``newswire index init`` (the Elasticsearch index template, index and alias) and ``index prune``."""

from __future__ import annotations

from typing import Annotated

import typer

from schemas.search_index import ALIAS, TEMPLATE_NAME
from services.cli.state import fail, out, state_of

app = typer.Typer(help="Manage the Elasticsearch index.", no_args_is_help=True)


@app.command()
def init(ctx: typer.Context) -> None:
    """Install the index template and create the index and its alias if missing (safe to repeat)."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, Elasticsearch

    from services.index.bootstrap import ensure_index

    settings = state_of(ctx).elasticsearch()
    client = Elasticsearch(**{**settings.client_kwargs(), "max_retries": 1})
    try:
        ensure_index(client)
        alias_targets = sorted(client.indices.get_alias(name=ALIAS))
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise fail(f"Elasticsearch is not reachable at {settings.url}: {exc.message}") from exc
    except (ApiError, RuntimeError) as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
    targets = ", ".join(alias_targets)
    out.print(f"template {TEMPLATE_NAME} installed on {settings.url}; alias {ALIAS} → {targets}")


@app.command()
def prune(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the index versions no alias points at (those a reprocess left behind)."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elasticsearch import ApiError, Elasticsearch

    from services.reprocess.coordinator import prunable_indexes
    from services.reprocess.settings import ReprocessSettings

    settings = ReprocessSettings()
    es_settings = state_of(ctx).elasticsearch()
    client = Elasticsearch(**es_settings.client_kwargs())
    try:
        unused = prunable_indexes(client, settings.index_prefix)
        if not unused:
            out.print(f"nothing to prune: every {settings.index_prefix}* index is behind an alias")
            return
        counts = {name: client.count(index=name)["count"] for name in unused}
        for name in unused:
            out.print(f"{name}: {counts[name]} documents, no alias")
        if not yes:
            typer.confirm(f"Delete {len(unused)} index(es)?", abort=True)
        for name in unused:
            client.indices.delete(index=name)
            out.print(f"deleted {name}")
    except TransportConnectionError as exc:
        raise fail(f"Elasticsearch is not reachable at {es_settings.url}: {exc.message}") from exc
    except ApiError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()
