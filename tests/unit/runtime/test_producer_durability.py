"""Every producer of the project writes with acks=all and idempotence (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from services.runtime import kafka as runtime_kafka
from services.runtime.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[3]


class RecordingProducer:
    configs: list[dict[str, Any]] = []  # noqa: RUF012

    def __init__(self, **config: Any) -> None:
        self.configs.append(config)


def test_make_producer_asks_every_in_sync_replica_and_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    RecordingProducer.configs = []
    monkeypatch.setattr(runtime_kafka, "KafkaProducer", RecordingProducer)

    runtime_kafka.make_producer(KafkaSettings(), "test")

    (config,) = RecordingProducer.configs
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert config["retries"] > 0
    # kafka-python turns idempotence off, with a warning only, when these conflict with it.
    assert config["max_in_flight_requests_per_connection"] <= 5
    assert not set(config) - set(KafkaProducer.DEFAULT_CONFIG)


def test_faust_producer_of_enrich_is_idempotent_with_acks_all() -> None:
    from services.enrich import app as enrich_app
    from services.enrich.producer import IdempotentProducer

    assert enrich_app.app.transport.Producer is IdempotentProducer
    producer = enrich_app.app.producer
    assert isinstance(producer, IdempotentProducer)
    settings = {**producer._settings_default(), **producer._settings_extra()}  # what aiokafka gets
    assert settings["acks"] == "all"
    assert settings["enable_idempotence"] is True
    assert settings["client_id"] == enrich_app.app.conf.broker_client_id


def test_no_producer_is_built_outside_the_shared_factories() -> None:
    """A new ``KafkaProducer(...)``/``AIOKafkaProducer(...)`` in the services must go through
    ``make_producer`` (or faust's transport), or it would write without idempotence."""
    allowed = {Path("services/runtime/kafka.py")}
    found = []
    for path in sorted((REPO / "services").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("KafkaProducer", "AIOKafkaProducer"):
                    found.append(path.relative_to(REPO))
    assert set(found) <= allowed, found
