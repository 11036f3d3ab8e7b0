"""Configuration rendering of the native stack (no processes, no network)."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from services.stack import StackSettings
from services.stack.artifacts import unpack_zip
from services.stack.config import (
    elasticsearch_settings,
    kafka_server_properties,
    new_kafka_cluster_id,
    render_elasticsearch_yml,
    render_es_jvm_options,
    render_kafka_log4j,
    render_kafka_server_properties,
)
from services.stack.paths import StackPaths, effective_state_dir, user_can_traverse
from services.stack.plugin import plugin_version
from services.stack.process import cmdline, managed_pid, pid_alive, tail

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO_ROOT / "deploy" / "analysis-plugin"


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackSettings:
    for key in list(os.environ):
        if key.startswith("NEWSWIRE_STACK_"):
            monkeypatch.delenv(key)
    return StackSettings(state_dir=tmp_path / "state")


@pytest.fixture()
def paths(settings: StackSettings) -> StackPaths:
    return StackPaths.for_settings(settings)


def parse_properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def test_defaults(settings: StackSettings) -> None:
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.kafka_controller_port == 9093
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.es_transport_port == 9300
    assert settings.es_user == "newswire"
    assert StackSettings.model_fields["state_dir"].default == REPO_ROOT / ".state"
    assert settings.native_pom == REPO_ROOT / "deploy" / "native" / "pom.xml"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSWIRE_STACK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSWIRE_STACK_KAFKA_PORT", "19092")
    monkeypatch.setenv("NEWSWIRE_STACK_ES_HEAP", "2g")
    s = StackSettings()
    assert s.state_dir == tmp_path
    assert s.kafka_bootstrap == "127.0.0.1:19092"
    assert s.es_heap == "2g"


def test_kafka_server_properties(settings: StackSettings, paths: StackPaths) -> None:
    props = parse_properties(render_kafka_server_properties(settings, paths))
    assert props == kafka_server_properties(settings, paths)
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(settings.state_dir / "kafka" / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"
    assert props["num.partitions"] == "1"


def test_kafka_ports_follow_settings(tmp_path: Path) -> None:
    s = StackSettings(state_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    props = kafka_server_properties(s, StackPaths.for_settings(s))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"


def test_kafka_log4j_writes_to_state_logs(paths: StackPaths) -> None:
    props = parse_properties(render_kafka_log4j(paths))
    assert props["log4j.rootLogger"].startswith("INFO")
    assert props["log4j.appender.file"] == "org.apache.log4j.RollingFileAppender"
    assert props["log4j.appender.file.File"] == str(paths.kafka_log)


def test_cluster_id_format() -> None:
    cid = new_kafka_cluster_id()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid)
    assert cid != new_kafka_cluster_id()


def test_elasticsearch_yml(settings: StackSettings, paths: StackPaths) -> None:
    text = render_elasticsearch_yml(settings, paths)
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, raw = line.partition(": ")
            values[key] = json.loads(raw)  # every value is JSON, hence valid YAML
    assert values == elasticsearch_settings(settings, paths)
    assert values["cluster.name"] == "newswire"
    assert values["discovery.type"] == "single-node"
    assert values["network.host"] == "127.0.0.1"
    assert values["http.port"] == 9200
    assert values["transport.port"] == 9300
    assert values["xpack.security.enabled"] is False
    assert values["cluster.routing.allocation.disk.threshold_enabled"] is False
    assert values["path.data"] == str(settings.state_dir / "elasticsearch" / "data")
    assert values["path.logs"] == str(settings.state_dir / "elasticsearch" / "logs")


def test_elasticsearch_extra_settings_override(tmp_path: Path) -> None:
    s = StackSettings(
        state_dir=tmp_path, es_extra_settings={"http.port": 9201, "action.auto_create_index": "-x*"}
    )
    values = elasticsearch_settings(s, StackPaths.for_settings(s))
    assert values["http.port"] == 9201
    assert values["action.auto_create_index"] == "-x*"


def test_es_jvm_options_keep_files_under_state(paths: StackPaths) -> None:
    text = render_es_jvm_options(paths)
    assert f"file={paths.es_logs}/gc.log" in text
    assert f"-XX:ErrorFile={paths.es_logs}/hs_err_pid%p.log" in text
    assert "-Xmx" not in text  # the heap comes from ES_JAVA_OPTS


def test_es_command_runs_as_unprivileged_user(
    settings: StackSettings, paths: StackPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.stack import elasticsearch

    monkeypatch.setattr(elasticsearch, "running_as_root", lambda: True)
    cmd = elasticsearch.Elasticsearch(settings, paths).command()
    assert cmd[:4] == ["runuser", "-u", "newswire", "--"]
    assert "ES_JAVA_OPTS=-Xms1g -Xmx1g" in cmd
    assert cmd[-3:] == ["-d", "-p", str(paths.es_pidfile)]
    monkeypatch.setattr(elasticsearch, "running_as_root", lambda: False)
    assert elasticsearch.Elasticsearch(settings, paths).command()[0] == "env"


def test_layout(paths: StackPaths, settings: StackSettings) -> None:
    root = settings.state_dir
    assert paths.kafka_libs == root / "dist" / "kafka-3.9.1" / "libs"
    assert paths.es_zip == root / "dist" / "elasticsearch-8.19.21.zip"
    assert paths.es_home == root / "dist" / "elasticsearch-8.19.21"
    assert paths.es_log == root / "elasticsearch" / "logs" / "newswire.log"
    assert paths.kafka_log == root / "logs" / "kafka.log"


def test_traversal_check(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    inner = closed / "repo" / ".state"
    inner.mkdir(parents=True)
    closed.chmod(0o700)
    try:
        uid, gid = 54321, 54321  # a user that owns nothing here
        assert user_can_traverse(tmp_path, uid, {gid}) == all(
            p.stat().st_mode & 0o001 for p in [*tmp_path.parents, tmp_path]
        )
        assert not user_can_traverse(inner, uid, {gid})
        assert user_can_traverse(inner, 0, {0})
    finally:
        closed.chmod(0o755)


def test_fallback_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.stack import paths as paths_mod

    s = StackSettings(state_dir=tmp_path / "s", fallback_state_dir=tmp_path / "fb")
    monkeypatch.setattr(paths_mod, "running_as_root", lambda: True)
    monkeypatch.setattr(paths_mod, "_user_ids", lambda name: (54321, {54321}))
    monkeypatch.setattr(paths_mod, "user_can_traverse", lambda path, uid, gids: False)
    assert effective_state_dir(s) == tmp_path / "fb"
    monkeypatch.setattr(paths_mod, "user_can_traverse", lambda path, uid, gids: True)
    assert effective_state_dir(s) == tmp_path / "s"
    monkeypatch.setattr(paths_mod, "running_as_root", lambda: False)
    assert effective_state_dir(s) == tmp_path / "s"


def test_unpack_keeps_modes(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("thing-1.0/bin/run")
        info.external_attr = (0o755 | 0o100000) << 16
        zf.writestr(info, "#!/bin/sh\n")
        zf.writestr("thing-1.0/README", "hi")
    dest = tmp_path / "dist" / "thing-1.0"
    unpack_zip(archive, dest)
    assert (dest / "README").read_text() == "hi"
    assert os.access(dest / "bin" / "run", os.X_OK)
    assert not (tmp_path / "dist" / "thing-1.0.unpacking").exists()


def test_pidfile_helpers(tmp_path: Path) -> None:
    pidfile = tmp_path / "x.pid"
    assert managed_pid(pidfile, "anything") is None
    pidfile.write_text(f"{os.getpid()}\n")
    assert pid_alive(os.getpid())
    marker = cmdline(os.getpid()).split()[0]
    assert managed_pid(pidfile, marker) == os.getpid()
    assert managed_pid(pidfile, "kafka.Kafka-not-this-process") is None
    pidfile.write_text("999999999")
    assert managed_pid(pidfile, marker) is None


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert tail(tmp_path / "missing.log") == ""


# -- the analysis plugin's metadata ----------------------------------------------------------

_ANNOTATED = re.compile(
    r'@NamedComponent\(\s*"(?P<name>[^"]+)"\s*\)\s*public\s+(?:final\s+)?class\s+(?P<cls>\w+)\s+'
    r"implements\s+(?P<iface>[\w.]+)"
)
_EXTENSIBLES = {
    "AnalyzerFactory": "org.elasticsearch.plugin.analysis.AnalyzerFactory",
    "TokenFilterFactory": "org.elasticsearch.plugin.analysis.TokenFilterFactory",
    "TokenizerFactory": "org.elasticsearch.plugin.analysis.TokenizerFactory",
    "CharFilterFactory": "org.elasticsearch.plugin.analysis.CharFilterFactory",
}


def scan_named_components(src: Path) -> dict[str, dict[str, str]]:
    """What Elasticsearch's Gradle plugin would generate: extensible -> {name -> class}."""
    found: dict[str, dict[str, str]] = {}
    for java in sorted(src.rglob("*.java")):
        text = java.read_text()
        package = re.search(r"^package\s+([\w.]+);", text, re.M)
        assert package, java
        for m in _ANNOTATED.finditer(text):
            iface = _EXTENSIBLES[m["iface"].rsplit(".", 1)[-1]]
            found.setdefault(iface, {})[m["name"]] = f"{package[1]}.{m['cls']}"
    return found


def test_named_components_json_matches_annotations() -> None:
    declared = json.loads((PLUGIN_DIR / "src/main/plugin-metadata/named_components.json").read_text())
    scanned = scan_named_components(PLUGIN_DIR / "src/main/java")
    assert declared == scanned
    assert set(scanned["org.elasticsearch.plugin.analysis.AnalyzerFactory"]) == {
        "newswire_english",
        "newswire_folded_keyword",
    }
    assert set(scanned["org.elasticsearch.plugin.analysis.TokenizerFactory"]) == {"newswire_keyword"}
    assert set(scanned["org.elasticsearch.plugin.analysis.TokenFilterFactory"]) == {
        "newswire_lowercase",
        "newswire_asciifolding",
        "newswire_english_possessive",
        "newswire_english_stop",
        "newswire_porter_stem",
    }


def test_every_component_name_is_prefixed() -> None:
    for components in scan_named_components(PLUGIN_DIR / "src/main/java").values():
        assert all(name.startswith("newswire_") for name in components)


def test_plugin_descriptor_has_no_classname() -> None:
    text = (PLUGIN_DIR / "src/main/plugin-metadata/stable-plugin-descriptor.properties").read_text()
    props = parse_properties(text)
    assert {"name", "description", "version", "elasticsearch.version", "java.version"} <= set(props)
    assert "classname" not in props
    assert plugin_version(PLUGIN_DIR) == "1.0.0"


def test_kafka_cluster_ids_never_look_like_an_option() -> None:
    from services.stack.config import new_kafka_cluster_id

    ids = {new_kafka_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(cid) == 22 and not cid.startswith("-") for cid in ids)
