"""The ``newswire`` command: global connection options and the sub-commands."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli import dlq, index, stack, topics, watch
from services.cli.publish import publish
from services.cli.reprocess import reprocess
from services.cli.search import search
from services.cli.state import CliState
from services.cli.status import status
from services.cli.stuck import skip, stuck
from services.cli.trace import trace

app = typer.Typer(
    name="newswire",
    help="Publish news articles to the pipeline and search the archive.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(publish)
app.command()(search)
app.command()(status)
app.command()(trace)
app.command()(stuck)
app.command()(skip)
app.command()(reprocess)
app.add_typer(topics.app, name="topics")
app.add_typer(stack.app, name="stack")
app.add_typer(index.app, name="index")
app.add_typer(dlq.app, name="dlq")
app.add_typer(watch.app, name="watch")


@app.callback()
def connections(
    ctx: typer.Context,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            help="Kafka host:port list (overrides NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS).", show_default=False
        ),
    ] = None,
    es_url: Annotated[
        str | None,
        typer.Option(help="Elasticsearch URL (overrides NEWSWIRE_ES_URL).", show_default=False),
    ] = None,
) -> None:
    """Publish news articles to the pipeline and search the archive."""
    ctx.obj = CliState(bootstrap_servers=bootstrap_servers, es_url=es_url)


def main() -> None:
    app(prog_name="newswire")
