"""The alert service's pure parts: signatures, backoff, alert events from hits, sent-alert ids."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from schemas.watches import Watch
from services.alert.handler import alert_from
from services.alert.matching import Match, sent_id
from services.alert.settings import Settings
from services.alert.webhooks import Backoff, signature, signature_matches


def a_watch(**changes: object) -> Watch:
    fields: dict[str, object] = {
        "id": "xi",
        "name": "Xi",
        "owner": "desk",
        "search": {"speaker": "Xi Jinping"},
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fields.update(changes)
    return Watch.model_validate(fields)


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"watch_id":"xi"}'
    expected = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert signature(body, "k" * 16) == f"sha256={expected}"
    assert signature_matches(body, "k" * 16, f"sha256={expected}")
    assert not signature_matches(body + b" ", "k" * 16, f"sha256={expected}")
    assert not signature_matches(body, "k" * 16, None)


@pytest.mark.parametrize("failed_tries", [1, 2, 3, 10])
def test_backoff_grows_and_is_capped(failed_tries: int) -> None:
    backoff = Backoff(attempts=5, initial_s=0.5, max_s=4.0)
    ceiling = min(4.0, 0.5 * 2 ** (failed_tries - 1))
    for _ in range(20):
        assert ceiling / 2 <= backoff.pause(failed_tries) <= ceiling


def test_sent_ids_are_per_article_unless_the_watch_asks_for_revisions() -> None:
    article = "a" * 32
    assert sent_id(a_watch(), article, 7) == f"xi:{article}"
    assert sent_id(a_watch(alert_on_revisions=True), article, 7) == f"xi:{article}:7"


def test_an_alert_takes_title_url_highlight_and_quote_from_the_hit() -> None:
    hit = {
        "_id": "b" * 32,
        "_source": {
            "id": "b" * 32,
            "title": "Putin, Xi meet",
            "canonical_url": "https://news.example/a",
            "revision": 42,
            "published_at": "2024-07-03T10:00:00Z",
        },
        "highlight": {"title": ["Putin, <em>Xi</em> meet"], "body": ["<em>Xi</em> said"]},
        "inner_hits": {
            "quotes": {
                "hits": {
                    "hits": [
                        {
                            "_source": {"text": "friendship", "speaker": "Xi Jinping"},
                            "highlight": {"quotes.text": ["<em>friendship</em>"]},
                        }
                    ]
                }
            }
        },
    }
    when = datetime(2026, 12, 5, tzinfo=UTC)
    first = alert_from(Match(a_watch(), hit), "trace-1", when)
    again = alert_from(Match(a_watch(), hit), "trace-2", when)
    assert (first.article_id, first.title, first.url, first.revision) == (
        "b" * 32,
        "Putin, Xi meet",
        "https://news.example/a",
        42,
    )
    assert first.snippet == "<em>Xi</em> said"
    assert first.quote is not None and first.quote.highlight == "<em>friendship</em>"
    assert first.event_id == again.event_id, "a repeated alert keeps its event id"
    assert first.key() == f"xi:{'b' * 32}"


def test_a_batch_fits_one_search_page() -> None:
    with pytest.raises(ValueError):
        Settings(max_batch=101)
