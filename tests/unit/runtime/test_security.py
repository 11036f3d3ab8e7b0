"""Credentials: configured through settings, handed to the real clients, and never logged.

The CA certificate below is a throwaway self-signed test certificate (no key exists anywhere); the
clients only need to be able to load it.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from services.index.bootstrap import make_client, wait_for_elasticsearch
from services.runtime import kafka as runtime_kafka
from services.runtime.logging import configure_logging
from services.runtime.settings import ElasticsearchSettings, KafkaSettings

REPO_ROOT = Path(__file__).resolve().parents[3]
KAFKA_SECRET = "kafka-pw-7f3a9c"
ES_SECRET = "es-pw-51d0be"
ES_API_KEY = "es-api-key-c0ffee"
TEST_CA = """-----BEGIN CERTIFICATE-----
MIIDGTCCAgGgAwIBAgIUTcgiRVlR6zid0c2lcvbe9drwSfswDQYJKoZIhvcNAQEL
BQAwGzEZMBcGA1UEAwwQbmV3c3dpcmUgdGVzdCBDQTAgFw0yNjExMjgwMDM2MDRa
GA8yMTI2MTEwNDAwMzYwNFowGzEZMBcGA1UEAwwQbmV3c3dpcmUgdGVzdCBDQTCC
ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBANJ7AB6aPM/qMk1vafUwnVmJ
ag26oqcBOMUw7SIUDPpcxg8MRLXB5Q0qDSOnrM6/7k8/SC78tL0ylVF91+KVpTir
fj9GWQQcnwBAveQdKCxqWrimnBcIxqpX63cWQzWrcvwmLUJ+YipG7qB7OJt9Gtoz
toSmwW55t/cbQ8dHnUw5J3c8oCLomA8SvJz2TpyqF0zKpXiaGKpAyrhks3p1PW8z
v/7ue/3hpxDIL7Eh42Hhc/DH3jjcYyS0AZ7CMbrYCJnbu7iZ/0umx2p22eoTqF3g
UnZlTtZf8wSIs2iuwq8K4P+5BrGowKLNj03fTiDd9Ez/mL4UacqP8yQOTr4JE7sC
AwEAAaNTMFEwHQYDVR0OBBYEFCBq2cW6BHygr3HFMISBuz8z15VOMB8GA1UdIwQY
MBaAFCBq2cW6BHygr3HFMISBuz8z15VOMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI
hvcNAQELBQADggEBAK59Uaf0UIa3tlLAS2XS5wH5s2t9l/dMBJMgvcqipMB3UTvk
Tiuj76riy6GQ3ClIPZKlTGm7o63CEmM4tNLQFfnmLkKUTv+naU7z/pdtNAhSCcd8
WypkYR3tQguPG43/zwLexXdYnIKbwzbyce1gJJM+QRMQ2jyTv92nqOE5NWFNTnAo
DfEc5kBXPqAHXodaPhoqYpnmzoqjk7YmKsxByhXkoXkI9MLcOpQcJNyqU4rWKiKq
502if8PsV8S6c2LR106AMqVOTvaje0/xlb2qR2/2J0ou/wzjfAiL3zc0irZjiEKG
Yz32GdO6YpN1Bu0ebVNu6dXK7frtS1MFx/lkMJY=
-----END CERTIFICATE-----
"""
SECRETS = (KAFKA_SECRET, ES_SECRET, ES_API_KEY)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text(TEST_CA)
    return path


@pytest.fixture
def secure_env(monkeypatch: pytest.MonkeyPatch, ca_file: Path) -> dict[str, str]:
    env = {
        "NEWSWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSWIRE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "NEWSWIRE_KAFKA_SASL_USERNAME": "pipeline",
        "NEWSWIRE_KAFKA_SASL_PASSWORD": KAFKA_SECRET,
        "NEWSWIRE_KAFKA_SSL_CAFILE": str(ca_file),
        "NEWSWIRE_ES_URL": "https://127.0.0.1:1",
        "NEWSWIRE_ES_USERNAME": "indexer",
        "NEWSWIRE_ES_PASSWORD": ES_SECRET,
        "NEWSWIRE_ES_CA_CERTS": str(ca_file),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


class Recorder:
    """Stands in for a kafka-python client class and keeps the configuration it was given."""

    configs: list[dict[str, Any]]

    def __init__(self, **config: Any) -> None:
        type(self).configs.append(config)

    def subscribe(self, topics: list[str]) -> None:
        pass


def test_kafka_sasl_ssl_settings_reach_producers_and_consumers(
    secure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, ca_file: Path
) -> None:
    class Producers(Recorder):
        configs: list[dict[str, Any]] = []  # noqa: RUF012

    class Consumers(Recorder):
        configs: list[dict[str, Any]] = []  # noqa: RUF012

    producers, consumers = Producers, Consumers
    monkeypatch.setattr(runtime_kafka, "KafkaProducer", producers)
    monkeypatch.setattr(runtime_kafka, "KafkaConsumer", consumers)

    runtime_kafka.make_producer(KafkaSettings(), "test")
    runtime_kafka.make_consumer(KafkaSettings(), "group", ["articles.raw"], "test")

    for config, client in ((producers.configs[0], KafkaProducer), (consumers.configs[0], KafkaConsumer)):
        assert config["security_protocol"] == "SASL_SSL"
        assert config["sasl_mechanism"] == "SCRAM-SHA-512"
        assert config["sasl_plain_username"] == "pipeline"
        assert config["sasl_plain_password"] == KAFKA_SECRET
        assert config["ssl_cafile"] == str(ca_file)
        unknown = set(config) - set(client.DEFAULT_CONFIG)
        assert not unknown, f"{client.__name__} does not know {unknown}"


def test_faust_gets_the_same_sasl_ssl_credentials(secure_env: dict[str, str]) -> None:
    from services.enrich.app import broker_credentials

    credentials: Any = broker_credentials(KafkaSettings())

    assert (credentials.username, credentials.password) == ("pipeline", KAFKA_SECRET)
    assert getattr(credentials.mechanism, "value", credentials.mechanism) == "SCRAM-SHA-512"
    assert credentials.ssl_context is not None
    assert credentials.ssl_context.get_ca_certs()  # the CA file was loaded


def test_elasticsearch_basic_auth_and_ca_reach_the_client(secure_env: dict[str, str], ca_file: Path) -> None:
    client = make_client(ElasticsearchSettings())

    header = client._headers.get("authorization") or ""
    assert header.startswith("Basic ")
    assert base64.b64decode(header.split()[1]).decode() == f"indexer:{ES_SECRET}"
    node = client.transport.node_pool.all()[0]
    assert node.config.ca_certs == str(ca_file)
    assert node.config.scheme == "https"
    client.close()


def test_elasticsearch_api_key_wins_over_basic_auth(
    secure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWIRE_ES_API_KEY", ES_API_KEY)

    client: Elasticsearch = make_client(ElasticsearchSettings())

    assert client._headers.get("authorization") == f"ApiKey {ES_API_KEY}"
    client.close()


def test_secrets_are_not_in_settings_reprs_or_validation_errors(
    secure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest.settings import Settings
    from services.runtime.settings import load_settings

    shown = repr(KafkaSettings()) + repr(ElasticsearchSettings()) + str(ElasticsearchSettings().model_dump())
    assert not [secret for secret in SECRETS if secret in shown]

    monkeypatch.setenv("NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S", f"not-a-number-{KAFKA_SECRET}")
    with pytest.raises(SystemExit) as exited:
        load_settings(Settings)
    assert "NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S" in str(exited.value)
    assert KAFKA_SECRET not in str(exited.value)


def test_waiting_for_unreachable_services_logs_no_secret_even_at_debug(
    secure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S", "2")
    monkeypatch.setenv("NEWSWIRE_ES_STARTUP_TIMEOUT_S", "2")
    captured = io.StringIO()
    configure_logging("test", "DEBUG", json_lines=True)
    logging.getLogger().handlers[0].setStream(captured)  # type: ignore[attr-defined]
    try:
        with pytest.raises(TimeoutError):
            runtime_kafka.wait_for_broker(KafkaSettings())
        with pytest.raises((TimeoutError, PermissionError)):
            wait_for_elasticsearch(ElasticsearchSettings())
    finally:
        configure_logging("test", "WARNING", json_lines=True)
    logged = captured.getvalue()
    assert '"logger": "kafka' in logged and "127.0.0.1:1" in logged, logged[-2000:]
    assert not [secret for secret in SECRETS if secret in logged]


@pytest.mark.parametrize("service", ["ingest", "index"])
def test_a_service_start_with_secrets_set_logs_none_of_them(secure_env: dict[str, str], service: str) -> None:
    """The service's own JSON logs, at DEBUG, while it fails to reach a broker that is not there."""
    env = {
        **os.environ,
        **secure_env,
        "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S": "2",
        f"NEWSWIRE_{service.upper()}_LOG_LEVEL": "DEBUG",
        f"NEWSWIRE_{service.upper()}_METRICS_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the service should give up on the missing broker"
    assert '"level": "debug"' in output or '"level": "info"' in output, output[-2000:]
    leaked = [secret for secret in SECRETS if secret in output]
    assert not leaked, f"{service} logged a secret: {leaked}"
