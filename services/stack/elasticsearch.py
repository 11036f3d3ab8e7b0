"""Elasticsearch: the minimal distribution, single node, run as an unprivileged user."""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import time
from pathlib import Path

import httpx

from . import plugin
from .config import render_elasticsearch_yml, render_es_jvm_options
from .models import ComponentStatus
from .paths import StackPaths, running_as_root
from .process import StackError, managed_pid, pid_alive, port_open, run, tails
from .settings import StackSettings

log = logging.getLogger(__name__)

#: substring of the ES server JVM's command line (its main class)
MAIN_CLASS = "org.elasticsearch.bootstrap.Elasticsearch"


def ensure_user(name: str) -> pwd.struct_passwd:
    """Create the system user ``name`` (no home, no login shell) if it does not exist."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    log.info("creating system user %s", name)
    nologin = next((p for p in ("/usr/sbin/nologin", "/sbin/nologin") if Path(p).exists()), "/bin/false")
    run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            nologin,
            name,
        ],
        timeout=60,
        what="useradd",
    )
    return pwd.getpwnam(name)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """chown -R without following symlinks; skips entries that already have the right owner."""

    def fix(path: Path) -> None:
        st = path.lstat()
        if st.st_uid != uid or st.st_gid != gid:
            os.chown(path, uid, gid, follow_symlinks=False)

    fix(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            fix(Path(dirpath) / name)


class Elasticsearch:
    def __init__(self, settings: StackSettings, paths: StackPaths) -> None:
        self.settings = settings
        self.paths = paths

    @property
    def address(self) -> str:
        return self.settings.es_url

    def managed_pid(self) -> int | None:
        return managed_pid(self.paths.es_pidfile, MAIN_CLASS)

    # -- health --------------------------------------------------------------------------------
    def probe(self, timeout: float = 5.0) -> tuple[bool, str | None, dict[str, object]]:
        """(healthy, detail, info): cluster health at least yellow, plus version and plugins."""
        if not port_open(self.settings.es_host, self.settings.es_port):
            return False, "port closed", {}
        info: dict[str, object] = {}
        try:
            with httpx.Client(base_url=self.address, timeout=timeout + 5) as client:
                resp = client.get(
                    "/_cluster/health", params={"wait_for_status": "yellow", "timeout": f"{int(timeout)}s"}
                )
                if resp.status_code != 200:
                    return False, f"cluster health HTTP {resp.status_code}: {resp.text[:200]}", info
                health = resp.json()
                info["cluster_status"] = health.get("status")
                info["cluster_name"] = health.get("cluster_name")
                if health.get("timed_out") or health.get("status") not in ("green", "yellow"):
                    return False, f"cluster status {health.get('status')}", info
                root = client.get("/").json()
                info["version"] = root.get("version", {}).get("number")
                plugins = client.get("/_cat/plugins", params={"format": "json"}).json()
                info["plugins"] = sorted({p.get("component") for p in plugins})
        except (httpx.HTTPError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}", info
        return True, None, info

    def status(self) -> ComponentStatus:
        pid = self.managed_pid()
        running = port_open(self.settings.es_host, self.settings.es_port)
        healthy, detail, info = self.probe() if running else (False, None, {})
        version = info.pop("version", None)
        return ComponentStatus(
            name="elasticsearch",
            address=self.address,
            running=running or pid is not None,
            healthy=healthy,
            managed=pid is not None,
            pid=pid,
            version=str(version) if version else (self.settings.es_version if pid else None),
            log_path=self.paths.es_log if pid is not None else None,
            detail=detail,
            extra=info,
        )

    # -- prepare and start ---------------------------------------------------------------------
    def write_config(self) -> None:
        config = self.paths.es_config_dir
        config.mkdir(parents=True, exist_ok=True)
        (config / "elasticsearch.yml").write_text(render_elasticsearch_yml(self.settings, self.paths))
        (config / "jvm.options.d").mkdir(exist_ok=True)
        (config / "jvm.options.d" / "newswire.options").write_text(render_es_jvm_options(self.paths))

    def prepare(self, timings: dict[str, float]) -> None:
        """Unpacked home (done by the manager), plugin installed, config written, ownership fixed."""
        self.paths.es_data.mkdir(parents=True, exist_ok=True)
        self.paths.es_logs.mkdir(parents=True, exist_ok=True)
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        if self.settings.es_install_analysis_plugin:
            t0 = time.monotonic()
            zip_path, built = plugin.ensure_built(self.settings)
            installed = plugin.ensure_installed(self.settings, self.paths, zip_path)
            if built or installed:
                timings["plugin"] = round(time.monotonic() - t0, 2)
        self.write_config()
        if running_as_root():
            user = ensure_user(self.settings.es_user)
            for tree in (self.paths.es_home, self.paths.es_dir):
                chown_tree(tree, user.pw_uid, user.pw_gid)

    def command(self) -> list[str]:
        cmd = [str(self.paths.es_home / "bin" / "elasticsearch"), "-d", "-p", str(self.paths.es_pidfile)]
        env = [
            f"ES_JAVA_HOME={self.settings.es_java}",
            f"ES_JAVA_OPTS=-Xms{self.settings.es_heap} -Xmx{self.settings.es_heap}",
            f"ES_PATH_CONF={self.paths.es_config_dir}",
        ]
        if running_as_root():
            return ["runuser", "-u", self.settings.es_user, "--", "env", *env, *cmd]
        return ["env", *env, *cmd]

    def start(self) -> int:
        """Start daemonized (``-d`` returns once the node started or failed). Returns the pid."""
        env = dict(os.environ)
        for var in ("ES_JAVA_OPTS", "ES_PATH_CONF", "ES_TMPDIR", "JAVA_TOOL_OPTIONS"):
            env.pop(var, None)
        self.paths.es_out.parent.mkdir(parents=True, exist_ok=True)
        with self.paths.es_out.open("ab") as out:
            try:
                proc = subprocess.run(
                    self.command(),
                    env=env,
                    cwd=self.paths.es_home,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=self.settings.es_start_timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise StackError(
                    f"Elasticsearch did not finish starting within {self.settings.es_start_timeout:.0f}s\n"
                    f"{self._log_tails()}"
                ) from exc
        if proc.returncode != 0:
            raise StackError(f"Elasticsearch failed to start (exit {proc.returncode})\n{self._log_tails()}")
        pid = self.managed_pid()
        if pid is None:
            raise StackError(
                f"Elasticsearch started but left no live pid in {self.paths.es_pidfile}\n{self._log_tails()}"
            )
        log.info("started Elasticsearch (pid %s), waiting for cluster health on %s", pid, self.address)
        return pid

    def wait_healthy(self, pid: int | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        detail: str | None = None
        while time.monotonic() < deadline:
            if pid is not None and not pid_alive(pid):
                raise StackError(f"Elasticsearch (pid {pid}) exited\n{self._log_tails()}")
            healthy, detail, _ = self.probe(timeout=min(5.0, max(1.0, deadline - time.monotonic())))
            if healthy:
                return
            time.sleep(0.5)
        raise StackError(
            f"Elasticsearch did not become healthy on {self.address} within {timeout:.0f}s ({detail})\n"
            f"{self._log_tails()}"
        )

    def _log_tails(self) -> str:
        return tails([self.paths.es_out, self.paths.es_log])

    def ensure_running(self, timings: dict[str, float]) -> ComponentStatus:
        start = time.monotonic()
        pid = self.managed_pid()
        if port_open(self.settings.es_host, self.settings.es_port) or pid is not None:
            self.wait_healthy(pid, self.settings.es_start_timeout)
            status = self.status()
            status.action = "already-running"
            status.startup_seconds = 0.0
            log.info("Elasticsearch already running on %s%s", self.address, f" (pid {pid})" if pid else "")
            plugins = status.extra.get("plugins")
            wanted = self.settings.es_install_analysis_plugin
            if wanted and isinstance(plugins, list) and plugin.PLUGIN_NAME not in plugins:
                log.warning(
                    "the Elasticsearch on %s has no %s plugin: the newswire_* analysis is missing%s",
                    self.address,
                    plugin.PLUGIN_NAME,
                    " (stop it with `down` and run `up` again)" if pid else "",
                )
            return status
        self.prepare(timings)
        started = time.monotonic()
        pid = self.start()
        self.wait_healthy(pid, max(10.0, self.settings.es_start_timeout - (time.monotonic() - started)))
        elapsed = time.monotonic() - start
        status = self.status()
        status.action = "started"
        status.startup_seconds = round(elapsed, 2)
        status.extra["process_seconds"] = round(time.monotonic() - started, 2)
        log.info("Elasticsearch healthy on %s after %.1fs", self.address, elapsed)
        return status
