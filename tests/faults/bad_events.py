"""A catalogue of events that must never stop the pipeline, each with the DLQ reason it must get.

Most are submissions on ``articles.raw`` (what outside publishers can send); a few are malformed
internal events injected on ``articles.ingested`` and ``articles.enriched``, where only a bug or
an operator could put them, to prove the enrich and index stages quarantine them too.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.articles import ContentFormat, EnrichedArticle, EnricherRun
from schemas.envelope import ArticleEnriched, ArticleIngested, new_envelope_fields
from schemas.topics import TOPICS
from services.ingest.identity import content_hash
from services.runtime.messages import TRACE_HEADER

JSON = "application/json"
#: Over ingest's default 5 MiB limit, under the broker's 16 MiB: reaches ingest, rejected as too_large.
OVERSIZED_BYTES = 6 * 1024 * 1024
#: What issue 4 asks about: more than the broker (and our producers) accept at all.
HUGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class BadEvent:
    """One bad message: where it goes, its bytes, and the dead letter it must become."""

    kind: str
    value: bytes | None
    reason: str
    stage: str = "ingest"
    topic: str = TOPICS.raw
    content_type: str | None = None
    key: bytes | None = None
    extra_headers: dict[str, bytes] = field(default_factory=dict)

    def headers(self, trace_id: str) -> list[tuple[str, bytes]]:
        headers = [(TRACE_HEADER, trace_id.encode()), *self.extra_headers.items()]
        if self.content_type:
            headers.append(("content-type", self.content_type.encode()))
        return headers


def _json(document: Any) -> bytes:
    return orjson.dumps(document)


def _article(**fields: Any) -> bytes:
    return _json({"title": "A perfectly ordinary headline", "body": "A perfectly ordinary body.", **fields})


def _nested_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _internal_article(article_id: str, **overrides: Any) -> dict[str, Any]:
    title, paragraphs = "Injected internal event", ["It was put on an internal topic by hand."]
    now = datetime.now(UTC)
    return {
        "id": article_id,
        "id_basis": "content",
        "title": title,
        "paragraphs": paragraphs,
        "content_format": ContentFormat.TEXT,
        "content_hash": content_hash(title, "\n\n".join(paragraphs)),
        "ingested_at": now,
        **overrides,
    }


def _ingested_event(**envelope: Any) -> bytes:
    article_id = uuid.uuid4().hex
    event = ArticleIngested(**new_envelope_fields("faults"), article=_internal_article(article_id))
    return _json({**event.model_dump(mode="json"), **envelope})


def _enriched_event(envelope: dict[str, Any] | None = None, **article_fields: Any) -> bytes:
    article_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    article = EnrichedArticle(
        **_internal_article(article_id),
        word_count=9,
        reading_time_minutes=0.1,
        enrichers=[EnricherRun(name="faults", version="1")],
        enriched_at=now,
        **article_fields,
    )
    event = ArticleEnriched(**new_envelope_fields("faults"), article=article)
    return _json({**event.model_dump(mode="json"), **(envelope or {})})


def _binary_junk() -> bytes:
    # Deterministic, and certain to be invalid UTF-8 (0xff never occurs in it).
    junk = bytearray(random.Random(4).randbytes(4096))
    junk[10] = 0xFF
    return bytes(junk)


Builder = Callable[[], BadEvent]

_BUILDERS: tuple[Builder, ...] = (
    # -- not JSON, or the wrong JSON ----------------------------------------------------------------
    lambda: BadEvent("malformed_json", b'{"title": "Cut off", "body": "in the mid', "invalid_json"),
    lambda: BadEvent("json_trailing_garbage", b'{"title": "t", "body": "b"} and more', "invalid_json"),
    lambda: BadEvent(
        "json_declared_but_html", b"<html><body><p>x</p></body></html>", "invalid_json", content_type=JSON
    ),
    lambda: BadEvent("json_array", _json([{"title": "t", "body": "b"}]), "not_an_object"),
    lambda: BadEvent("json_string", _json("just a string"), "not_an_object", content_type=JSON),
    lambda: BadEvent("json_number", b"42", "not_an_object", content_type=JSON),
    lambda: BadEvent("json_null", b"null", "not_an_object", content_type=JSON),
    lambda: BadEvent("json_bomb_nesting", _nested_array(200_000), "invalid_json", content_type=JSON),
    lambda: BadEvent(
        "json_bomb_nested_field",
        _article()[:-1] + b',"extra":' + _nested_array(500) + b"}",
        "validation_failed",
    ),
    lambda: BadEvent("json_bomb_wide", _json({f"field_{n}": n for n in range(50_000)}), "validation_failed"),
    # -- wrong types and missing fields -------------------------------------------------------------
    lambda: BadEvent("title_not_a_string", _article(title=12345), "validation_failed"),
    lambda: BadEvent("body_is_a_list", _article(body=["para 1", "para 2"]), "validation_failed"),
    lambda: BadEvent("authors_is_a_string", _article(authors="Jane Doe"), "validation_failed"),
    lambda: BadEvent("published_at_not_a_date", _article(published_at="last Tuesday"), "validation_failed"),
    lambda: BadEvent("url_not_http", _article(url="javascript:alert(1)"), "validation_failed"),
    lambda: BadEvent("unknown_field", _article(titel="typo"), "validation_failed"),
    lambda: BadEvent("unknown_schema_version_field", _article(schema_version="9.0"), "validation_failed"),
    lambda: BadEvent(
        "too_many_authors", _article(authors=[f"Author {n}" for n in range(60)]), "validation_failed"
    ),
    lambda: BadEvent(
        "missing_body_json", _json({"title": "A headline and nothing else"}), "validation_failed"
    ),
    lambda: BadEvent(
        "missing_title_json", _json({"body": "A body without any headline at all."}), "missing_title"
    ),
    lambda: BadEvent("whitespace_title_json", _json({"title": "   ", "body": "Body text."}), "missing_title"),
    # -- empty, control characters, encodings -------------------------------------------------------
    lambda: BadEvent("empty_value", b"", "empty"),
    lambda: BadEvent("tombstone", None, "empty", key=b"a-publisher-key"),
    lambda: BadEvent("whitespace_only", b" \n\t\r\n  ", "empty"),
    lambda: BadEvent("control_characters_only", b"\x00\x01\x02\x1b\x7f\x00", "empty"),
    lambda: BadEvent(
        "nul_and_control_in_fields",
        _json({"title": "\u0000\u0007\u001b", "body": "Body text."}),
        "missing_title",
    ),
    lambda: BadEvent(
        "invalid_utf8", b"Headline\n\nBody with \xc3\x28 a broken sequence.", "invalid_encoding"
    ),
    lambda: BadEvent(
        "unknown_charset",
        b"Headline\n\nBody.",
        "invalid_encoding",
        content_type="text/plain; charset=klingon",
    ),
    lambda: BadEvent("utf16_without_charset", "Headline\n\nBody text.".encode("utf-16"), "invalid_encoding"),
    lambda: BadEvent("binary_junk", _binary_junk(), "invalid_encoding"),
    # -- content that is not an article -------------------------------------------------------------
    lambda: BadEvent(
        "html_only_scripts",
        b"<html><head><script>alert(1)</script></head><body><script>document.write('x')</script>"
        b"<style>p{}</style></body></html>",
        "missing_title",
    ),
    lambda: BadEvent("headline_only_text", b"A headline with no body at all", "missing_body"),
    lambda: BadEvent("headline_100k_chars", _article(title="H" * 100_000), "validation_failed"),
    lambda: BadEvent("too_many_paragraphs", _article(body="\n\n".join(["Para."] * 6_000)), "too_long"),
    lambda: BadEvent("body_over_size_limit", _article(body="x" * OVERSIZED_BYTES), "too_large"),
    # -- dates ----------------------------------------------------------------------------------------
    lambda: BadEvent(
        "published_far_future", _article(published_at="2999-01-01T00:00:00Z"), "implausible_date"
    ),
    lambda: BadEvent("published_far_past", _article(published_at="1066-10-14T09:00:00Z"), "implausible_date"),
    lambda: BadEvent("updated_far_future", _article(updated_at="9999-12-31T23:59:59Z"), "implausible_date"),
    # -- malformed internal events --------------------------------------------------------------------
    lambda: BadEvent(
        "ingested_not_json", b"\x00garbage", "invalid_json", stage="enrich", topic=TOPICS.ingested
    ),
    lambda: BadEvent(
        "ingested_unknown_schema_major",
        _ingested_event(schema_version="9.0"),
        "unsupported_schema_version",
        stage="enrich",
        topic=TOPICS.ingested,
    ),
    lambda: BadEvent(
        "ingested_missing_article",
        _json({"type": "article.ingested", "schema_version": "1.0"}),
        "validation_failed",
        stage="enrich",
        topic=TOPICS.ingested,
    ),
    lambda: BadEvent(
        "enriched_unknown_schema_major",
        _enriched_event({"schema_version": "7.3"}),
        "unsupported_schema_version",
        stage="index",
        topic=TOPICS.enriched,
    ),
    lambda: BadEvent(
        "enriched_wrong_types",
        _enriched_event({"article": {"id": "not-an-id", "word_count": "many"}}),
        "validation_failed",
        stage="index",
        topic=TOPICS.enriched,
    ),
    lambda: BadEvent(
        "enriched_refused_by_elasticsearch",
        # Valid for the contract, but a keyword term over 32 KB that Lucene refuses: a permanent
        # per-document error, dead-lettered at once while the rest of the bulk request is indexed.
        _enriched_event(countries=["X" * 40_000]),
        "es_rejected",
        stage="index",
        topic=TOPICS.enriched,
    ),
)


def catalogue() -> list[BadEvent]:
    """Every bad event, freshly built (internal events carry fresh ids and timestamps)."""
    events = [build() for build in _BUILDERS]
    kinds = [event.kind for event in events]
    assert len(set(kinds)) == len(kinds), "duplicate kind in the catalogue"
    return events
