"""What ``make up`` prints at the end: the web page's address beside the search it ran."""

from __future__ import annotations

import pytest

from services.stack.quickstart import DEMO_QUERY, next_steps, search_address


def test_the_last_line_is_the_demo_search_on_the_web_page() -> None:
    text = next_steps("http://127.0.0.1:8080")

    last = text.strip().splitlines()[-1]
    assert last == "The same search in a browser: http://127.0.0.1:8080/?q=Shanghai+Cooperation+Organization"
    assert DEMO_QUERY.replace(" ", "+") in last
    assert "http://127.0.0.1:8080/search?q=Astana" in text


def test_in_secure_mode_the_cli_gets_a_principal_and_elasticsearch_no_plain_curl() -> None:
    plain = next_steps("http://127.0.0.1:8080")
    secure = next_steps("http://127.0.0.1:8080", secure=True)

    assert "localhost:9200" in plain and "localhost:9200" not in secure
    assert 'eval "$(newswire stack env --process operator)"' in secure
    assert "stack env" not in plain
    assert "make down SECURE=1" in secure and "make down SECURE=1" not in plain
    assert secure.strip().splitlines()[-1] == plain.strip().splitlines()[-1]


def test_the_address_follows_the_search_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_SEARCH_PORT", "18080")
    monkeypatch.setenv("NEWSWIRE_SEARCH_HOST", "0.0.0.0")
    assert search_address() == "http://127.0.0.1:18080"
    monkeypatch.setenv("NEWSWIRE_SEARCH_HOST", "search.example")
    assert search_address() == "http://search.example:18080"


def test_workers_reach_the_pipeline_and_bad_counts_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.stack import quickstart

    calls: list[tuple[float, dict[str, int] | None]] = []

    def run_up(timeout: float, workers: dict[str, int] | None = None) -> int:
        calls.append((timeout, workers))
        return 0

    monkeypatch.setattr(quickstart, "run_up", run_up)

    assert quickstart.main(["up", "--workers", "enrich=3,index=2"]) == 0
    assert quickstart.main(["up"]) == 0
    assert calls == [(180.0, {"enrich": 3, "index": 2}), (180.0, {})]
    for bad in ("enrich=10", "search=2", "enrich", "nothing=2"):
        with pytest.raises(SystemExit):
            quickstart.main(["up", "--workers", bad])
