"""Index service settings come from NEWSWIRE_INDEX_* and the shared connection prefixes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.index.app import fetch_linger
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


def test_linger_becomes_the_consumers_fetch_wait() -> None:
    assert fetch_linger(Settings(linger_ms=200, linger_min_bytes=4096)) == {
        "fetch_min_bytes": 4096,
        "fetch_max_wait_ms": 200,
    }


def test_no_linger_returns_fetches_on_the_first_record_without_polling_in_a_busy_loop() -> None:
    # fetch.max.wait.ms 0 with nothing to read would answer every fetch at once, empty.
    assert fetch_linger(Settings(linger_ms=0)) == {"fetch_min_bytes": 1, "fetch_max_wait_ms": 500}
