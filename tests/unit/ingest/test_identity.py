from __future__ import annotations

import hashlib

import pytest

from services.ingest.identity import article_id, canonicalize_url, content_hash


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/News/Story", "https://example.com/News/Story"),
        ("https://example.com/story/", "https://example.com/story"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&utm_medium=y&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=abc&gclid=def&ref=home", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/a?q=", "https://example.com/a?q="),
    ],
)
def test_canonicalize_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "/relative/path", "not a url", "https://", "http://h:99999/"]
)
def test_only_absolute_http_urls_have_a_canonical_form(url: str) -> None:
    assert canonicalize_url(url) is None


def test_tracking_variants_of_one_page_share_an_id() -> None:
    variants = [
        "https://www.example.com/world/story-1",
        "https://WWW.example.com/world/story-1/?utm_campaign=rss#top",
        "https://www.example.com:443/world/story-1?fbclid=xyz",
    ]

    ids = {article_id(canonicalize_url(url), "Title", "Body")[0] for url in variants}

    assert len(ids) == 1


def test_url_id_is_a_hash_of_the_canonical_url() -> None:
    identifier, basis = article_id("https://example.com/a", "Title", "Body")

    assert basis == "url"
    assert identifier == hashlib.sha256(b"https://example.com/a").hexdigest()[:32]


def test_content_id_without_url() -> None:
    identifier, basis = article_id(None, "Title", "Body")

    assert basis == "content"
    assert identifier == content_hash("Title", "Body")[:32]
    assert article_id(None, "Title", "Other body")[0] != identifier


def test_content_hash_is_sha256_of_title_and_body() -> None:
    assert content_hash("T", "B") == hashlib.sha256(b"T\nB").hexdigest()
