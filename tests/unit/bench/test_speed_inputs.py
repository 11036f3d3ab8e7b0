"""The benchmark's inputs: corpus replication and replicated enriched events keep the services' ids."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench.speed.corpus import (
    CorpusArticle,
    CorpusMissing,
    expected_id,
    load_corpus,
    raw_articles,
    write_jsonl,
)
from bench.speed.kafka_tools import Record
from bench.speed.run import _one_per_corpus_article, _replicated_events
from schemas.envelope import ArticleEnriched
from services.ingest.handler import IngestHandler
from services.runtime.messages import Emitted, Message
from tests.unit.index.factories import enriched_article, enriched_event

CORPUS = [
    CorpusArticle("business", "001", "Shares rise", "Markets opened higher.\n\nTraders were calm."),
    CorpusArticle("sport", "002", "Cup final", "The final ended in a draw.\n\nFans stayed late."),
]


def test_missing_corpus_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CorpusMissing):
        load_corpus(tmp_path / "nowhere")


def test_corpus_files_become_title_and_body(tmp_path: Path) -> None:
    (tmp_path / "tech").mkdir()
    (tmp_path / "tech" / "007.txt").write_text("A headline\n\nFirst paragraph.\n\nSecond one.\n")
    (article,) = load_corpus(tmp_path)
    assert (article.category, article.number, article.title) == ("tech", "007", "A headline")
    assert article.body == "First paragraph.\n\nSecond one."


def test_replicated_articles_cycle_through_the_corpus_under_distinct_ids() -> None:
    articles = list(raw_articles(CORPUS, 5, "t1"))
    assert [a["title"] for a in articles] == ["Shares rise", "Cup final"] * 2 + ["Shares rise"]
    assert len({expected_id(a) for a in articles}) == 5
    assert {expected_id(a) for a in raw_articles(CORPUS, 5, "t2")}.isdisjoint(
        expected_id(a) for a in articles
    )


def test_expected_id_is_the_id_ingest_gives() -> None:
    ingest = IngestHandler()
    for number, raw in enumerate(raw_articles(CORPUS, 2, "t")):
        message = Message(
            "articles.raw", 0, number, None, orjson.dumps(raw), {"content-type": b"application/json"}
        )
        outcome = ingest.handle(message)
        assert isinstance(outcome, Emitted)
        assert outcome.article_id == expected_id(raw)


def test_jsonl_has_one_submission_per_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    assert write_jsonl(path, raw_articles(CORPUS, 3, "t")) == 3
    assert [orjson.loads(line)["section"] for line in path.read_bytes().splitlines()] == [
        "business",
        "sport",
        "business",
    ]


def _event_for(url: str) -> Record:
    article = enriched_article(url=url, canonical_url=url)
    return Record(article.id.encode(), enriched_event(article).model_dump_json().encode(), ())


def test_replicated_events_are_valid_distinct_and_keyed_by_their_new_id() -> None:
    templates = _one_per_corpus_article(
        [
            _event_for("https://bench.newswire.test/stage/business/001/0"),
            _event_for("https://bench.newswire.test/stage/business/001/1"),  # a copy: same corpus article
            _event_for("https://bench.newswire.test/stage/sport/002/0"),
        ]
    )
    assert len(templates) == 2
    records = list(_replicated_events(templates, 5, "idx"))
    events = [ArticleEnriched.model_validate_json(record.value) for record in records]
    ids = [event.article.id for event in events]
    assert len(set(ids)) == 5
    for record, event in zip(records, events, strict=True):
        assert record.key == event.article.id.encode()
        assert event.article.url is not None and "/idx/" in event.article.url
        assert event.article.id == expected_id({"url": event.article.url, "title": "", "body": ""})
        assert dict(record.headers)["newswire-trace-id"] == event.trace_id.encode()
