"""Property-based fuzzing of ingest: whatever arrives, the handler answers and never raises.

Beyond "emitted or rejected" (``test_handler``), these check what the DLQ and the index rely on:
a rejection always has a machine-readable reason and makes a valid dead letter carrying the
original bytes; an emitted article is a valid event whose id and revision are stable.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas.dead_letter import DeadLetter, FailureStage
from schemas.envelope import ArticleIngested
from services.ingest.handler import IngestHandler
from services.ingest.normalize import ArticleLimits
from services.runtime.dead_letters import dead_letter_record
from services.runtime.messages import Emitted, Message, Rejected

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KAFKA_TIME_MS = 1_748_779_200_000
REASON = re.compile(r"^[a-z][a-z0-9_]*$")
handler = IngestHandler(max_message_bytes=256 * 1024, clock=lambda: NOW)
fuzz = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/ld+json",
        "text/html",
        "text/html; charset=iso-8859-1",
        "text/plain",
        "text/plain; charset=utf-16",
        "text/plain; charset=nonsense",
        "application/octet-stream",
        "",
    ]
)
# Text with everything the parsers must survive: controls, NUL, bidi marks, astral characters.
_NASTY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\x1b", "\u202e", "\ufeff", "\u200b", "<", ">", "{", "}", "\n", "\r"]),
    ),
    max_size=400,
)
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), _NASTY_TEXT
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_NASTY_TEXT, children, max_size=4),
    max_leaves=20,
)
_FIELDS = [
    "title",
    "body",
    "text",
    "html",
    "url",
    "source",
    "section",
    "caption",
    "published_at",
    "updated_at",
    "authors",
    "language",
]
_ARTICLE_LIKE = st.dictionaries(st.sampled_from(_FIELDS), _JSON_VALUES | _NASTY_TEXT, max_size=8)


def message(value: bytes | None, content_type: str | None = None) -> Message:
    headers = {"content-type": content_type.encode()} if content_type is not None else {}
    return Message("articles.raw", 3, 42, None, value, headers, KAFKA_TIME_MS)


def check_outcome(msg: Message, outcome: Any) -> None:
    """The invariants every outcome must satisfy."""
    assert isinstance(outcome, Emitted | Rejected)
    if isinstance(outcome, Rejected):
        assert REASON.match(outcome.reason), outcome.reason
        assert outcome.detail
        record = dead_letter_record(msg, outcome, FailureStage.INGEST, "ingest", 1024)
        letter = DeadLetter.model_validate(orjson.loads(record.value))
        assert letter.payload() == (msg.value or b"")[:1024]
        assert letter.payload_size == len(msg.value or b"")
        assert letter.reason == outcome.reason
        return
    (record,) = outcome.records
    event = ArticleIngested.model_validate(orjson.loads(record.value))
    article = event.article
    assert record.key == article.id.encode()
    assert article.title.strip() and all(paragraph.strip() for paragraph in article.paragraphs)
    assert not any(ch in article.title for ch in "\x00\x1b\r\n")
    assert article.revision >= 0


@fuzz
@given(value=st.binary(max_size=4_000), content_type=_CONTENT_TYPES)
def test_arbitrary_bytes_are_answered(value: bytes, content_type: str | None) -> None:
    msg = message(value, content_type)
    check_outcome(msg, handler.handle(msg))


@fuzz
@given(text=_NASTY_TEXT, content_type=_CONTENT_TYPES)
def test_arbitrary_text_is_answered(text: str, content_type: str | None) -> None:
    msg = message(text.encode("utf-8", "surrogatepass"), content_type)
    check_outcome(msg, handler.handle(msg))


@fuzz
@given(document=_ARTICLE_LIKE, extra=st.dictionaries(_NASTY_TEXT, _JSON_VALUES, max_size=2))
def test_json_objects_with_any_field_values_are_answered(
    document: dict[str, Any], extra: dict[str, Any]
) -> None:
    msg = message(orjson.dumps({**document, **extra}), "application/json")
    check_outcome(msg, handler.handle(msg))


@fuzz
@given(
    cut=st.integers(min_value=0, max_value=400),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.integers(0, 255)), max_size=5),
)
def test_damaged_valid_submissions_are_answered(cut: int, flips: list[tuple[int, int]]) -> None:
    valid = orjson.dumps(
        {
            "title": "Ferry services resume after the storm",
            "body": "Ferries sailed again on Monday.\n\nThe harbour master said repairs were complete.",
            "url": "https://example.org/news/ferries?utm_source=x",
            "published_at": "2025-05-30T08:00:00Z",
            "authors": ["A. Writer"],
        }
    )
    damaged = bytearray(valid[: max(cut, 1)] if cut < len(valid) else valid)
    for position, byte in flips:
        if position < len(damaged):
            damaged[position] = byte
    msg = message(bytes(damaged))
    check_outcome(msg, handler.handle(msg))


@fuzz
@given(
    title=st.text(min_size=1, max_size=120).filter(str.strip),
    body=st.text(min_size=1, max_size=2_000).filter(str.strip),
)
def test_the_same_submission_gets_the_same_id_and_revision(title: str, body: str) -> None:
    value = orjson.dumps({"title": title, "body": body})
    first, second = handler.handle(message(value)), handler.handle(message(value))
    assume(isinstance(first, Emitted))
    assert isinstance(second, Emitted)
    one, two = (
        ArticleIngested.model_validate(orjson.loads(o.records[0].value)).article for o in (first, second)
    )
    assert (one.id, one.content_hash, one.revision) == (two.id, two.content_hash, two.revision)
    assert one.revision == KAFKA_TIME_MS


@fuzz
@given(offset=st.integers(min_value=-200 * 365 * 86_400, max_value=3 * 86_400))
def test_revision_is_the_publishers_updated_at_when_plausible(offset: int) -> None:
    updated_at = NOW + timedelta(seconds=offset)
    value = orjson.dumps({"title": "Updated story", "body": "Text.", "updated_at": updated_at.isoformat()})
    outcome = handler.handle(message(value))
    limits = ArticleLimits()
    plausible = limits.earliest_date <= updated_at <= NOW + timedelta(seconds=limits.max_future_skew_s)
    if plausible:
        assert isinstance(outcome, Emitted)
        article = ArticleIngested.model_validate(orjson.loads(outcome.records[0].value)).article
        assert article.revision == max(0, int(updated_at.timestamp() * 1000))
    else:
        assert isinstance(outcome, Rejected) and outcome.reason == "implausible_date"


def test_limits_are_settings(monkeypatch: Any) -> None:
    monkeypatch.setenv("NEWSWIRE_INGEST_MAX_TITLE_CHARS", "10")
    monkeypatch.setenv("NEWSWIRE_INGEST_MAX_PARAGRAPHS", "2")
    limited = IngestHandler(clock=lambda: NOW)

    long_title = limited.handle(message(orjson.dumps({"title": "A title of 24 characters", "body": "x"})))
    many = limited.handle(message(orjson.dumps({"title": "Short", "body": "a\n\nb\n\nc"})))
    fine = limited.handle(message(orjson.dumps({"title": "Short", "body": "a\n\nb"})))

    assert isinstance(long_title, Rejected) and long_title.reason == "too_long"
    assert isinstance(many, Rejected) and many.reason == "too_long"
    assert isinstance(fine, Emitted)
