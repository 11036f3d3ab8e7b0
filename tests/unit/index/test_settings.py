"""Index service settings come from NEWSWIRE_INDEX_* and the shared connection prefixes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.index.settings import Settings


def test_defaults() -> None:
    settings = Settings()

    assert settings.group_id == "newswire-index"
    assert settings.max_batch == 2000


def test_environment_overrides_service_and_connection_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_INDEX_GROUP_ID", "newswire-index-test")
    monkeypatch.setenv("NEWSWIRE_INDEX_MAX_BATCH", "50")
    monkeypatch.setenv("NEWSWIRE_INDEX_ITEM_RETRY_ATTEMPTS", "0")
    monkeypatch.setenv("NEWSWIRE_ES_URL", "http://es-a:9200,http://es-b:9200")
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "broker:9093")

    settings = Settings()

    assert settings.group_id == "newswire-index-test"
    assert settings.max_batch == 50
    assert settings.item_retry_attempts == 0
    assert settings.elasticsearch.client_kwargs()["hosts"] == ["http://es-a:9200", "http://es-b:9200"]
    assert settings.kafka.client_config()["bootstrap_servers"] == ["broker:9093"]


def test_nonsense_batch_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_INDEX_MAX_BATCH", "0")

    with pytest.raises(ValidationError):
        Settings()
