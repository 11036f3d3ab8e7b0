"""Where everything lives below the (effective) state directory, and how that directory is chosen."""

from __future__ import annotations

import grp
import json
import logging
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from .settings import StackSettings

log = logging.getLogger(__name__)


def _suffix(node: int) -> str:
    """Node 1 keeps the paths of the single-node stack (``kafka/``, ``logs/kafka.log``), so that
    existing state directories keep working; node i >= 2 gets ``-i`` (``kafka-2/``, ``logs/kafka-2.log``)."""
    return "" if node == 1 else f"-{node}"


@dataclass(frozen=True)
class KafkaNodePaths:
    """One KRaft node: ``<root>/kafka[-i]`` (config, data, pidfile), logs under ``<root>/logs``."""

    root: Path
    node: int = 1

    @property
    def dir(self) -> Path:
        return self.root / f"kafka{_suffix(self.node)}"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def config(self) -> Path:
        return self.dir / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.dir / "log4j.properties"

    @property
    def pidfile(self) -> Path:
        return self.dir / "kafka.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log(self) -> Path:
        return self.logs / f"kafka{_suffix(self.node)}.log"

    @property
    def out(self) -> Path:
        return self.logs / f"kafka{_suffix(self.node)}.out"

    @property
    def quorum_state(self) -> Path:
        """The KRaft election state this node persists (leader id and epoch as it last saw them)."""
        return self.data / "__cluster_metadata-0" / "quorum-state"


@dataclass(frozen=True)
class EsNodePaths:
    """One Elasticsearch node: ``<root>/elasticsearch[-i]`` (config, data, logs, pidfile; ES user's)."""

    root: Path
    node: int = 1
    es_cluster_name: str = "newswire"

    @property
    def dir(self) -> Path:
        return self.root / f"elasticsearch{_suffix(self.node)}"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def log(self) -> Path:
        return self.logs / f"{self.es_cluster_name}.log"

    @property
    def pidfile(self) -> Path:
        return self.dir / "elasticsearch.pid"

    @property
    def config_dir(self) -> Path:
        """ES_PATH_CONF of this node: a copy of the distribution's config dir plus our files."""
        return self.dir / "config"

    @property
    def out(self) -> Path:
        return self.root / "logs" / f"elasticsearch{_suffix(self.node)}.out"


@dataclass(frozen=True)
class StackPaths:
    """The state directory layout.

    ``<root>/dist``              Maven-staged artifacts (Kafka libs, the ES zip) and the unpacked ES home
    ``<root>/kafka[-i]``         node i's server.properties, log4j.properties, data/, kafka.pid
    ``<root>/elasticsearch[-i]`` node i's config/, data/, logs/, elasticsearch.pid (owned by the ES user)
    ``<root>/logs``              kafka[-i].log (log4j), kafka[-i].out, elasticsearch[-i].out (process output)
    ``<root>/topology.json``     how many Kafka and ES nodes the data dirs belong to

    Node 1 has no suffix: a single-node stack has the same layout as before clusters existed. The
    properties without a node (``kafka_data``, ``es_pidfile``, ...) are node 1's.
    """

    root: Path
    kafka_version: str
    es_version: str
    es_cluster_name: str = "newswire"

    @classmethod
    def for_settings(cls, settings: StackSettings, root: Path | None = None) -> StackPaths:
        return cls(
            root=root or settings.state_dir,
            kafka_version=settings.kafka_version,
            es_version=settings.es_version,
            es_cluster_name=settings.es_cluster_name,
        )

    def kafka_node(self, node: int) -> KafkaNodePaths:
        return KafkaNodePaths(self.root, node)

    def es_node(self, node: int) -> EsNodePaths:
        return EsNodePaths(self.root, node, self.es_cluster_name)

    @property
    def topology_file(self) -> Path:
        return self.root / "topology.json"

    # artifacts
    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def kafka_home(self) -> Path:
        return self.dist / f"kafka-{self.kafka_version}"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_home / "libs"

    @property
    def es_zip(self) -> Path:
        return self.dist / f"elasticsearch-{self.es_version}.zip"

    @property
    def es_home(self) -> Path:
        return self.dist / f"elasticsearch-{self.es_version}"

    @property
    def es_dist_config_dir(self) -> Path:
        """The distribution's config dir: the template every node's own config dir is copied from."""
        return self.es_home / "config"

    # logs
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kafka_log(self) -> Path:
        return self.kafka_node(1).log

    @property
    def kafka_out(self) -> Path:
        return self.kafka_node(1).out

    @property
    def es_out(self) -> Path:
        return self.es_node(1).out

    # kafka (node 1)
    @property
    def kafka_dir(self) -> Path:
        return self.kafka_node(1).dir

    @property
    def kafka_data(self) -> Path:
        return self.kafka_node(1).data

    @property
    def kafka_config(self) -> Path:
        return self.kafka_node(1).config

    @property
    def kafka_log4j(self) -> Path:
        return self.kafka_node(1).log4j

    @property
    def kafka_pidfile(self) -> Path:
        return self.kafka_node(1).pidfile

    @property
    def kafka_cluster_id_file(self) -> Path:
        """The KRaft cluster id every node is formatted with (one per state dir)."""
        return self.kafka_dir / "cluster.id"

    # elasticsearch (node 1)
    @property
    def es_dir(self) -> Path:
        return self.es_node(1).dir

    @property
    def es_data(self) -> Path:
        return self.es_node(1).data

    @property
    def es_logs(self) -> Path:
        return self.es_node(1).logs

    @property
    def es_log(self) -> Path:
        return self.es_node(1).log

    @property
    def es_pidfile(self) -> Path:
        return self.es_node(1).pidfile

    @property
    def es_config_dir(self) -> Path:
        return self.es_node(1).config_dir

    @property
    def es_plugin_marker(self) -> Path:
        """sha256 of the analysis plugin zip installed into ``es_home`` (beside it: wiping nodes keeps it)."""
        return self.dist / f"elasticsearch-{self.es_version}.newswire-analysis.sha256"


def read_topology(paths: StackPaths) -> dict[str, object] | None:
    """The recorded topology (``kafka_brokers``, ``es_nodes``, ``es_cluster_formed``), None if none.

    A state dir from before topologies were recorded, with data in it, is a single-node stack.
    """
    try:
        data = json.loads(paths.topology_file.read_text())
    except FileNotFoundError:
        legacy = (paths.kafka_data / "meta.properties").is_file() or (paths.es_data / "_state").is_dir()
        return {"kafka_brokers": 1, "es_nodes": 1, "es_cluster_formed": True} if legacy else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_topology(paths: StackPaths, topology: dict[str, object]) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    tmp = paths.topology_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(topology, indent=2, sort_keys=True) + "\n")
    tmp.replace(paths.topology_file)


def running_as_root() -> bool:
    return os.geteuid() == 0


def user_can_traverse(path: Path, uid: int, gids: set[int]) -> bool:
    """True if a user (uid, groups) may enter every existing directory from / down to ``path``.

    Directories that do not exist yet are skipped: the manager creates them as 0755.
    """
    if uid == 0:
        return True
    path = path.absolute()
    for directory in [*reversed(path.parents), path]:
        try:
            st = directory.stat()
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            return False
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _user_ids(name: str) -> tuple[int, set[int]] | None:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    return pw.pw_uid, gids


def effective_state_dir(settings: StackSettings) -> Path:
    """``settings.state_dir``, unless the ES user (when running as root) cannot reach it.

    Elasticsearch runs as ``settings.es_user`` when the manager runs as root, so that user must be
    able to enter every directory down to the state dir; if it cannot (say the repository lives
    under a 0700 home directory), ``settings.fallback_state_dir`` is used instead.
    """
    state = settings.state_dir
    if not running_as_root():
        return state
    ids = _user_ids(settings.es_user)
    if ids is None or user_can_traverse(state, *ids):
        return state
    if state not in _warned:
        _warned.add(state)
        log.warning(
            "user %s cannot traverse %s; using the fallback state dir %s",
            settings.es_user,
            state,
            settings.fallback_state_dir,
        )
    return settings.fallback_state_dir


_warned: set[Path] = set()
