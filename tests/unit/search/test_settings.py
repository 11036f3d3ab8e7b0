"""The search service's settings: its own read-only credentials replace the writers' ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from services.runtime.settings import load_settings
from services.search.archive import Archive
from services.search.settings import Settings

WRITER_PASSWORD = "writer-pw-9d2e"
READER_KEY = "reader-key-5b7a"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("NEWSWIRE_ES_API_KEY", "NEWSWIRE_SEARCH_ES_API_KEY", "NEWSWIRE_SEARCH_ES_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSWIRE_ES_URL", "https://es.example:9200")
    monkeypatch.setenv("NEWSWIRE_ES_USERNAME", "newswire")
    monkeypatch.setenv("NEWSWIRE_ES_PASSWORD", WRITER_PASSWORD)
    yield monkeypatch


def test_without_its_own_credentials_it_uses_the_shared_ones(env: pytest.MonkeyPatch) -> None:
    kwargs = Settings().elasticsearch_settings().client_kwargs()

    assert kwargs["basic_auth"] == ("newswire", WRITER_PASSWORD)
    assert kwargs["hosts"] == ["https://es.example:9200"]


def test_a_read_only_api_key_replaces_the_writers_password(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWSWIRE_SEARCH_ES_API_KEY", READER_KEY)

    kwargs = Settings().elasticsearch_settings().client_kwargs()

    assert kwargs["api_key"] == READER_KEY
    assert "basic_auth" not in kwargs
    assert WRITER_PASSWORD not in repr(kwargs)
    assert kwargs["hosts"] == ["https://es.example:9200"]


def test_a_read_only_user_replaces_the_shared_api_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWSWIRE_ES_API_KEY", "writer-key")
    env.setenv("NEWSWIRE_SEARCH_ES_USERNAME", "newswire-search")
    env.setenv("NEWSWIRE_SEARCH_ES_PASSWORD", "reader-pw")

    kwargs = Settings().elasticsearch_settings().client_kwargs()

    assert kwargs["basic_auth"] == ("newswire-search", "reader-pw") and "api_key" not in kwargs


def test_the_archive_client_carries_the_read_only_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWSWIRE_SEARCH_ES_API_KEY", READER_KEY)

    async def headers() -> dict[str, str]:
        archive = Archive(Settings())
        try:
            return dict(archive.es._headers)
        finally:
            await archive.close()

    assert asyncio.run(headers())["authorization"] == f"ApiKey {READER_KEY}"


def test_the_client_waits_a_little_longer_than_the_query_timeout() -> None:
    for seconds in (0.5, 10.0, 60.0):
        waits = Settings(query_timeout_s=seconds).client_request_timeout_s()
        assert seconds < waits <= seconds + 5


def test_a_bad_setting_names_the_variable_and_hides_the_value(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWSWIRE_SEARCH_PORT", "eighty")

    with pytest.raises(SystemExit) as exited:
        load_settings(Settings)

    assert "NEWSWIRE_SEARCH_PORT" in str(exited.value) and "eighty" not in str(exited.value)
