from __future__ import annotations

from pathlib import Path

import pytest

from services.enrich.producer import broker_urls
from services.enrich.settings import Settings


def test_defaults_name_the_group_and_keep_the_web_server_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSWIRE_ENRICH_APP_ID", "NEWSWIRE_ENRICH_WEB_ENABLED", "NEWSWIRE_ENRICH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.app_id == "newswire-enrich"
    assert settings.web_enabled is False
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 6066)
    assert settings.faust_data_dir.name == "newswire-enrich-newswire-enrich"


def test_environment_overrides_with_the_service_and_kafka_prefixes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSWIRE_ENRICH_APP_ID", "enrich-test-1")
    monkeypatch.setenv("NEWSWIRE_ENRICH_WEB_PORT", "7077")
    monkeypatch.setenv("NEWSWIRE_ENRICH_DLQ_PAYLOAD_MAX_BYTES", "123")
    monkeypatch.setenv("NEWSWIRE_ENRICH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
    monkeypatch.setenv("NEWSWIRE_TOPICS_PARTITIONS", "6")
    settings = Settings()
    assert settings.app_id == "enrich-test-1"
    assert settings.web_port == 7077
    assert settings.dlq_payload_max_bytes == 123
    assert settings.faust_data_dir == tmp_path
    # faust's broker URLs, as the app builds them (the idempotent transport's scheme)
    assert broker_urls(settings.kafka) == ["newswire-kafka://k1:9092", "newswire-kafka://k2:9093"]
    assert settings.topics.partitions == 6


def test_an_app_id_that_is_not_a_safe_topic_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_ENRICH_APP_ID", "has spaces/and slashes")
    with pytest.raises(ValueError, match="app_id"):
        Settings()
