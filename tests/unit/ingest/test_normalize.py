from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import orjson
import pytest

from schemas.articles import Article, ContentFormat
from services.ingest.identity import canonicalize_url, content_hash
from services.ingest.normalize import normalize
from services.ingest.parsing import IngestRejection, parse_submission
from tests.unit.ingest.helpers import fixture_text

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def normalized(value: bytes | str, content_type: str | None = None) -> Article:
    raw = value.encode() if isinstance(value, str) else value
    return normalize(parse_submission(raw, content_type), ingested_at=NOW)


def rejection(value: bytes | str) -> IngestRejection:
    with pytest.raises(IngestRejection) as caught:
        normalized(value)
    return caught.value


def test_seed_article(seed_bytes: bytes) -> None:
    article = normalized(seed_bytes)

    assert article.content_format is ContentFormat.TEXT
    assert article.title == "Putin, Xi meet at Central Asian summit in show of deepening cooperation"
    assert article.section == "Russia"
    assert article.source == "Press TV"
    assert article.id_basis == "content"
    assert article.id == article.content_hash[:32]
    assert article.content_hash == content_hash(article.title, article.body)
    assert article.ingested_at == NOW
    assert "Shanghai Cooperation Organization" in article.body
    assert "Astana" in article.body


def test_seed_gets_the_same_id_every_time(seed_bytes: bytes) -> None:
    first = normalized(seed_bytes)
    again = normalize(parse_submission(seed_bytes), ingested_at=datetime(2030, 1, 1, tzinfo=UTC))

    assert again.id == first.id
    assert again.content_hash == first.content_hash


def test_seed_sent_as_json_text_matches_raw_text(seed_text: str) -> None:
    as_text = normalized(seed_text)
    as_json = normalized(orjson.dumps({"text": seed_text}))

    assert as_json.content_format is ContentFormat.JSON
    assert (as_json.title, as_json.paragraphs, as_json.caption) == (
        as_text.title,
        as_text.paragraphs,
        as_text.caption,
    )
    assert as_json.id == as_text.id


def test_json_body_article() -> None:
    document = {
        "title": "  Council  approves\u00a0budget ",
        "body": "First paragraph.\n\n  Second   paragraph.  \n\n\n",
        "url": "https://Example.com/news/budget/?utm_source=rss",
        "source": "Example News",
        "section": "Local",
        "caption": "The council chamber.",
        "published_at": "2024-07-03T10:00:00+02:00",
        "authors": ["Jane Doe"],
        "language": "en",
    }

    article = normalized(orjson.dumps(document))

    assert article.content_format is ContentFormat.JSON
    assert article.title == "Council approves budget"
    assert article.paragraphs == ["First paragraph.", "Second paragraph."]
    assert article.url == "https://example.com/news/budget/?utm_source=rss"
    assert article.canonical_url == "https://example.com/news/budget"
    assert article.id_basis == "url"
    assert article.published_at == datetime(2024, 7, 3, 8, tzinfo=UTC)
    assert (article.source, article.section, article.caption) == (
        "Example News",
        "Local",
        "The council chamber.",
    )
    assert article.authors == ["Jane Doe"]
    assert article.language_hint == "en"


def test_json_time_without_zone_is_taken_as_utc() -> None:
    document = {"title": "T", "body": "B", "published_at": "2024-07-03T10:00:00"}

    assert normalized(orjson.dumps(document)).published_at == datetime(2024, 7, 3, 10, tzinfo=UTC)


def test_json_url_decides_the_id_whatever_the_text() -> None:
    one = normalized(
        orjson.dumps({"title": "A", "body": "One.", "url": "https://example.com/a?utm_medium=x"})
    )
    two = normalized(orjson.dumps({"title": "A (updated)", "body": "Two.", "url": "https://example.com/a/"}))

    assert one.id == two.id
    assert one.content_hash != two.content_hash


def test_json_fields_win_over_what_the_text_says(seed_text: str) -> None:
    article = normalized(orjson.dumps({"text": seed_text, "section": "World", "source": "Wire"}))

    assert article.section == "World"
    assert article.source == "Wire"
    assert article.breadcrumb == ["News", "Russia"]


def test_json_title_with_text_that_lacks_the_headline() -> None:
    document = {"title": "Sent separately", "text": "First paragraph.\n\nSecond paragraph."}

    article = normalized(orjson.dumps(document))

    assert article.title == "Sent separately"
    assert article.paragraphs == ["First paragraph.", "Second paragraph."]


def test_json_html_takes_title_and_caption_from_the_page() -> None:
    article = normalized(orjson.dumps({"html": fixture_text("harbour-bridge.html")}))

    assert article.content_format is ContentFormat.JSON
    assert article.title == "Harbour bridge reopens after eight months of repairs"
    assert article.caption is not None and article.caption.startswith("Cyclists")
    assert article.id_basis == "url"


def test_json_body_without_title_is_missing_title() -> None:
    assert rejection(orjson.dumps({"body": "Just a body."})).reason == "missing_title"


def test_html_page() -> None:
    article = normalized(fixture_text("harbour-bridge.html"))

    assert article.content_format is ContentFormat.HTML
    assert article.canonical_url == "https://news.example.com/local/bridge-reopens?page=2"
    assert article.id_basis == "url"
    assert article.id == normalized(fixture_text("harbour-bridge.html")).id
    assert article.caption not in article.paragraphs
    assert "MUST_NOT_LEAK" not in article.body
    assert article.published_at == datetime(2024, 5, 6, 6, 30, tzinfo=UTC)


def test_canonical_url_and_url_id_agree() -> None:
    article = normalized(fixture_text("harbour-bridge.html"))

    assert article.canonical_url == canonicalize_url(article.url or "")


def test_text_is_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Café owners protest\n\nThe café owners of Montréal protested.")

    article = normalized(decomposed)

    assert article.title == "Café owners protest"
    assert unicodedata.is_normalized("NFC", article.body)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Only a headline", "missing_body"),
        ("News / Russia\n\nHeadline only", "missing_body"),
        ("x" * 400, "missing_title"),
        ("Headline\n\nSHARE THIS ARTICLE\nwww.example.com", "missing_body"),
        ("<html><body><script>var a = 1;</script></body></html>", "missing_title"),
        (orjson.dumps({"title": "T", "body": "\u0000\u0007"}), "missing_body"),
    ],
)
def test_unusable_articles_are_rejected(value: bytes | str, reason: str) -> None:
    assert rejection(value).reason == reason


def test_overlong_html_title_is_a_validation_failure() -> None:
    html = f"<html><head><title>{'T' * 1200}</title></head><body><p>Body text.</p></body></html>"

    failure = rejection(html)

    assert failure.reason == "validation_failed"
    assert failure.detail.startswith("title")
