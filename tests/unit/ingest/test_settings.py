from __future__ import annotations

import pytest

from services.ingest.settings import Settings


def test_defaults() -> None:
    settings = Settings()

    assert settings.group_id == "newswire-ingest"
    assert settings.max_message_bytes == 5 * 1024 * 1024


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_INGEST_GROUP_ID", "other-group")
    monkeypatch.setenv("NEWSWIRE_INGEST_MAX_MESSAGE_BYTES", "1024")
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")

    settings = Settings()

    assert settings.group_id == "other-group"
    assert settings.max_message_bytes == 1024
    assert settings.kafka.client_config()["bootstrap_servers"] == ["kafka-1:9092", "kafka-2:9092"]
