"""``newswire stack up|down|status|env``: thin wrappers around ``services.stack`` (local Kafka and ES).

``up --brokers 3 --es-nodes 3`` starts a cluster; ``status`` shows every node, the Kafka controller,
under-replicated partitions and the ES cluster's health, and also lists the pipeline services
``make up`` runs under supervision (``services.stack.pipeline``); ``env`` prints the environment
the services need to use the stack.
"""

from __future__ import annotations

import logging
import shlex
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
BrokersOption = Annotated[
    int | None,
    typer.Option(
        "--brokers", min=1, max=9, help="Kafka nodes (default: as recorded in the state dir, else 1)."
    ),
]
EsNodesOption = Annotated[
    int | None,
    typer.Option("--es-nodes", min=1, max=9, help="Elasticsearch nodes (default: as recorded, else 1)."),
]
SecureOption = Annotated[
    bool,
    typer.Option(
        "--secure",
        help="Secure mode: TLS, SCRAM and ACLs, ES users and API keys (secrets in <state>/secrets).",
    ),
]
#: Same as ``python -m services.stack status``: scripts can tell "not healthy" from a crash.
EXIT_NOT_HEALTHY = 3

COMPONENT_COLUMNS = ("node", "state", "address", "pid", "version", "action", "startup_seconds")


def _component_state(component: dict[str, Any]) -> str:
    if component.get("healthy"):
        return "[green]healthy[/]"
    if component.get("running"):
        return "[yellow]running, not healthy[/]"
    return "[red]stopped[/]"


def components_of(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of the status (``brokers`` and ``es_nodes``; else the entries that have a ``name``)."""
    nodes = [*(status.get("brokers") or []), *(status.get("es_nodes") or [])]
    if not nodes:
        nodes = [value for value in status.values() if isinstance(value, dict) and "name" in value]
    return nodes


def node_label(component: dict[str, Any]) -> str:
    """``kafka`` / ``elasticsearch`` for node 1, ``kafka-2`` ... for the others (as their files)."""
    node = component.get("node") or 1
    return str(component["name"]) if node == 1 else f"{component['name']}-{node}"


def cluster_lines(status: dict[str, Any]) -> list[str]:
    """The Kafka controller and under-replicated partitions, the ES cluster's health."""
    lines: list[str] = []
    kafka = status.get("kafka_cluster")
    if kafka:
        if kafka.get("cluster_id") is None:
            lines.append(f"kafka cluster: {escape(str(kafka.get('detail')))}")
        else:
            controller = kafka.get("controller")
            urp = kafka.get("under_replicated") or []
            lines.append(
                f"kafka cluster {kafka['cluster_id']}: brokers {kafka.get('brokers')}, "
                f"controller {controller if controller is not None else '[red]none[/]'}, "
                f"under-replicated partitions {'[yellow]' if urp else ''}{len(urp)}{'[/]' if urp else ''}, "
                f"offline partitions {kafka.get('offline_partitions', 0)}"
            )
            lines += [
                f"  {escape(p['topic'])}-{p['partition']}: leader {p['leader']}, "
                f"replicas {p['replicas']}, in sync {p['isr']}"
                for p in urp
            ]
    es = status.get("es_cluster")
    if es:
        if es.get("status") is None:
            lines.append(f"elasticsearch cluster: {escape(str(es.get('detail')))}")
        else:
            colour = {"green": "green", "yellow": "yellow"}.get(es["status"], "red")
            lines.append(
                f"elasticsearch cluster {escape(str(es.get('cluster_name')))}: [{colour}]{es['status']}[/], "
                f"nodes {es.get('number_of_nodes')} {escape(str(es.get('nodes')))}, "
                f"master {es.get('master')}, "
                f"unassigned shards {es.get('unassigned_shards')}"
            )
    return lines


def status_table(status: dict[str, Any]) -> Table:
    table = Table(
        *(column.removesuffix("_seconds") for column in COMPONENT_COLUMNS), box=None, pad_edge=False
    )
    for component in components_of(status):
        table.add_row(
            *(
                _component_state(component)
                if column == "state"
                else node_label(component)
                if column == "node"
                else _cell(component.get(column))
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


def _settings(brokers: int | None = None, es_nodes: int | None = None, secure: bool = False) -> Any:
    """StackSettings from the environment, with the topology options on top when given."""
    try:
        import services.stack as stack
    except ImportError as exc:
        raise fail(f"the stack manager (services.stack) cannot be loaded: {exc}") from exc
    overrides = {
        field: value
        for field, value in (("kafka_brokers", brokers), ("es_nodes", es_nodes), ("secure", secure or None))
        if value is not None
    }
    return stack.StackSettings(**overrides)  # type: ignore[arg-type]


def _run(
    action: str,
    as_json: bool,
    with_services: bool = False,
    brokers: int | None = None,
    es_nodes: int | None = None,
    secure: bool = False,
) -> bool:
    """Run ``services.stack.<action>`` and print its status; return whether the stack is healthy.

    ``with_services`` adds the pipeline services' processes (``services`` in the JSON).
    """
    settings = _settings(brokers, es_nodes, secure)
    import services.stack as stack

    _log_to_terminal()
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
                    out.print(f"[dim]{node_label(component)} {label}:[/] {value}")
        for line in cluster_lines(status):
            out.print(line)
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
def up(
    as_json: JsonOption = False,
    brokers: BrokersOption = None,
    es_nodes: EsNodesOption = None,
    secure: SecureOption = False,
) -> None:
    """Start Kafka and Elasticsearch (downloads them on first use); no-op for what already runs.

    ``--brokers 3 --es-nodes 3`` starts a cluster of three KRaft nodes and three ES nodes; ``--secure``
    with TLS and credentials (printed: where they are kept).
    """
    if not _run("up", as_json, brokers=brokers, es_nodes=es_nodes, secure=secure):
        raise typer.Exit(1)
    if secure and not as_json:
        from services.stack.secure_mode import credentials_file

        out.print(
            f"credentials: {credentials_file(_settings(brokers, es_nodes, secure))} (CA beside it: ca.crt)"
        )


@app.command()
def down(as_json: JsonOption = False) -> None:
    """Stop every Kafka and Elasticsearch node `stack up` started (the topology recorded in the state dir)."""
    _run("down", as_json)


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Every node, the Kafka controller, under-replicated partitions, ES cluster health (exit code 3 when
    not healthy), and the pipeline services."""
    if not _run("status", as_json, with_services=True):
        raise typer.Exit(EXIT_NOT_HEALTHY)


@app.command()
def env(
    as_json: JsonOption = False,
    process: Annotated[
        str, typer.Option("--process", help="Secure mode: whose credentials (operator, ingest, index, ...).")
    ] = "operator",
) -> None:
    """The environment the services and this CLI need to use the stack, as `export K=V` lines.

    Use it as ``eval "$(newswire stack env)"`` after ``newswire stack up --brokers 3 --es-nodes 3``.
    """
    from services.stack.manager import effective_settings

    variables = effective_settings(_settings(), prefer_recorded=True).client_env(process)
    if as_json:
        out.print_json(orjson.dumps(variables).decode())
        return
    for key, value in variables.items():
        # plain stdout: the lines are meant for eval, without rich's wrapping or markup
        typer.echo(f"export {key}={shlex.quote(value)}")
