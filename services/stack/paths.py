"""Where everything lives below the (effective) state directory, and how that directory is chosen."""

from __future__ import annotations

import grp
import logging
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from .settings import StackSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackPaths:
    """The state directory layout.

    ``<root>/dist``           Maven-staged artifacts (Kafka libs, the ES zip) and the unpacked ES home
    ``<root>/kafka``          server.properties, log4j.properties, data/, kafka.pid
    ``<root>/elasticsearch``  data/, logs/, elasticsearch.pid (owned by the ES user)
    ``<root>/logs``           kafka.log (log4j), kafka.out and elasticsearch.out (process output)
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

    # logs
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kafka_log(self) -> Path:
        return self.logs / "kafka.log"

    @property
    def kafka_out(self) -> Path:
        return self.logs / "kafka.out"

    @property
    def es_out(self) -> Path:
        return self.logs / "elasticsearch.out"

    # kafka
    @property
    def kafka_dir(self) -> Path:
        return self.root / "kafka"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def kafka_config(self) -> Path:
        return self.kafka_dir / "server.properties"

    @property
    def kafka_log4j(self) -> Path:
        return self.kafka_dir / "log4j.properties"

    @property
    def kafka_pidfile(self) -> Path:
        return self.kafka_dir / "kafka.pid"

    @property
    def kafka_cluster_id_file(self) -> Path:
        return self.kafka_dir / "cluster.id"

    # elasticsearch
    @property
    def es_dir(self) -> Path:
        return self.root / "elasticsearch"

    @property
    def es_data(self) -> Path:
        return self.es_dir / "data"

    @property
    def es_logs(self) -> Path:
        return self.es_dir / "logs"

    @property
    def es_log(self) -> Path:
        return self.es_logs / f"{self.es_cluster_name}.log"

    @property
    def es_pidfile(self) -> Path:
        return self.es_dir / "elasticsearch.pid"

    @property
    def es_config_dir(self) -> Path:
        return self.es_home / "config"

    @property
    def es_plugin_marker(self) -> Path:
        """sha256 of the analysis plugin zip installed into ``es_home``."""
        return self.es_dir / "newswire-analysis.sha256"


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
