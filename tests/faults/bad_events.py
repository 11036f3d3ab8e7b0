"""A catalogue of events that must never stop the pipeline, each with the DLQ reason it must get.

Most are submissions on ``articles.raw`` (what outside publishers can send); a few are malformed
internal events injected on ``articles.ingested`` and ``articles.enriched``, where only a bug or
an operator could put them, to prove the enrich and index stages quarantine them too.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.articles import ContentFormat, EnrichedArticle, EnricherRun
from schemas.envelope import ArticleEnriched, ArticleIngested, new_envelope_fields
from schemas.topics import TOPICS
from services.ingest.identity import content_hash
from services.ingest.normalize import normalize
from services.ingest.parsing import parse_submission
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
        "ingested_not_json",
        b"\x00garbage",
        "invalid_json",
        stage="enrich",
        topic=TOPICS.ingested,
        key=b"ingested-not-json",  # the compacted articles.ingested refuses unkeyed records
    ),
    lambda: BadEvent(
        "ingested_unknown_schema_major",
        _ingested_event(schema_version="9.0"),
        "unsupported_schema_version",
        stage="enrich",
        topic=TOPICS.ingested,
        key=b"ingested-unknown-schema-major",
    ),
    lambda: BadEvent(
        "ingested_missing_article",
        _json({"type": "article.ingested", "schema_version": "1.0"}),
        "validation_failed",
        stage="enrich",
        topic=TOPICS.ingested,
        key=b"ingested-missing-article",
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


# -- hostile records on every topic a service reads ---------------------------------------------------
#
# Issue 10: publishers and tools can write anything to any topic, internal ones included. Each case
# is a record for one of articles.raw, articles.ingested and articles.enriched; the test writes a
# normal canary behind each on the same partition, which must become searchable, and checks that the
# record itself ends on the DLQ with its reason (or, for a record that is valid whatever else is odd
# about it, that it is indexed like any other).

#: Near the broker's 16 MiB message.max.bytes and the producers' max_request_size, with room for
#: the value, headers and the record batch around it.
NEAR_BROKER_LIMIT_BYTES = 15 * 1024 * 1024
STAGE_OF = {TOPICS.raw: "ingest", TOPICS.ingested: "enrich", TOPICS.enriched: "index"}


class RawHeaderName(str):
    """A header name whose bytes on the wire are not UTF-8 (kafka-python encodes names with ``encode``)."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawHeaderName:
        name = super().__new__(cls, raw.decode("utf-8", "replace"))
        name.raw = raw
        return name

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


@dataclass(frozen=True)
class HostileRecord:
    """One record for ``topic`` and what must become of it: a dead letter, or a searchable article."""

    kind: str
    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    #: The DLQ reason it must get (its stage is the topic's reader), or None if it must be indexed.
    reason: str | None = None
    #: The id it is indexed under, when ``reason`` is None.
    article_id: str | None = None
    #: Checks on the dead letter beyond stage and reason: each returns a problem or None.
    checks: tuple[Callable[[Any], str | None], ...] = ()

    @property
    def stage(self) -> str:
        return STAGE_OF[self.topic]


def canary(topic: str, run_id: str, n: int) -> tuple[bytes, str]:
    """A normal record for ``topic`` and the id it is indexed under."""
    text = f"Canary {n} of hostile run {run_id} on {topic}"
    if topic == TOPICS.raw:
        url = f"https://hostile.newswire.test/{run_id}/{n}"
        value = _json(
            {"title": text, "body": f"{text}: the flow goes on.\n\nA second paragraph.", "url": url}
        )
        return value, normalize(parse_submission(value, JSON)).id
    article_id = _hostile_id(run_id, topic, str(n))
    return _internal_event(
        topic, article_id, title=text, paragraphs=[f"{text}: the flow goes on."]
    ), article_id


def _internal_event(
    topic: str,
    article_id: str,
    envelope: dict[str, Any] | None = None,
    broken: dict[str, Any] | None = None,
    **fields: Any,
) -> bytes:
    """A valid event for ``topic`` (ingested or enriched) about ``article_id``, with ``fields`` changed;
    then ``envelope`` and ``broken`` (article fields) overwrite the JSON, valid or not."""
    article = _internal_article(article_id, **fields)
    article["content_hash"] = content_hash(article["title"], "\n\n".join(article["paragraphs"]))
    if topic == TOPICS.ingested:
        event: dict[str, Any] = ArticleIngested(**new_envelope_fields("hostile"), article=article).model_dump(
            mode="json"
        )
    else:
        enriched = EnrichedArticle(
            **article,
            word_count=9,
            reading_time_minutes=0.1,
            enrichers=[EnricherRun(name="hostile", version="1")],
            enriched_at=datetime.now(UTC),
        )
        event = ArticleEnriched(**new_envelope_fields("hostile"), article=enriched).model_dump(mode="json")
    event["article"].update(broken or {})
    return _json({**event, **(envelope or {})})


def _hostile_id(*parts: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("hostile", *parts))).hex


def _has(text: str, where: str) -> Callable[[Any], str | None]:
    def check(letter: Any) -> str | None:
        return (
            None if text in letter.detail else f"{where}: detail does not say {text!r}: {letter.detail[:300]}"
        )

    return check


def _check(predicate: Callable[[Any], bool], problem: str) -> Callable[[Any], str | None]:
    return lambda letter: None if predicate(letter) else problem


def hostile_records(topic: str, run_id: str) -> list[HostileRecord]:
    """The hostile-record catalogue for one topic (fresh ids; one big key and one big value each)."""
    internal = topic != TOPICS.raw
    bad_value = b"not json at all {" if internal else b'{"title": "Cut off'
    bad_reason = "invalid_json"
    json_type = () if internal else (("content-type", JSON.encode()),)
    empty_reason = "empty_message" if internal else "empty"

    def ident(kind: str) -> str:
        return _hostile_id(run_id, topic, kind)

    def valid(kind: str, **fields: Any) -> tuple[bytes, str]:
        if not internal:
            value = _article(
                title=f"Hostile {kind} {run_id}",
                url=f"https://hostile.newswire.test/{run_id}/{kind}",
                **fields,
            )
            return value, normalize(parse_submission(value, JSON)).id
        return (
            _internal_event(topic, ident(kind), title=f"Hostile {kind} {run_id}", **fields),
            ident(kind),
        )

    null_key_value, null_key_id = valid("null_key")
    lying_value, lying_id = valid("lying_traceparent")
    other_topic = TOPICS.enriched if topic != TOPICS.enriched else TOPICS.ingested
    huge_key = random.Random(run_id).randbytes(NEAR_BROKER_LIMIT_BYTES)  # incompressible, not UTF-8
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma"]
    rng = random.Random(7)
    paragraph_count = NEAR_BROKER_LIMIT_BYTES // 1_000
    big_paragraphs = [
        " ".join(rng.choice(words) for _ in range(160))[:990] + "." for _ in range(paragraph_count)
    ]
    if internal:
        largest = _internal_event(
            topic, ident("largest_valid_event"), title=f"Largest {run_id}", paragraphs=big_paragraphs
        )
        largest_reason = "too_long" if topic == TOPICS.ingested else None
    else:
        largest = _article(title=f"Largest {run_id}", body="\n\n".join(big_paragraphs))
        largest_reason = "too_large"
    records = [
        HostileRecord("tombstone", topic, None, key=f"tombstone-{run_id}".encode(), reason=empty_reason),
        HostileRecord("null_key", topic, null_key_value, key=None, headers=json_type, article_id=null_key_id),
        HostileRecord(
            "key_near_broker_limit",
            topic,
            bad_value,
            key=huge_key,
            headers=json_type,
            reason=bad_reason,
            checks=(
                _check(lambda letter: letter.source_record.key.endswith("more bytes]"), "key not cut"),
                _has("key of", "key_near_broker_limit"),
            ),
        ),
        HostileRecord("empty_value", topic, b"", reason=empty_reason),
        HostileRecord(
            "non_utf8_header_name_and_value",
            topic,
            bad_value,
            headers=(*json_type, (RawHeaderName(b"\xff\xfe-name"), b"\xff\xfe value \xc3\x28")),
            reason=bad_reason,
            checks=(
                _check(
                    lambda letter: any("\ufffd" in name for name in letter.source_record.headers),
                    "the non-UTF-8 header name is not in the letter",
                ),
            ),
        ),
        HostileRecord(
            "duplicate_headers",
            topic,
            bad_value,
            headers=(*json_type, ("x-duplicate", b"first"), ("x-duplicate", b"second")),
            reason=bad_reason,
            checks=(
                _check(
                    lambda letter: (
                        [v for n, v in letter.source_record.header_pairs or () if n == "x-duplicate"]
                        == ["first", "second"]
                    ),
                    "the duplicate headers are not both in the letter",
                ),
            ),
        ),
        HostileRecord(
            "trace_header_10kb",
            topic,
            bad_value,
            headers=(*json_type, (TRACE_HEADER, b"t" * 10_240)),
            reason=bad_reason,
            checks=(
                _check(lambda letter: len(letter.trace_id) <= 128, "trace id over 128 characters"),
                _has("trace id unusable", "trace_header_10kb"),
            ),
        ),
        HostileRecord(
            # Issue 10's report: this killed the index service on every restart.
            "trace_header_200_chars",
            topic,
            b"not json at all {",
            headers=(*json_type, (TRACE_HEADER, b"t" * 200)),
            reason=bad_reason,
            checks=(_has("trace id unusable (200 characters)", "trace_header_200_chars"),),
        ),
        HostileRecord(
            "lying_traceparent",
            topic,
            lying_value,
            # All-zero trace and span ids and version ff: invalid by W3C, and no trace of ours.
            headers=(
                *json_type,
                ("traceparent", b"ff-" + b"0" * 32 + b"-" + b"0" * 16 + b"-01" + b"-x" * 500),
            ),
            article_id=lying_id,
        ),
        HostileRecord(
            "unknown_schema_major",
            topic,
            _internal_event(topic, ident("unknown_schema_major"), {"schema_version": "9.0"})
            if internal
            else _article(schema_version="9.0"),
            headers=json_type,
            reason="unsupported_schema_version" if internal else "validation_failed",
        ),
        HostileRecord(
            "article_breaks_a_limit",
            topic,
            _internal_event(topic, ident("article_breaks_a_limit"), broken={"title": "T" * 5_000})
            if internal
            else _article(title="H" * 100_000),
            headers=json_type,
            reason="validation_failed",
            checks=(_has("title", "article_breaks_a_limit"),),
        ),
        HostileRecord(
            "event_for_another_topic",
            topic,
            _internal_event(other_topic, ident("event_for_another_topic")),
            headers=json_type,
            reason="validation_failed",
            checks=(_has("event on", "event_for_another_topic"),) if internal else (),
        ),
        HostileRecord(
            "json_nested_10000_deep", topic, _nested_array(10_000), headers=json_type, reason="invalid_json"
        ),
        HostileRecord(
            "largest_valid_event",
            topic,
            largest,
            headers=json_type,
            reason=largest_reason,
            article_id=ident("largest_valid_event") if largest_reason is None else None,
        ),
    ]
    if topic != TOPICS.ingested:
        return records
    # articles.ingested is compacted: the broker itself refuses records without a key there
    # (tests/integration/test_archive.py), so nothing unkeyed reaches enrich. The rest are keyed.
    return [
        record if record.key is not None else replace(record, key=f"{record.kind}-{run_id}".encode())
        for record in records
        if record.kind != "null_key"
    ]
