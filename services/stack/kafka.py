"""Kafka: a single KRaft node (broker + controller) run from the Maven-staged jars."""

from __future__ import annotations

import logging
import os
import time

from .config import new_kafka_cluster_id, render_kafka_log4j, render_kafka_server_properties
from .models import ComponentStatus
from .paths import StackPaths
from .process import StackError, managed_pid, pid_alive, port_open, run, spawn_detached, tails
from .settings import StackSettings

log = logging.getLogger(__name__)

MAIN_CLASS = "kafka.Kafka"


class Kafka:
    def __init__(self, settings: StackSettings, paths: StackPaths) -> None:
        self.settings = settings
        self.paths = paths

    # -- state ---------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return self.settings.kafka_bootstrap

    def managed_pid(self) -> int | None:
        return managed_pid(self.paths.kafka_pidfile, MAIN_CLASS)

    def probe(self, timeout: float = 5.0) -> tuple[bool, str | None]:
        """(healthy, detail): a real client metadata request against the broker."""
        if not port_open(self.settings.kafka_host, self.settings.kafka_port):
            return False, "port closed"
        try:
            from kafka.admin import KafkaAdminClient

            admin = KafkaAdminClient(
                bootstrap_servers=self.address,
                client_id="newswire-stack-probe",
                request_timeout_ms=int(timeout * 1000),
            )
        except Exception as exc:  # NoBrokersAvailable and friends while the broker starts up
            return False, f"{type(exc).__name__}: {exc}"
        try:
            admin.list_topics()
            return True, None
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            admin.close()

    def status(self) -> ComponentStatus:
        pid = self.managed_pid()
        running = port_open(self.settings.kafka_host, self.settings.kafka_port)
        healthy, detail = self.probe() if running else (False, None)
        return ComponentStatus(
            name="kafka",
            address=self.address,
            running=running or pid is not None,
            healthy=healthy,
            managed=pid is not None,
            pid=pid,
            version=self.settings.kafka_version if pid is not None else None,
            log_path=self.paths.kafka_log if pid is not None else None,
            detail=detail,
        )

    # -- start ---------------------------------------------------------------------------------
    def write_config(self) -> None:
        self.paths.kafka_dir.mkdir(parents=True, exist_ok=True)
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        self.paths.kafka_config.write_text(render_kafka_server_properties(self.settings, self.paths))
        self.paths.kafka_log4j.write_text(render_kafka_log4j(self.paths))

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
            f"-Dlog4j.configuration={self.paths.kafka_log4j.as_uri()}",
            f"-Dkafka.logs.dir={self.paths.logs}",
            "-cp",
            self.classpath(),
            main,
            *args,
        ]
        return cmd

    def cluster_id(self) -> str:
        path = self.paths.kafka_cluster_id_file
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        cid = new_kafka_cluster_id()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cid + "\n")
        return cid

    def ensure_formatted(self) -> bool:
        """Format the KRaft storage once (meta.properties marks a formatted log dir)."""
        if (self.paths.kafka_data / "meta.properties").is_file():
            return False
        self.paths.kafka_data.mkdir(parents=True, exist_ok=True)
        cid = self.cluster_id()
        log.info("formatting Kafka storage %s (cluster id %s)", self.paths.kafka_data, cid)
        run(
            self.java_command(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cid,
                "-c",
                str(self.paths.kafka_config),
                "--ignore-formatted",
            ),
            timeout=120,
            what="kafka storage format",
        )
        return True

    def start(self) -> int:
        """Write the config, format once, start detached. Returns the pid (not yet healthy)."""
        self.write_config()
        self.ensure_formatted()
        env = dict(os.environ)
        env.pop("KAFKA_OPTS", None)
        pid = spawn_detached(
            self.java_command(MAIN_CLASS, str(self.paths.kafka_config), heap=self.settings.kafka_heap),
            pidfile=self.paths.kafka_pidfile,
            output=self.paths.kafka_out,
            env=env,
            cwd=self.paths.kafka_dir,
        )
        log.info("started Kafka (pid %s), waiting for it to answer on %s", pid, self.address)
        return pid

    def wait_healthy(self, pid: int | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        detail: str | None = None
        while time.monotonic() < deadline:
            if pid is not None and not pid_alive(pid):
                raise StackError(f"Kafka (pid {pid}) exited during startup\n{self._log_tails()}")
            healthy, detail = self.probe()
            if healthy:
                return
            time.sleep(0.5)
        raise StackError(
            f"Kafka did not become healthy on {self.address} within {timeout:.0f}s ({detail})\n"
            f"{self._log_tails()}"
        )

    def _log_tails(self) -> str:
        return tails([self.paths.kafka_out, self.paths.kafka_log])

    def ensure_running(self) -> ComponentStatus:
        """Start Kafka unless a healthy broker already answers. Never starts a second one."""
        start = time.monotonic()
        pid = self.managed_pid()
        if port_open(self.settings.kafka_host, self.settings.kafka_port) or pid is not None:
            # something is there (ours or someone else's): give it the startup timeout to be healthy
            self.wait_healthy(pid, self.settings.kafka_start_timeout)
            status = self.status()
            status.action = "already-running"
            status.startup_seconds = 0.0
            log.info("Kafka already running on %s%s", self.address, f" (pid {pid})" if pid else "")
            return status
        pid = self.start()
        self.wait_healthy(pid, self.settings.kafka_start_timeout)
        elapsed = time.monotonic() - start
        status = self.status()
        status.action = "started"
        status.startup_seconds = round(elapsed, 2)
        log.info("Kafka healthy on %s after %.1fs", self.address, elapsed)
        return status
