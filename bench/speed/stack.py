"""The benchmark's own Kafka and Elasticsearch, on other ports and in another state directory.

Other engineers' tests use the shared stack on 9092/9200; running the benchmark there would
disturb them and their traffic would disturb the numbers, so ``make bench`` brings up a second,
private stack (``<repo>/.state/bench``, Kafka 29092/29093, Elasticsearch 29200/29300) and stops,
at the end, whatever of it that it started itself.
"""

from __future__ import annotations

import base64
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from services.stack import manager
from services.stack.paths import StackPaths, effective_state_dir
from services.stack.process import stop_pids
from services.stack.settings import REPO_ROOT, StackSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchPorts:
    kafka: int = 29092
    kafka_controller: int = 29093
    es: int = 29200
    es_transport: int = 29300


def bench_stack_settings(ports: BenchPorts, state_dir: Path | None = None) -> StackSettings:
    """Stack settings of the private benchmark stack (explicit values win over ``NEWSWIRE_STACK_*``)."""
    return StackSettings(
        state_dir=state_dir or REPO_ROOT / ".state" / "bench",
        # Never fall back to the shared stack's fallback directory: the two would share data dirs.
        fallback_state_dir=Path("/var/lib/newswire-bench"),
        kafka_port=ports.kafka,
        kafka_controller_port=ports.kafka_controller,
        es_port=ports.es,
        es_transport_port=ports.es_transport,
    )


def stack_env(ports: BenchPorts, state_dir: Path | None = None) -> dict[str, str]:
    """The ``NEWSWIRE_STACK_*`` variables naming the same stack (for ``python -m services.stack``)."""
    return {
        "NEWSWIRE_STACK_STATE_DIR": str(state_dir or REPO_ROOT / ".state" / "bench"),
        "NEWSWIRE_STACK_KAFKA_PORT": str(ports.kafka),
        "NEWSWIRE_STACK_KAFKA_CONTROLLER_PORT": str(ports.kafka_controller),
        "NEWSWIRE_STACK_ES_PORT": str(ports.es),
        "NEWSWIRE_STACK_ES_TRANSPORT_PORT": str(ports.es_transport),
    }


@dataclass
class BenchStack:
    """Handle on the private stack: its addresses and what this run started."""

    settings: StackSettings
    started: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.kafka_bootstrap

    @property
    def es_url(self) -> str:
        return self.settings.es_url

    def pids(self) -> dict[str, int]:
        """Pids of the stack's Kafka and Elasticsearch when this manager runs them (for CPU and memory)."""
        from services.stack.elasticsearch import Elasticsearch
        from services.stack.kafka import Kafka

        paths = StackPaths.for_settings(self.settings, effective_state_dir(self.settings))
        found = {
            "kafka": Kafka(self.settings, paths).managed_pid(),
            "elasticsearch": Elasticsearch(self.settings, paths).managed_pid(),
        }
        return {name: pid for name, pid in found.items() if pid is not None}

    def stop_started(self) -> dict[str, bool]:
        """Stop only the components this run started (a stack that was already up stays up)."""
        if not self.started:
            return {}
        log.info("stopping the benchmark stack components this run started: %s", sorted(self.started))
        return stop_pids(self.started, self.settings.stop_timeout)


def bring_up(settings: StackSettings) -> BenchStack:
    """Start the private stack unless it already runs (idempotent); remember what was started."""
    _ensure_safe_cluster_id(settings)
    status = manager.up(settings)
    stack = BenchStack(settings)
    for component in status.components:
        if component.version:
            stack.versions[component.name] = component.version
        if component.action == "started" and component.pid is not None:
            stack.started[component.name] = component.pid
    return stack


def _ensure_safe_cluster_id(settings: StackSettings) -> None:
    """Work around ids that start with '-': the storage tool reads them as an option and fails.

    ``services.stack`` draws a random KRaft cluster id and keeps it in ``kafka/cluster.id``; one in 64
    starts with '-', and ``kafka-storage format -t -abc...`` then stops with "expected one argument".
    Writing a safe id before the first ``up`` (or replacing an unused unsafe one) avoids it.
    """
    paths = StackPaths.for_settings(settings, effective_state_dir(settings))
    id_file = paths.kafka_cluster_id_file
    formatted = (paths.kafka_data / "meta.properties").is_file()
    current = id_file.read_text().strip() if id_file.is_file() else ""
    if formatted or (current and not current.startswith("-")):
        return
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            break
    id_file.parent.mkdir(parents=True, exist_ok=True)
    id_file.write_text(cluster_id + "\n")
