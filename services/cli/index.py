"""``newswire index init``: the Elasticsearch index template, index and alias."""

from __future__ import annotations

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
