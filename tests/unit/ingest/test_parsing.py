from __future__ import annotations

import orjson
import pytest

from services.ingest.parsing import (
    HtmlSubmission,
    IngestRejection,
    JsonSubmission,
    TextSubmission,
    looks_like_html,
    parse_submission,
    strip_control_characters,
)


def rejection_of(
    value: bytes | None, content_type: str | None = None, max_bytes: int = 10_000
) -> IngestRejection:
    with pytest.raises(IngestRejection) as caught:
        parse_submission(value, content_type, max_bytes)
    return caught.value


def test_json_object_becomes_a_raw_article() -> None:
    value = orjson.dumps({"title": " Headline ", "body": "First paragraph.", "authors": ["A. Writer"]})

    submission = parse_submission(value)

    assert isinstance(submission, JsonSubmission)
    assert submission.article.title == "Headline"
    assert submission.article.authors == ["A. Writer"]


@pytest.mark.parametrize(
    "value",
    [
        b"<!DOCTYPE html><html><body><p>Hello</p></body></html>",
        b"  <html lang='en'><p>x</p></html>",
        b"<body>Text</body>",
        b"<article><h1>Title</h1><p>Body</p></article>",
    ],
)
def test_markup_is_recognised_as_html(value: bytes) -> None:
    assert isinstance(parse_submission(value), HtmlSubmission)


@pytest.mark.parametrize(
    "text",
    [
        "Headline\n\nBody that mentions the <p> tag once.",
        "[Updated] Headline\n\nBody.",
        "News / Russia\n\nHeadline\n\nBody.",
    ],
)
def test_prose_is_raw_text(text: str) -> None:
    assert isinstance(parse_submission(text.encode()), TextSubmission)


def test_content_type_header_overrides_sniffing() -> None:
    value = b'{"looks": "like json"}\n\nbut the publisher says it is text'

    assert isinstance(parse_submission(value, "text/plain; charset=utf-8"), TextSubmission)
    assert isinstance(parse_submission(b"<p>a</p>", "text/html"), HtmlSubmission)
    assert rejection_of(b"Headline\n\nBody", "application/json").reason == "invalid_json"


def test_declared_charset_is_honoured() -> None:
    value = "Caf\u00e9 reopens\n\nThe caf\u00e9 reopened.".encode("latin-1")

    submission = parse_submission(value, "text/plain; charset=ISO-8859-1")

    assert isinstance(submission, TextSubmission)
    assert submission.text.startswith("Café")


def test_byte_order_mark_is_dropped() -> None:
    submission = parse_submission(b"\xef\xbb\xbf" + orjson.dumps({"title": "T", "body": "B"}))

    assert isinstance(submission, JsonSubmission)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"Headline\n\n\xff\xfe broken", "invalid_encoding"),
        (b"", "empty"),
        (None, "empty"),
        (b" \n\t \r\n", "empty"),
        (b"\x00\x01\x02\x00", "empty"),
        (b"x" * 10_001, "too_large"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'{"title": "Unclosed', "invalid_json"),
        (b'{"title": "T", "body": "B",}', "invalid_json"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(value: bytes | None, reason: str) -> None:
    assert rejection_of(value).reason == reason


def test_invalid_encoding_detail_gives_the_position() -> None:
    assert "byte 10" in rejection_of(b"Headline\n\n\xff").detail


def test_unknown_charset_is_an_encoding_problem() -> None:
    assert rejection_of(b"text", "text/plain; charset=no-such-charset").reason == "invalid_encoding"


def test_unknown_field_is_named() -> None:
    rejection = rejection_of(orjson.dumps({"titel": "Typo", "body": "Body"}))

    assert rejection.reason == "validation_failed"
    assert "titel" in rejection.detail


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"title": 42, "body": "B"}, "title"),
        ({"title": "T", "body": "B", "authors": "Jane Doe"}, "authors"),
        ({"title": "T", "body": "B", "published_at": "last Tuesday"}, "published_at"),
        ({"title": "T", "body": "B", "url": "not a url"}, "url"),
        ({"title": "T", "body": ["a", "b"]}, "body"),
    ],
)
def test_wrong_types_name_the_field(document: dict[str, object], field: str) -> None:
    rejection = rejection_of(orjson.dumps(document))

    assert rejection.reason == "validation_failed"
    assert rejection.detail.startswith(f"{field}")


def test_json_without_content_is_rejected() -> None:
    rejection = rejection_of(orjson.dumps({"title": "Only a headline", "body": "   "}))

    assert rejection.reason == "validation_failed"
    assert "body" in rejection.detail


def test_control_characters_are_stripped_but_line_structure_kept() -> None:
    cleaned = strip_control_characters("Head\x00line\r\n\r\nBody\x07 text\x1b.\tEnd\x7f")

    assert cleaned == "Headline\n\nBody text.\tEnd"


def test_nul_bytes_inside_a_submission_are_removed() -> None:
    submission = parse_submission(b"Head\x00line\n\nBody\x00 text.")

    assert isinstance(submission, TextSubmission)
    assert "\x00" not in submission.text


def test_html_sniffing_needs_more_than_one_stray_tag() -> None:
    assert not looks_like_html("Use a <p> element for paragraphs.")
    assert looks_like_html("<p>One</p><p>Two</p>")
