"""The pure parts of ``newswire trace``: what matches the traced article, ``--since``, the verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.topics import TOPICS
from services.cli.trace import DeadLetterHit, Hop, Matcher, TraceReport, parse_since, verdict
from services.ingest.identity import article_id, canonicalize_url
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER

ARTICLE = "a" * 32
TRACE = "b" * 32


def test_a_hex_id_matches_as_article_id_or_trace_id() -> None:
    matcher = Matcher(ARTICLE)
    assert matcher.matches(ARTICLE.encode(), {})
    assert matcher.matches(None, {ARTICLE_HEADER: ARTICLE})
    assert matcher.matches(None, {TRACE_HEADER: ARTICLE})
    assert not matcher.matches(b"c" * 32, {TRACE_HEADER: TRACE})


def test_ids_learned_from_a_match_find_the_related_records() -> None:
    matcher = Matcher(ARTICLE)
    matcher.learn(ARTICLE, TRACE)
    assert matcher.matches(None, {TRACE_HEADER: TRACE})
    matcher.learn("not-an-article-id", None)
    assert "not-an-article-id" not in matcher.article_ids


def test_a_url_is_traced_by_the_id_ingest_derives_from_it() -> None:
    url = "https://Example.org/news/story/?utm_source=feed&b=2&a=1#top"
    matcher = Matcher(url)
    canonical = canonicalize_url(url)
    assert canonical is not None
    assert matcher.article_ids == {article_id(canonical, "", "")[0]}
    assert matcher.matches_url("https://example.org/news/story?a=1&b=2")
    assert not matcher.matches_url("https://example.org/news/other")
    assert not matcher.matches_url(None)


def test_since_takes_durations_and_iso_times() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("1d", now) == now - timedelta(days=1)
    assert parse_since("2026-01-01T00:00:00", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_since(None, now) is None
    with pytest.raises(ValueError):
        parse_since("yesterday", now)


def hop(topic: str, offset: int = 3) -> Hop:
    return Hop(topic, 1, offset, "2026-01-01T00:00:00.000+00:00", ARTICLE, TRACE)


def letter(
    reason: str, produced_at: str, detail: str = "titel: Extra inputs are not permitted"
) -> DeadLetterHit:
    return DeadLetterHit(1, 9, produced_at, "ingest", reason, detail, None, TRACE, f"{TOPICS.raw}/0@4")


def test_verdict_names_the_latest_dead_letter_when_nothing_was_indexed() -> None:
    report = TraceReport(query=TRACE, hops=[hop(TOPICS.raw)])
    report.dead_letters = [
        letter("invalid_json", "2026-01-01T00:00:01"),
        letter("validation_failed", "2026-01-02"),
    ]
    assert verdict(report) == (
        "not indexed: ingest dead-lettered it (validation_failed): titel: Extra inputs are not permitted"
    )
    report.dead_letters = [letter("empty", "2026-01-01", detail="")]
    assert verdict(report) == "not indexed: ingest dead-lettered it (empty): "


def test_verdict_for_an_indexed_article_mentions_later_failures() -> None:
    report = TraceReport(query=ARTICLE, hops=[hop(TOPICS.enriched)])
    report.document = {"id": ARTICLE, "_index": "articles-v1", "indexed_at": "2026-01-01T00:00:05Z"}
    assert verdict(report) == f"indexed: document {ARTICLE} in articles-v1 at 2026-01-01T00:00:05Z"
    report.dead_letters = [letter("es_rejected", "2026-01-03")]
    assert verdict(report).endswith("also 1 dead letter(s), latest ingest: es_rejected")


def test_verdict_for_an_article_still_on_its_way_names_the_furthest_topic() -> None:
    report = TraceReport(query=ARTICLE, hops=[hop(TOPICS.raw, 7), hop(TOPICS.ingested, 12)])
    line = verdict(report, "waiting for enrich (group g): 5 records to go on that partition before it")
    assert line.startswith(
        "not indexed yet: last seen on articles.ingested (partition 1, offset 12); waiting"
    )


def test_verdict_when_nothing_is_known() -> None:
    assert verdict(TraceReport(query="nothing")).startswith("not found:")
    assert not TraceReport(query="nothing").found
