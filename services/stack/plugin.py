"""The newswire-analysis Elasticsearch plugin (deploy/analysis-plugin): build and install."""

from __future__ import annotations

import hashlib
import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .artifacts import maven_env
from .paths import StackPaths
from .process import StackError, run
from .settings import StackSettings

log = logging.getLogger(__name__)

PLUGIN_NAME = "newswire-analysis"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True)
class PluginSource:
    """A plugin of this repository: its name and its Maven project below the repository root."""

    name: str
    directory: str

    def dir(self, settings: StackSettings) -> Path:
        return settings.repo_root / self.directory

    def marker(self, paths: StackPaths) -> Path:
        """sha256 of the zip installed into ``es_home`` (beside it: wiping nodes keeps it)."""
        if self.name == PLUGIN_NAME:
            return paths.es_plugin_marker
        return paths.dist / f"elasticsearch-{paths.es_version}.{self.name}.sha256"


ANALYSIS_PLUGIN = PluginSource(PLUGIN_NAME, "deploy/analysis-plugin")
#: Secure mode only: ``pattern_capture``, ``uax_url_email`` and ``unique``, which the security index's
#: mappings need and the minimal distribution lacks (analysis-common is not on Maven Central).
SECURITY_PLUGIN = PluginSource("newswire-security-analysis", "deploy/security-analysis-plugin")


def plugin_version(plugin_dir: Path) -> str:
    root = ET.parse(plugin_dir / "pom.xml").getroot()
    version = root.find("m:version", _POM_NS)
    if version is None or not version.text:
        raise StackError(f"no <version> in {plugin_dir / 'pom.xml'}")
    return version.text.strip()


def plugin_zip(plugin_dir: Path, name: str = PLUGIN_NAME) -> Path:
    return plugin_dir / "target" / f"{name}-{plugin_version(plugin_dir)}.zip"


def _sources(plugin_dir: Path) -> list[Path]:
    files = [plugin_dir / "pom.xml"]
    files += [p for p in (plugin_dir / "src").rglob("*") if p.is_file()]
    return files


def needs_build(plugin_dir: Path, name: str = PLUGIN_NAME) -> bool:
    """True if the zip is missing or older than the pom or any source file."""
    zip_path = plugin_zip(plugin_dir, name)
    if not zip_path.is_file():
        return True
    built = zip_path.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _sources(plugin_dir))


def ensure_built(settings: StackSettings, source: PluginSource | None = None) -> tuple[Path, bool]:
    """Build the plugin zip with Maven if needed. Returns (zip path, whether it built)."""
    plugin_dir = source.dir(settings) if source is not None else settings.plugin_dir
    name = source.name if source is not None else PLUGIN_NAME
    if not needs_build(plugin_dir, name):
        return plugin_zip(plugin_dir, name), False
    log.info("building the %s plugin (%s)", name, plugin_dir)
    run(
        [settings.mvn, "-B", "-q", *settings.mvn_args, "-f", plugin_dir / "pom.xml", "package"],
        env=maven_env(settings, settings.es_java),
        cwd=settings.repo_root,
        timeout=settings.artifacts_timeout,
        what="maven (analysis plugin)",
    )
    zip_path = plugin_zip(plugin_dir, name)
    if not zip_path.is_file():
        raise StackError(f"maven finished but {zip_path} is missing")
    # make the zip newer than every source even on coarse-mtime filesystems
    os.utime(zip_path)
    return zip_path, True


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_installed(
    settings: StackSettings, paths: StackPaths, zip_path: Path, source: PluginSource = ANALYSIS_PLUGIN
) -> bool:
    """Install ``zip_path`` into the ES home unless that exact zip is installed. True if installed.

    Runs as the current user (root before the ES home is handed to the ES user, or the
    unprivileged user that owns everything).
    """
    digest = sha256(zip_path)
    name = source.name
    installed_dir = paths.es_home / "plugins" / name
    marker = source.marker(paths)
    if installed_dir.is_dir() and marker.is_file() and marker.read_text().strip() == digest:
        return False
    tool = paths.es_home / "bin" / "elasticsearch-plugin"
    env = dict(os.environ, ES_JAVA_HOME=str(settings.es_java))
    env.pop("ES_JAVA_OPTS", None)
    if installed_dir.exists():
        log.info("removing the previously installed %s", name)
        run(
            [tool, "remove", "--purge", name],
            env=env,
            cwd=paths.es_home,
            timeout=120,
            what="elasticsearch-plugin remove",
        )
    log.info("installing %s into %s", zip_path.name, paths.es_home)
    run(
        [tool, "install", "--batch", zip_path.resolve().as_uri()],
        env=env,
        cwd=paths.es_home,
        timeout=120,
        what="elasticsearch-plugin install",
    )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest + "\n")
    return True
