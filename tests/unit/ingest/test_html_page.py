from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest import html_page
from services.ingest.html_page import extract_from_html, parse_iso_datetime
from tests.unit.ingest.helpers import fixture_text

LEAK_MARKERS = (
    "SCRIPT_IN_HEAD_MUST_NOT_LEAK",
    "INLINE_SCRIPT_MUST_NOT_LEAK",
    "STYLE_MUST_NOT_LEAK",
    "#123456",
)


@pytest.fixture
def page() -> str:
    return fixture_text("harbour-bridge.html")


def test_main_text_and_metadata(page: str) -> None:
    found = extract_from_html(page)

    assert found.title == "Harbour bridge reopens after eight months of repairs"
    assert found.source == "Coastal Gazette"
    assert found.authors == ["Jane Doe"]
    assert found.language == "en-GB"
    assert found.published_at == datetime(2024, 5, 6, 6, 30, tzinfo=UTC)
    assert found.url is not None and found.url.startswith(
        "https://News.Example.com:443/local/bridge-reopens/"
    )
    assert len(found.paragraphs) == 4
    assert found.paragraphs[0].startswith("The harbour bridge reopened to traffic on Monday")
    assert found.paragraphs[-1].startswith("The council said a ceremony")


def test_figcaption_is_the_caption_not_body(page: str) -> None:
    found = extract_from_html(page)

    assert found.caption == "Cyclists cross the rebuilt deck at dawn on Monday. (Photo by Sam Lee)"
    assert not any("Cyclists cross" in paragraph for paragraph in found.paragraphs)


def test_scripts_styles_navigation_and_footer_stay_out(page: str) -> None:
    body = "\n".join(extract_from_html(page).paragraphs)

    for marker in LEAK_MARKERS:
        assert marker not in body
    assert "Home" not in body.split()
    assert "All rights reserved" not in body


def test_paragraph_whitespace_is_collapsed(page: str) -> None:
    for paragraph in extract_from_html(page).paragraphs:
        assert "\n" not in paragraph
        assert "  " not in paragraph


def test_lxml_fallback_when_trafilatura_finds_nothing(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_page.trafilatura, "bare_extraction", lambda *args, **kwargs: None)

    found = extract_from_html(page)

    assert found.title == "Harbour bridge reopens after eight months of repairs"
    assert len(found.paragraphs) == 4
    assert not any(marker in " ".join(found.paragraphs) for marker in LEAK_MARKERS)
    assert found.caption is not None and found.caption.startswith("Cyclists")


def test_lxml_fallback_when_trafilatura_raises(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(html_page.trafilatura, "bare_extraction", explode)

    assert len(extract_from_html(page).paragraphs) == 4


def test_title_falls_back_to_the_title_tag_without_the_site_name() -> None:
    html = (
        "<html><head><title>Quiet night in town - Daily Bugle</title>"
        "<meta property='og:site_name' content='Daily Bugle'></head>"
        "<body><p>Nothing happened at all overnight, the police said on Sunday morning.</p></body></html>"
    )

    assert extract_from_html(html).title == "Quiet night in town"


def test_og_url_when_there_is_no_canonical_link() -> None:
    html = (
        "<html><head><meta property='og:url' content='https://example.org/a?utm_source=x'></head>"
        "<body><h1>T</h1><p>Some text for the body of the article.</p></body></html>"
    )

    assert extract_from_html(html).url == "https://example.org/a?utm_source=x"


def test_relative_canonical_link_is_ignored() -> None:
    html = "<html><head><link rel='canonical' href='/a'></head><body><h1>T</h1><p>Body.</p></body></html>"

    assert extract_from_html(html).url is None


@pytest.mark.parametrize("html", ["", "   ", "<?xml version='1.0' encoding='utf-8'?>", "<html></html>"])
def test_markup_without_content_yields_nothing(html: str) -> None:
    found = extract_from_html(html)

    assert found.title is None
    assert found.paragraphs == []


def test_xml_declaration_is_tolerated() -> None:
    html = (
        "<?xml version='1.0' encoding='utf-8'?><html><body><h1>Title</h1><p>Body text here.</p></body></html>"
    )

    found = extract_from_html(html)

    assert found.title == "Title"
    assert found.paragraphs == ["Body text here."]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-06T08:30:00+02:00", datetime(2024, 5, 6, 6, 30, tzinfo=UTC)),
        ("2024-05-06T08:30:00Z", datetime(2024, 5, 6, 8, 30, tzinfo=UTC)),
        ("2024-05-06", datetime(2024, 5, 6, tzinfo=UTC)),
        ("2024-05-06 at noon", datetime(2024, 5, 6, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_parse_iso_datetime(value: str, expected: datetime | None) -> None:
    assert parse_iso_datetime(value) == expected
