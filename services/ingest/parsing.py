"""Recognising what a publisher sent on ``articles.raw``: a JSON object, an HTML page or raw page text.

Everything here is a pure function of the message bytes (and its ``content-type`` header); a
submission that can never become an article raises :class:`IngestRejection` with a stable reason.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from schemas.articles import RawArticle
from schemas.dead_letter import FailureReason

DEFAULT_MAX_MESSAGE_BYTES = 5 * 1024 * 1024

# C0/C1 control characters and DEL, except the whitespace that carries text structure.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HTML_DOCUMENT = re.compile(r"<!doctype\s+html|<(?:html|head|body)\b[^>]*>", re.IGNORECASE)
_HTML_BLOCK_TAG = re.compile(
    r"</?(?:p|article|main|section|div|h[1-6]|figure|figcaption|br|ul|ol|li|blockquote|span|a|time)"
    r"\b[^<>]*>",
    re.IGNORECASE,
)
# Enough of the text to see its markup without scanning a 5 MB page with regexes.
_SNIFF_CHARS = 20_000


class IngestRejection(Exception):
    """A submission that can never become an article, with a stable ``reason`` code for the DLQ."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class JsonSubmission:
    article: RawArticle


@dataclass(frozen=True)
class TextSubmission:
    text: str


@dataclass(frozen=True)
class HtmlSubmission:
    html: str


Submission = JsonSubmission | TextSubmission | HtmlSubmission


def parse_submission(
    value: bytes | None,
    content_type: str | None = None,
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> Submission:
    """Decode, clean and classify one ``articles.raw`` message value.

    An explicit ``content-type`` (``application/json``, ``text/html``, ``text/plain``) decides the
    format; without one the text itself does.
    """
    if value is not None and len(value) > max_bytes:
        raise IngestRejection(
            FailureReason.TOO_LARGE, f"the message has {len(value)} bytes; the limit is {max_bytes}"
        )
    if not value or not value.strip():
        raise IngestRejection(FailureReason.EMPTY, "the message has no content")
    text = strip_control_characters(decode(value, content_type))
    if not text.strip():
        raise IngestRejection(FailureReason.EMPTY, "the message holds only whitespace or control characters")

    media_type = _media_type(content_type)
    if media_type in ("application/json", "text/json") or media_type.endswith("+json"):
        return JsonSubmission(parse_json_article(text))
    if media_type in ("text/html", "application/xhtml+xml"):
        return HtmlSubmission(text)
    if media_type == "text/plain":
        return TextSubmission(text)

    start = text.lstrip()[:1]
    if start == "{":
        return JsonSubmission(parse_json_article(text))
    if start == "[":
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # prose that happens to open with a bracket, e.g. "[Updated] ..."
        else:
            raise IngestRejection(FailureReason.NOT_AN_OBJECT, "expected a JSON object, got a JSON array")
    if looks_like_html(text):
        return HtmlSubmission(text)
    return TextSubmission(text)


def decode(value: bytes, content_type: str | None = None) -> str:
    """The message as text: UTF-8 (BOM dropped) unless the content type names another charset."""
    charset = _charset(content_type) or "utf-8"
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        raise IngestRejection(
            FailureReason.INVALID_ENCODING, f"unknown charset {charset!r} in content-type"
        ) from None
    if codec == "utf-8":
        codec = "utf-8-sig"
    try:
        return value.decode(codec)
    except UnicodeDecodeError as exc:
        raise IngestRejection(
            FailureReason.INVALID_ENCODING,
            f"not valid {charset.upper()}: {exc.reason} at byte {exc.start}",
        ) from None


def strip_control_characters(text: str) -> str:
    """Drop NUL and other control characters; unify line endings to ``\\n``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARS.sub("", text)


def looks_like_html(text: str) -> bool:
    """True for a page or fragment of markup, not for prose that mentions a tag once."""
    head = text[:_SNIFF_CHARS]
    if _HTML_DOCUMENT.search(head):
        return True
    return len(_HTML_BLOCK_TAG.findall(head)) >= 2


def parse_json_article(text: str) -> RawArticle:
    """Validate a JSON submission; errors name the offending fields."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise IngestRejection(FailureReason.INVALID_JSON, f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise IngestRejection(
            FailureReason.NOT_AN_OBJECT, f"expected a JSON object, got {_json_kind(document)}"
        )
    try:
        return RawArticle.model_validate(document)
    except ValidationError as exc:
        raise IngestRejection(FailureReason.VALIDATION_FAILED, describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each starting with the field it concerns."""
    problems = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "article"
        problems.append(f"{field}: {error['msg']}")
    return "; ".join(problems)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return None


def _json_kind(document: object) -> str:
    if isinstance(document, list):
        return "a JSON array"
    if isinstance(document, str):
        return "a JSON string"
    if isinstance(document, bool):
        return "a JSON boolean"
    if document is None:
        return "JSON null"
    return "a JSON number"
