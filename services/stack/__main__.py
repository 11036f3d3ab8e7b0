"""python -m services.stack up|down|status|env [--brokers N] [--es-nodes N] [--secure] [--process P] [-v]"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from .manager import down, effective_settings, status, up
from .models import ComponentStatus, EsClusterStatus, KafkaClusterStatus, StackStatus
from .process import StackError
from .settings import StackSettings


def _line(c: ComponentStatus) -> str:
    state = "healthy" if c.healthy else ("running, NOT healthy" if c.running else "stopped")
    parts = [f"{c.label:<17}{state:<22}{c.address}"]
    if c.pid:
        parts.append(f"pid {c.pid}")
    if c.version:
        parts.append(f"v{c.version}")
    if c.action not in ("none",):
        parts.append(c.action)
    if c.startup_seconds:
        parts.append(f"{c.startup_seconds:.1f}s")
    if c.running and not c.managed:
        parts.append("(not managed here)")
    line = "  ".join(parts)
    if c.log_path:
        line += f"\n{'':<17}log: {c.log_path}"
    if c.detail:
        line += f"\n{'':<17}{c.detail}"
    return line


def render_kafka_cluster(kc: KafkaClusterStatus) -> list[str]:
    if kc.detail and kc.cluster_id is None:
        return [f"{'kafka cluster':<17}{kc.detail}"]
    lines = [
        f"{'kafka cluster':<17}id {kc.cluster_id}  brokers {kc.brokers}  "
        f"controller {kc.controller if kc.controller is not None else 'none'}  "
        f"under-replicated partitions {kc.under_replicated_count}  offline partitions {kc.offline_partitions}"
    ]
    lines += [
        f"{'':<17}{p.topic}-{p.partition}: leader {p.leader}, replicas {p.replicas}, in sync {p.isr}"
        for p in kc.under_replicated
    ]
    if kc.detail:
        lines.append(f"{'':<17}{kc.detail}")
    return lines


def render_es_cluster(ec: EsClusterStatus) -> list[str]:
    if ec.status is None:
        return [f"{'es cluster':<17}{ec.detail}"]
    return [
        f"{'es cluster':<17}{ec.cluster_name} {ec.status}  nodes {ec.number_of_nodes} {ec.nodes}  "
        f"master {ec.master}  active shards {ec.active_shards}  unassigned shards {ec.unassigned_shards}"
    ]


def render(result: StackStatus) -> str:
    lines = [f"{'state dir':<17}{result.state_dir}", *(_line(c) for c in result.components)]
    if result.kafka_cluster is not None:
        lines += render_kafka_cluster(result.kafka_cluster)
    if result.es_cluster is not None:
        lines += render_es_cluster(result.es_cluster)
    if result.timings:
        lines.append(f"{'timings':<17}" + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    return "\n".join(lines)


def render_env(settings: StackSettings, process: str = "operator") -> str:
    """``export K=V`` lines of the environment the services need to use this stack (secure mode: as
    ``process``'s principal)."""
    env = settings.client_env(process)
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())


def settings_from(brokers: int | None, es_nodes: int | None, secure: bool = False) -> StackSettings:
    """StackSettings from the environment, with the topology options on top when given."""
    overrides: dict[str, int | bool] = {"secure": True} if secure else {}
    if brokers is not None:
        overrides["kafka_brokers"] = brokers
    if es_nodes is not None:
        overrides["es_nodes"] = es_nodes
    return StackSettings(**overrides)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--brokers", type=int, default=None, help="Kafka nodes (default 1, or as recorded)")
    parser.add_argument(
        "--es-nodes", type=int, default=None, help="Elasticsearch nodes (default 1, or as recorded)"
    )
    parser.add_argument(
        "--secure",
        action="store_true",
        help="secure mode: TLS, SCRAM/ACLs, ES users and API keys (secrets under <state>/secrets)",
    )
    parser.add_argument(
        "--process", default="operator", help="env in secure mode: whose credentials (ingest, index, ...)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("kafka").setLevel(logging.CRITICAL if not args.verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = settings_from(args.brokers, args.es_nodes, args.secure)
        if args.command == "env":
            env = render_env(effective_settings(settings, prefer_recorded=True), args.process)
            sys.stdout.write(env + "\n")
            return 0
        result = {"up": up, "down": down, "status": status}[args.command](settings)
    except StackError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write((result.model_dump_json(indent=2) if args.json else render(result)) + "\n")
    if args.command == "up":
        if result.healthy and settings.secure:
            from .secure_mode import credentials_file

            sys.stdout.write(f"{'credentials':<17}{credentials_file(settings)} (CA: <same dir>/ca.crt)\n")
        return 0 if result.healthy else 1
    if args.command == "status":
        return 0 if result.healthy else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
