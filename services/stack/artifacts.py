"""Staging of the binary artifacts: Maven resolves them into ``<state>/dist`` (cached in ~/.m2)."""

from __future__ import annotations

import logging
import os
import shutil
import time
import zipfile
from pathlib import Path

from .paths import StackPaths
from .process import StackError, run
from .settings import StackSettings

log = logging.getLogger(__name__)


def maven_env(settings: StackSettings, java_home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["JAVA_HOME"] = str(java_home or settings.java_home)
    return env


def artifacts_present(paths: StackPaths) -> bool:
    libs = paths.kafka_libs
    has_kafka = libs.is_dir() and any(libs.glob("kafka_2.13-*.jar"))
    return has_kafka and paths.es_zip.is_file()


def ensure_artifacts(settings: StackSettings, paths: StackPaths) -> bool:
    """Resolve Kafka's jars and the ES zip into ``<state>/dist`` unless present. True if it ran Maven."""
    if artifacts_present(paths):
        return False
    paths.dist.mkdir(parents=True, exist_ok=True)
    log.info(
        "resolving Kafka %s and Elasticsearch %s with Maven into %s",
        settings.kafka_version,
        settings.es_version,
        paths.dist,
    )
    start = time.monotonic()
    run(
        [
            settings.mvn,
            "-B",
            "-q",
            *settings.mvn_args,
            "-f",
            settings.native_pom,
            "package",
            f"-Dnewswire.stage={paths.dist}",
            f"-Dkafka.version={settings.kafka_version}",
            f"-Delasticsearch.version={settings.es_version}",
        ],
        env=maven_env(settings),
        cwd=settings.repo_root,
        timeout=settings.artifacts_timeout,
        what="maven (native stack artifacts)",
    )
    if not artifacts_present(paths):
        raise StackError(f"maven finished but {paths.kafka_libs} or {paths.es_zip} is missing")
    log.info("artifacts resolved in %.1fs", time.monotonic() - start)
    return True


def unpack_zip(archive: Path, dest: Path) -> None:
    """Extract ``archive`` (one top-level folder named like ``dest``) to ``dest``, keeping file modes.

    Extraction goes to a temporary sibling first, so an interrupted unpack never leaves a
    half-filled ``dest`` behind.
    """
    tmp = dest.with_name(dest.name + ".unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = tmp / info.filename
            if not target.resolve().is_relative_to(tmp.resolve()):
                raise StackError(f"unsafe path {info.filename!r} in {archive}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
    top = [p for p in tmp.iterdir()]
    inner = top[0] if len(top) == 1 and top[0].is_dir() else tmp
    if dest.exists():
        shutil.rmtree(dest)
    inner.rename(dest)
    shutil.rmtree(tmp, ignore_errors=True)


def ensure_es_unpacked(paths: StackPaths) -> bool:
    """Unpack the ES zip into ``<state>/dist/elasticsearch-<version>`` once. True if it unpacked."""
    if (paths.es_home / "bin" / "elasticsearch").is_file():
        return False
    log.info("unpacking %s", paths.es_zip)
    unpack_zip(paths.es_zip, paths.es_home)
    return True
