"""Elasticsearch: nodes of the minimal distribution, run as an unprivileged user; their cluster's health."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from . import plugin, secure_mode
from .config import render_elasticsearch_yml, render_es_jvm_options
from .models import ComponentStatus, EsClusterStatus
from .paths import StackPaths, read_topology, running_as_root
from .process import StackError, managed_pid, pid_alive, port_open, run, stop_one, tails
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
    """Elasticsearch node ``node`` (``<cluster>-<node>``) of the stack; node 1 is the single-node stack.

    Every node runs from the one unpacked distribution (``<state>/dist``) with its own config dir
    (``ES_PATH_CONF``), data, logs and pidfile under ``<state>/elasticsearch[-i]``.
    """

    def __init__(self, settings: StackSettings, paths: StackPaths, node: int = 1) -> None:
        self.settings = settings
        self.paths = paths
        self.node = node
        self.node_name = settings.es_node_name(node)
        self.node_paths = paths.es_node(node)

    @property
    def label(self) -> str:
        return "elasticsearch" if self.node == 1 else f"elasticsearch-{self.node}"

    @property
    def port(self) -> int:
        return self.settings.es_port_of(self.node)

    @property
    def address(self) -> str:
        return self.settings.es_url_of(self.node)

    def managed_pid(self) -> int | None:
        return managed_pid(self.node_paths.pidfile, MAIN_CLASS)

    # -- health --------------------------------------------------------------------------------
    def probe(self, timeout: float = 5.0) -> tuple[bool, str | None, dict[str, object]]:
        """(healthy, detail, info): this node answers, is in the cluster, and the cluster is at least
        yellow; info has the cluster's status and name, the node's version and plugins."""
        if not port_open(self.settings.es_host, self.port):
            return False, "port closed", {}
        info: dict[str, object] = {}
        try:
            options = secure_mode.es_http_options(self.settings, self.paths)
            with httpx.Client(base_url=self.address, timeout=timeout + 5, **options) as client:
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
                nodes = client.get("/_cat/nodes", params={"format": "json", "h": "name"})
                if nodes.status_code != 200:
                    return False, f"_cat/nodes HTTP {nodes.status_code}: {nodes.text[:200]}", info
                names = sorted(n.get("name") for n in nodes.json())
                if self.node_name not in names:
                    return False, f"{self.node_name} is not among the cluster's nodes {names}", info
                root = client.get("/").json()
                info["version"] = root.get("version", {}).get("number")
                plugins = client.get("/_cat/plugins", params={"format": "json"}).json()
                mine = [p for p in plugins if p.get("name") == self.node_name]
                info["plugins"] = sorted({p.get("component") for p in mine})
        except (httpx.HTTPError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}", info
        return True, None, info

    def status(self) -> ComponentStatus:
        pid = self.managed_pid()
        running = port_open(self.settings.es_host, self.port)
        healthy, detail, info = self.probe() if running else (False, None, {})
        version = info.pop("version", None)
        return ComponentStatus(
            name="elasticsearch",
            node=self.node,
            address=self.address,
            running=running or pid is not None,
            healthy=healthy,
            managed=pid is not None,
            pid=pid,
            version=str(version) if version else (self.settings.es_version if pid else None),
            log_path=self.node_paths.log if pid is not None else None,
            detail=detail,
            extra=info,
        )

    def stop(self, timeout: float | None = None) -> bool | None:
        """SIGTERM this node (clean shutdown), SIGKILL it after ``timeout`` (default: the stop timeout).

        Returns True if it stopped in time, False if it was killed, None if it was not running.
        """
        return stop_one(
            self.label, self.managed_pid(), self.settings.stop_timeout if timeout is None else timeout
        )

    # -- prepare and start ---------------------------------------------------------------------
    def cluster_formed(self) -> bool:
        """True once the ES cluster of this state dir formed (recorded by the manager when it did)."""
        return bool((read_topology(self.paths) or {}).get("es_cluster_formed"))

    def write_config(self) -> None:
        """The node's own config dir: the distribution's files (copied once) plus ours (every start)."""
        config = self.node_paths.config_dir
        if not (config / "jvm.options").is_file():
            shutil.copytree(self.paths.es_dist_config_dir, config, dirs_exist_ok=True)
        # While no node has joined a cluster the first election needs cluster.initial_master_nodes;
        # afterwards the setting must go (a node started with it over empty data could elect alone).
        bootstrap = not self.cluster_formed()
        secure = None
        if self.settings.secure:
            # certificates and the file realm into the config dir (chowned with it by prepare_node)
            secure = secure_mode.install_es_node_material(self.settings, self.paths, self.node, owner=None)
        yml = render_elasticsearch_yml(self.settings, self.paths, self.node, bootstrap, secure)
        (config / "elasticsearch.yml").write_text(yml)
        (config / "jvm.options.d").mkdir(exist_ok=True)
        jvm_options = render_es_jvm_options(self.paths, self.node)
        (config / "jvm.options.d" / "newswire.options").write_text(jvm_options)

    def prepare_home(self, timings: dict[str, float]) -> None:
        """The shared distribution: analysis plugin built and installed, owned by the ES user.

        Once per start of the cluster (not per node: the plugin tool must not run concurrently).
        """
        # where state dirs from before clusters keep it
        legacy_marker = self.paths.es_dir / "newswire-analysis.sha256"
        if legacy_marker.is_file() and not self.paths.es_plugin_marker.exists():
            self.paths.es_plugin_marker.parent.mkdir(parents=True, exist_ok=True)
            legacy_marker.replace(self.paths.es_plugin_marker)
        if self.settings.es_install_analysis_plugin:
            t0 = time.monotonic()
            zip_path, built = plugin.ensure_built(self.settings)
            installed = plugin.ensure_installed(self.settings, self.paths, zip_path)
            if built or installed:
                timings["plugin"] = round(time.monotonic() - t0, 2)
        if self.settings.secure:
            # the security index (API keys) needs analysis components the minimal distribution lacks
            t0 = time.monotonic()
            security = plugin.SECURITY_PLUGIN
            zip_path, built = plugin.ensure_built(self.settings, security)
            installed = plugin.ensure_installed(self.settings, self.paths, zip_path, security)
            if built or installed:
                timings["security_plugin"] = round(time.monotonic() - t0, 2)
        if running_as_root():
            user = ensure_user(self.settings.es_user)
            chown_tree(self.paths.es_home, user.pw_uid, user.pw_gid)

    def prepare_node(self) -> None:
        """This node's dirs and config, owned by the ES user."""
        self.node_paths.data.mkdir(parents=True, exist_ok=True)
        self.node_paths.logs.mkdir(parents=True, exist_ok=True)
        self.node_paths.out.parent.mkdir(parents=True, exist_ok=True)
        self.write_config()
        if running_as_root():
            user = ensure_user(self.settings.es_user)
            chown_tree(self.node_paths.dir, user.pw_uid, user.pw_gid)

    def prepare(self, timings: dict[str, float]) -> None:
        """Unpacked home (done by the manager), plugin installed, config written, ownership fixed."""
        self.prepare_home(timings)
        self.prepare_node()

    def command(self) -> list[str]:
        cmd = [str(self.paths.es_home / "bin" / "elasticsearch"), "-d", "-p", str(self.node_paths.pidfile)]
        env = [
            f"ES_JAVA_HOME={self.settings.es_java}",
            f"ES_JAVA_OPTS=-Xms{self.settings.es_heap} -Xmx{self.settings.es_heap}",
            f"ES_PATH_CONF={self.node_paths.config_dir}",
        ]
        if running_as_root():
            return ["runuser", "-u", self.settings.es_user, "--", "env", *env, *cmd]
        return ["env", *env, *cmd]

    def start(self) -> int:
        """Start daemonized and return the pid (not yet healthy); writes the node's config first.

        ``-d`` returns once the node started (or failed); a node of a new cluster waits there up
        to ``discovery.initial_state_timeout`` (30 s) for the others, so the nodes of a new
        cluster are started concurrently (``Cluster.up``).
        """
        self.prepare_node()
        env = dict(os.environ)
        for var in ("ES_JAVA_OPTS", "ES_PATH_CONF", "ES_TMPDIR", "JAVA_TOOL_OPTIONS"):
            env.pop(var, None)
        with self.node_paths.out.open("ab") as out:
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
                    f"{self.label} did not finish starting within {self.settings.es_start_timeout:.0f}s\n"
                    f"{self._log_tails()}"
                ) from exc
        if proc.returncode != 0:
            raise StackError(f"{self.label} failed to start (exit {proc.returncode})\n{self._log_tails()}")
        pid = self.managed_pid()
        if pid is None:
            raise StackError(
                f"{self.label} started but left no live pid in {self.node_paths.pidfile}\n{self._log_tails()}"
            )
        log.info("started %s (pid %s), waiting for it to answer on %s", self.label, pid, self.address)
        return pid

    def wait_healthy(self, pid: int | None, timeout: float) -> None:
        """Until this node answers, is in the cluster and the cluster is at least yellow."""
        deadline = time.monotonic() + timeout
        detail: str | None = None
        while time.monotonic() < deadline:
            if pid is not None and not pid_alive(pid):
                raise StackError(f"{self.label} (pid {pid}) exited\n{self._log_tails()}")
            healthy, detail, _ = self.probe(timeout=min(5.0, max(1.0, deadline - time.monotonic())))
            if healthy:
                return
            time.sleep(0.5)
        raise StackError(
            f"{self.label} did not become healthy on {self.address} within {timeout:.0f}s ({detail})\n"
            f"{self._log_tails()}"
        )

    def _log_tails(self) -> str:
        return tails([self.node_paths.out, self.node_paths.log])

    def ensure_running(self, timings: dict[str, float], home_ready: bool = False) -> ComponentStatus:
        """Start this node unless it answers already. ``home_ready``: the caller ran ``prepare_home``."""
        start = time.monotonic()
        pid = self.managed_pid()
        if port_open(self.settings.es_host, self.port) or pid is not None:
            self.wait_healthy(pid, self.settings.es_start_timeout)
            status = self.status()
            status.action = "already-running"
            status.startup_seconds = 0.0
            log.info("%s already running on %s%s", self.label, self.address, f" (pid {pid})" if pid else "")
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
        if not home_ready:
            self.prepare_home(timings)
        started = time.monotonic()
        pid = self.start()
        self.wait_healthy(pid, max(10.0, self.settings.es_start_timeout - (time.monotonic() - started)))
        elapsed = time.monotonic() - start
        status = self.status()
        status.action = "started"
        status.startup_seconds = round(elapsed, 2)
        status.extra["process_seconds"] = round(time.monotonic() - started, 2)
        log.info("%s healthy on %s after %.1fs", self.label, self.address, elapsed)
        return status


def cluster_status(settings: StackSettings, timeout: float = 5.0) -> EsClusterStatus:
    """``_cluster/health`` and the joined nodes, from the first node that answers."""
    detail = "no node answers"
    for node in settings.es_node_ids:
        if not port_open(settings.es_host, settings.es_port_of(node)):
            continue
        try:
            options = secure_mode.es_http_options(settings)
            with httpx.Client(base_url=settings.es_url_of(node), timeout=timeout, **options) as client:
                resp = client.get("/_cluster/health")
                if resp.status_code != 200:
                    detail = f"cluster health HTTP {resp.status_code} from node {node}: {resp.text[:200]}"
                    continue
                health = resp.json()
                nodes = client.get("/_cat/nodes", params={"format": "json", "h": "name,master"}).json()
        except (httpx.HTTPError, ValueError) as exc:
            detail = f"{type(exc).__name__}: {exc}"
            continue
        return EsClusterStatus(
            cluster_name=health.get("cluster_name"),
            status=health.get("status"),
            number_of_nodes=int(health.get("number_of_nodes", 0)),
            unassigned_shards=int(health.get("unassigned_shards", 0)),
            active_shards=int(health.get("active_shards", 0)),
            nodes=sorted(n["name"] for n in nodes),
            master=next((n["name"] for n in nodes if n.get("master") == "*"), None),
        )
    return EsClusterStatus(detail=detail)
