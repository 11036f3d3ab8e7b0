"""Kafka: KRaft nodes (each broker + controller) run from the Maven-staged jars, and their cluster's state."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import struct
import time

from . import secure_mode
from .config import kafka_server_properties, new_kafka_cluster_id, render_kafka_log4j, render_properties
from .models import ComponentStatus, KafkaClusterStatus, UnderReplicatedPartition
from .paths import StackPaths
from .process import StackError, managed_pid, pid_alive, port_open, run, spawn_detached, stop_one, tails
from .settings import StackSettings

log = logging.getLogger(__name__)

MAIN_CLASS = "kafka.Kafka"

_API_VERSIONS_REQUEST = (
    # ApiVersions v0 (api key 18), correlation id 1, client id "newswire-stack-probe": the one request
    # every broker answers before anything else, even while it starts up
    struct.pack(">hhih", 18, 0, 1, len(b"newswire-stack-probe")) + b"newswire-stack-probe"
)


def broker_answers(host: str, port: int, timeout: float = 3.0, tls: ssl.SSLContext | None = None) -> bool:
    """True if a Kafka process answers a request on ``host:port`` within ``timeout`` seconds.

    A frozen broker (SIGSTOP) still accepts connections (the kernel does that) but never replies;
    a client library pointed at it waits out its own, much longer, timeouts. ``tls``: the secure
    listener (ApiVersions is answered before SASL authentication).
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            sock = tls.wrap_socket(raw, server_hostname=host) if tls is not None else raw
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(_API_VERSIONS_REQUEST)) + _API_VERSIONS_REQUEST)
            header = b""
            while len(header) < 8:
                chunk = sock.recv(8 - len(header))
                if not chunk:
                    return False
                header += chunk
    except OSError:
        return False
    _size, correlation_id = struct.unpack(">ii", header)
    return correlation_id == 1


class Kafka:
    """KRaft node ``node`` (node.id = ``node``) of the stack; node 1 is the whole single-node stack."""

    def __init__(self, settings: StackSettings, paths: StackPaths, node: int = 1) -> None:
        self.settings = settings
        self.paths = paths
        self.node = node
        self.node_paths = paths.kafka_node(node)

    # -- state ---------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return "kafka" if self.node == 1 else f"kafka-{self.node}"

    @property
    def port(self) -> int:
        return self.settings.kafka_port_of(self.node)

    @property
    def address(self) -> str:
        return self.settings.kafka_address_of(self.node)

    def managed_pid(self) -> int | None:
        return managed_pid(self.node_paths.pidfile, MAIN_CLASS)

    def probe(self, timeout: float = 5.0) -> tuple[bool, str | None]:
        """(healthy, detail): this broker answers a metadata request and is registered in the cluster.

        A KRaft broker opens its client port only once it caught up with the metadata and was
        unfenced by the controller, so an answer from it means it serves.
        """
        if not port_open(self.settings.kafka_host, self.port):
            return False, "port closed"
        tls = secure_mode.tls_context(self.settings, self.paths)
        if not broker_answers(self.settings.kafka_host, self.port, min(timeout, 3.0), tls):
            return False, "the port accepts connections but nothing answers (a frozen or starting process)"
        try:
            from kafka.admin import KafkaAdminClient

            admin = KafkaAdminClient(
                **secure_mode.kafka_admin_config(self.settings, self.paths),
                bootstrap_servers=self.address,
                client_id="newswire-stack-probe",
                request_timeout_ms=int(timeout * 1000),
            )
        except Exception as exc:  # NoBrokersAvailable and friends while the broker starts up
            return False, f"{type(exc).__name__}: {exc}"
        try:
            cluster = admin.describe_cluster()
            brokers = sorted(b["broker_id"] for b in cluster.get("brokers", []))
            if self.node not in brokers:
                return False, f"node {self.node} not among the registered brokers {brokers}"
            return True, None
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            admin.close()

    def status(self) -> ComponentStatus:
        pid = self.managed_pid()
        running = port_open(self.settings.kafka_host, self.port)
        healthy, detail = self.probe() if running else (False, None)
        return ComponentStatus(
            name="kafka",
            node=self.node,
            address=self.address,
            running=running or pid is not None,
            healthy=healthy,
            managed=pid is not None,
            pid=pid,
            version=self.settings.kafka_version if pid is not None else None,
            log_path=self.node_paths.log if pid is not None else None,
            detail=detail,
        )

    def stop(self, timeout: float | None = None) -> bool | None:
        """SIGTERM this node (clean shutdown), SIGKILL it after ``timeout`` (default: the stop timeout).

        Returns True if it stopped in time, False if it was killed, None if it was not running.
        """
        return stop_one(
            self.label, self.managed_pid(), self.settings.stop_timeout if timeout is None else timeout
        )

    # -- start ---------------------------------------------------------------------------------
    def write_config(self) -> None:
        self.node_paths.dir.mkdir(parents=True, exist_ok=True)
        self.node_paths.logs.mkdir(parents=True, exist_ok=True)
        props = kafka_server_properties(self.settings, self.paths, self.node)
        if self.settings.secure:
            material = secure_mode.ensure_material(self.settings, self.paths)
            props.update(secure_mode.kafka_node_properties(self.settings, material, self.node))
        header = "Generated by services.stack (python -m services.stack up); edits are overwritten."
        self.node_paths.config.write_text(render_properties(props, header))
        self.node_paths.log4j.write_text(render_kafka_log4j(self.paths, self.node))

    def classpath(self) -> str:
        return f"{self.paths.kafka_libs}/*"

    def java_command(self, main: str, *args: str, heap: str | None = None) -> list[str]:
        cmd = [str(self.settings.kafka_java)]
        if heap:
            cmd += [f"-Xms{heap}", f"-Xmx{heap}"]
        cmd += [
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration={self.node_paths.log4j.as_uri()}",
            f"-Dkafka.logs.dir={self.node_paths.logs}",
            "-cp",
            self.classpath(),
            main,
            *args,
        ]
        return cmd

    def cluster_id(self) -> str:
        """The state dir's KRaft cluster id, drawn once: every node is formatted with it.

        Nodes start concurrently: the first to get here creates the file (O_EXCL), the others read it.
        """
        path = self.paths.kafka_cluster_id_file
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as fh:
                fh.write(new_kafka_cluster_id() + "\n")
        for _ in range(50):  # another thread may be between creating and writing the file
            cid = path.read_text().strip()
            if cid:
                return cid
            time.sleep(0.1)
        raise StackError(f"{path} is empty: remove it (and the Kafka data dirs) to draw a new cluster id")

    def ensure_formatted(self) -> bool:
        """Format the KRaft storage once (meta.properties marks a formatted log dir)."""
        if (self.node_paths.data / "meta.properties").is_file():
            return False
        self.node_paths.data.mkdir(parents=True, exist_ok=True)
        cid = self.cluster_id()
        log.info("formatting Kafka storage %s (cluster id %s)", self.node_paths.data, cid)
        # secure mode: the SCRAM users exist from the start (the arguments carry passwords)
        scram = (
            secure_mode.format_args(secure_mode.ensure_material(self.settings, self.paths))
            if self.settings.secure
            else []
        )
        run(
            self.java_command(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cid,
                "-c",
                str(self.node_paths.config),
                "--ignore-formatted",
                *scram,
            ),
            timeout=120,
            what=f"kafka storage format ({self.label})",
        )
        return True

    def start(self) -> int:
        """Write the config, format once, start detached. Returns the pid (not yet healthy)."""
        self.write_config()
        self.ensure_formatted()
        env = dict(os.environ)
        env.pop("KAFKA_OPTS", None)
        pid = spawn_detached(
            self.java_command(MAIN_CLASS, str(self.node_paths.config), heap=self.settings.kafka_heap),
            pidfile=self.node_paths.pidfile,
            output=self.node_paths.out,
            env=env,
            cwd=self.node_paths.dir,
        )
        log.info("started %s (pid %s), waiting for it to answer on %s", self.label, pid, self.address)
        return pid

    def wait_healthy(self, pid: int | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        detail: str | None = None
        while time.monotonic() < deadline:
            if pid is not None and not pid_alive(pid):
                raise StackError(f"{self.label} (pid {pid}) exited during startup\n{self._log_tails()}")
            healthy, detail = self.probe()
            if healthy:
                return
            time.sleep(0.5)
        raise StackError(
            f"{self.label} did not become healthy on {self.address} within {timeout:.0f}s ({detail})\n"
            f"{self._log_tails()}"
        )

    def _log_tails(self) -> str:
        return tails([self.node_paths.out, self.node_paths.log])

    def ensure_running(self) -> ComponentStatus:
        """Start Kafka unless a healthy broker already answers. Never starts a second one."""
        start = time.monotonic()
        pid = self.managed_pid()
        if port_open(self.settings.kafka_host, self.port) or pid is not None:
            # something is there (ours or someone else's): give it the startup timeout to be healthy
            self.wait_healthy(pid, self.settings.kafka_start_timeout)
            status = self.status()
            status.action = "already-running"
            status.startup_seconds = 0.0
            log.info("%s already running on %s%s", self.label, self.address, f" (pid {pid})" if pid else "")
            return status
        pid = self.start()
        self.wait_healthy(pid, self.settings.kafka_start_timeout)
        elapsed = time.monotonic() - start
        status = self.status()
        status.action = "started"
        status.startup_seconds = round(elapsed, 2)
        log.info("%s healthy on %s after %.1fs", self.label, self.address, elapsed)
        return status


def cluster_status(settings: StackSettings, timeout: float = 5.0) -> KafkaClusterStatus:
    """The cluster as the brokers that answer see it: id, active controller, brokers, under-replicated
    partitions (fewer replicas in sync than assigned) and partitions without a leader."""
    tls = secure_mode.tls_context(settings)
    answering = [
        settings.kafka_address_of(node)
        for node in settings.kafka_node_ids
        if broker_answers(settings.kafka_host, settings.kafka_port_of(node), min(timeout, 3.0), tls)
    ]
    if not answering:
        return KafkaClusterStatus(detail="no broker answers")
    try:
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(
            **secure_mode.kafka_admin_config(settings),
            bootstrap_servers=",".join(answering),
            client_id="newswire-stack-status",
            request_timeout_ms=int(timeout * 1000),
        )
    except Exception as exc:
        return KafkaClusterStatus(detail=f"{type(exc).__name__}: {exc}")
    try:
        described = admin.describe_cluster()
        result = KafkaClusterStatus(
            cluster_id=described.get("cluster_id"),
            brokers=sorted(b["broker_id"] for b in described.get("brokers", [])),
        )
        try:
            quorum = admin.describe_metadata_quorum()
            result.controller = _quorum_leader(quorum)
        except Exception as exc:  # the quorum has no leader (lost its majority) or the call timed out
            result.detail = f"metadata quorum: {type(exc).__name__}: {exc}"
        for topic in admin.describe_topics():
            for partition in topic.get("partitions", []):
                replicas = list(partition.get("replica_nodes", []))
                isr = list(partition.get("isr_nodes", []))
                leader = int(partition.get("leader_id", -1))
                if leader < 0:
                    result.offline_partitions += 1
                if len(isr) < len(replicas):
                    result.under_replicated.append(
                        UnderReplicatedPartition(
                            topic=topic["name"],
                            partition=partition["partition_index"],
                            leader=leader,
                            replicas=replicas,
                            isr=isr,
                        )
                    )
        result.under_replicated.sort(key=lambda p: (p.topic, p.partition))
        return result
    except Exception as exc:
        return KafkaClusterStatus(detail=f"{type(exc).__name__}: {exc}")
    finally:
        admin.close()


def _quorum_leader(quorum: dict[str, object]) -> int | None:
    """The leader id in a DescribeQuorum response (topics -> partitions -> leader_id), None if none."""
    for topic in quorum.get("topics", []) or []:  # type: ignore[attr-defined]
        for partition in topic.get("partitions", []) or []:
            leader = partition.get("leader_id")
            if isinstance(leader, int) and leader >= 0:
                return leader
    return None
