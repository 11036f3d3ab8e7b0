"""Secure mode of the native stack (services/stack/secure_mode.py): ports, rendered node configs and
each process's environment; the plain stack's stay as they were."""

from __future__ import annotations

from pathlib import Path

from services.stack.config import kafka_server_properties, render_elasticsearch_yml
from services.stack.kafka import Kafka
from services.stack.paths import StackPaths
from services.stack.secure_mode import ensure_material, install_es_node_material, own_env
from services.stack.settings import StackSettings


def _settings(tmp_path: Path, **extra: object) -> StackSettings:
    # the fallback too: as root, the ES user cannot enter pytest's 0700 tmp dir
    return StackSettings(state_dir=tmp_path, fallback_state_dir=tmp_path, **extra)  # type: ignore[arg-type]


def test_plain_stack_is_unchanged(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    props = kafka_server_properties(settings, StackPaths.for_settings(settings))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert settings.es_url == "http://127.0.0.1:9200"
    assert "NEWSWIRE_KAFKA_SECURITY_PROTOCOL" not in settings.client_env()


def test_secure_ports_take_a_range_of_their_own(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secure=True, kafka_brokers=3, es_nodes=3)
    clients = [settings.kafka_port_of(n) for n in settings.kafka_node_ids]
    controllers = [settings.kafka_controller_port_of(n) for n in settings.kafka_node_ids]
    brokers = [settings.kafka_broker_port_of(n) for n in settings.kafka_node_ids]
    assert (clients, controllers, brokers) == ([9092, 9094, 9096], [9093, 9095, 9097], [9192, 9194, 9196])
    assert settings.es_url == "https://127.0.0.1:9200,https://127.0.0.1:9201,https://127.0.0.1:9202"
    moved = _settings(tmp_path, secure=True, kafka_port=27092, kafka_broker_port=27300)
    assert moved.kafka_broker_port_of(2) == 27302


def test_secure_kafka_node_config(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secure=True, kafka_brokers=3)
    paths = StackPaths.for_settings(settings)
    Kafka(settings, paths, 2).write_config()
    text = paths.kafka_node(2).config.read_text()
    props = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert props["listeners"] == (
        "CLIENT://127.0.0.1:9094,BROKER://127.0.0.1:9194,CONTROLLER://127.0.0.1:9095"
    )
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["ssl.keystore.location"] == str(tmp_path / "secrets" / "kafka-2.pem")
    assert "password" not in text.lower()


def test_secure_es_node_config(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secure=True)
    paths = StackPaths.for_settings(settings)
    secure = install_es_node_material(settings, paths, 1, owner=None)
    yml = render_elasticsearch_yml(settings, paths, 1, True, secure)
    lines = [line.split(":", 1)[0] for line in yml.splitlines() if not line.startswith("#")]
    assert len(lines) == len(set(lines)), "a setting rendered twice"
    assert "xpack.security.enabled: true" in yml and "xpack.security.http.ssl.enabled: true" in yml
    config = paths.es_node(1).config_dir
    assert {p.name for p in (config / "certs").iterdir()} == {"node.crt", "node.key", "ca.crt"}
    assert (config / "users").read_text().startswith("newswire-admin:{PBKDF2}")


def test_each_process_carries_only_its_own_credentials(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secure=True)
    creds = ensure_material(settings, StackPaths.for_settings(settings)).creds
    operator = settings.client_env("operator")
    env = own_env(settings, "ingest", {**operator, "PATH": "/bin", "NEWSWIRE_SEARCH_ES_API_KEY": "x"})
    assert env["NEWSWIRE_KAFKA_SASL_USERNAME"] == "newswire-ingest"
    assert env["NEWSWIRE_KAFKA_SASL_PASSWORD"] == creds.kafka["ingest"].password
    assert env["PATH"] == "/bin"
    secrets = {login.password for login in creds.kafka.values()} | {
        login.password for login in creds.elasticsearch.values()
    }
    carried = secrets & set(env.values())
    assert carried == {creds.kafka["ingest"].password}
    assert not [key for key in env if key.endswith(("_API_KEY", "ES_USERNAME", "ES_PASSWORD"))]
