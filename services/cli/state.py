"""What the global options decide, shared by every command, and the consoles commands write to."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape

from services.runtime.settings import ElasticsearchSettings, KafkaSettings

#: Results go to stdout (so ``--json`` output can be piped); progress, warnings and errors to stderr.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_UNAVAILABLE = 2


@dataclass(frozen=True)
class CliState:
    """Connection overrides from ``--bootstrap-servers`` / ``--es-url``; env settings fill in the rest."""

    bootstrap_servers: str | None = None
    es_url: str | None = None

    def kafka(self) -> KafkaSettings:
        if self.bootstrap_servers:
            return KafkaSettings(bootstrap_servers=self.bootstrap_servers)
        return KafkaSettings()

    def elasticsearch(self) -> ElasticsearchSettings:
        if self.es_url:
            return ElasticsearchSettings(url=self.es_url)
        return ElasticsearchSettings()


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    return state if isinstance(state, CliState) else CliState()


def fail(message: str, code: int = EXIT_UNAVAILABLE) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)
