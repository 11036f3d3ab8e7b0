"""``newswire stack up|down|status``: thin wrappers around ``services.stack`` (local Kafka and ES).

``status`` also lists the pipeline services ``make up`` runs under supervision (``services.stack.pipeline``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from services.cli.state import err, fail, out

app = typer.Typer(help="Run the local Kafka and Elasticsearch (no Docker).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the stack's status as JSON.")]
#: Same as ``python -m services.stack status``: scripts can tell "not healthy" from a crash.
EXIT_NOT_HEALTHY = 3

COMPONENT_COLUMNS = ("name", "state", "address", "pid", "version", "action", "startup_seconds")


def _component_state(component: dict[str, Any]) -> str:
    if component.get("healthy"):
        return "[green]healthy[/]"
    if component.get("running"):
        return "[yellow]running, not healthy[/]"
    return "[red]stopped[/]"


def components_of(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a status that describe a component (they have a ``name``)."""
    return [value for value in status.values() if isinstance(value, dict) and "name" in value]


def status_table(status: dict[str, Any]) -> Table:
    table = Table(
        *(column.removesuffix("_seconds") for column in COMPONENT_COLUMNS), box=None, pad_edge=False
    )
    for component in components_of(status):
        table.add_row(
            *(
                _component_state(component) if column == "state" else _cell(component.get(column))
                for column in COMPONENT_COLUMNS
            )
        )
    return table


SERVICE_COLUMNS = ("service", "state", "pid", "restarts", "last_exit", "last_error")


def pipeline_services(state_dir: Path) -> list[dict[str, Any]]:
    """The three services as their supervisors report them (``make up`` keeps them in ``state_dir``)."""
    from services.stack import pipeline

    return [
        {
            "service": proc.name,
            "state": proc.state if proc.supervised or not proc.running else "running (unsupervised)",
            "pid": proc.pid,
            "supervisor_pid": proc.supervisor_pid,
            "restarts": proc.restarts,
            "last_exit_code": proc.last_exit_code,
            "last_exit": proc.last_exit,
            "last_exit_at": proc.last_exit_at,
            "last_error": proc.last_error,
            "next_restart_at": proc.next_restart_at,
            "log_path": str(proc.log_path),
        }
        for proc in pipeline.status(state_dir, pipeline.ALL_SERVICES)
    ]


def services_table(services: list[dict[str, Any]]) -> Table:
    table = Table(*(column.replace("_", " ") for column in SERVICE_COLUMNS), box=None, pad_edge=False)
    styles = {"running": "green", "stopped": "dim", "restarting": "red"}
    for service in services:
        state = f"[{styles.get(service['state'], 'yellow')}]{escape(service['state'])}[/]"
        table.add_row(
            *(
                state if column == "state" else escape(_cell(service.get(column)))
                for column in SERVICE_COLUMNS
            )
        )
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _run(action: str, as_json: bool, with_services: bool = False) -> bool:
    """Run ``services.stack.<action>`` and print its status; return whether the stack is healthy.

    ``with_services`` adds the pipeline services' processes (``services`` in the JSON).
    """
    try:
        import services.stack as stack
    except ImportError as exc:
        raise fail(f"the stack manager (services.stack) cannot be loaded: {exc}") from exc

    _log_to_terminal()
    settings = stack.StackSettings()
    try:
        result = getattr(stack, action)(settings)
    except stack.StackError as exc:
        raise fail(str(exc), code=1) from exc
    status: dict[str, Any] = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)
    if with_services:
        # the services keep their pids and logs in the configured state dir (see quickstart)
        status["services"] = pipeline_services(settings.state_dir)
    if as_json:
        out.print_json(orjson.dumps(status).decode())
    else:
        if "state_dir" in status:
            out.print(f"[dim]state dir {status['state_dir']}[/]")
        out.print(status_table(status))
        for component in components_of(status):
            for field_name, label in (("log_path", "log"), ("detail", "detail")):
                if component.get(field_name):
                    value = escape(str(component[field_name]))
                    out.print(f"[dim]{component['name']} {label}:[/] {value}")
        timings = status.get("timings") or {}
        if timings:
            out.print("[dim]timings " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()) + "[/]")
        if with_services:
            out.print()
            out.print(services_table(status["services"]))
    return bool(status.get("healthy"))


def _log_to_terminal() -> None:
    """Starting the stack takes a while; its progress is logged, so show the log on stderr."""
    root = logging.getLogger()
    if not any(isinstance(handler, RichHandler) for handler in root.handlers):
        root.addHandler(RichHandler(console=err, show_path=False, markup=False))
    root.setLevel(logging.INFO)
    # kafka-python reports every refused connection while the broker starts.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)


@app.command()
def up(as_json: JsonOption = False) -> None:
    """Start Kafka and Elasticsearch (downloads them on first use); no-op for what already runs."""
    if not _run("up", as_json):
        raise typer.Exit(1)


@app.command()
def down(as_json: JsonOption = False) -> None:
    """Stop the Kafka and Elasticsearch started by `stack up`."""
    _run("down", as_json)


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Whether Kafka and Elasticsearch run and answer (exit code 3 when not), and the pipeline services."""
    if not _run("status", as_json, with_services=True):
        raise typer.Exit(EXIT_NOT_HEALTHY)
