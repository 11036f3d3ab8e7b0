"""The contract in schemas/ stays consistent: JSON Schema files, models and the index mapping."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import ArticleEnriched, ArticleIngested, DeadLetter, RawArticle, new_envelope_fields
from schemas.articles import Article, ContentFormat, EnrichedArticle
from schemas.generate import JSON_DIR, SCHEMAS, drifted, render
from schemas.search_index import document_from, index_template, mapped_fields


def _article(**overrides: object) -> EnrichedArticle:
    fields: dict[str, object] = {
        "id": "0" * 32,
        "id_basis": "content",
        "title": "A title",
        "paragraphs": ["First paragraph.", "Second paragraph."],
        "content_format": ContentFormat.TEXT,
        "content_hash": "a" * 64,
        "ingested_at": datetime(2026, 1, 1, tzinfo=UTC),
        "language": "en",
        "word_count": 4,
        "reading_time_minutes": 0.1,
        "enriched_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return EnrichedArticle.model_validate(fields)


def test_json_schema_files_match_the_models() -> None:
    assert drifted() == [], "run `make schemas` and commit the result"


def test_every_topic_has_a_schema_file() -> None:
    assert sorted(SCHEMAS) == sorted(path.name for path in JSON_DIR.glob("*.schema.json"))
    for name, model in SCHEMAS.items():
        assert json.loads(render(model))["title"] == model.__name__, name


def test_every_document_field_is_mapped_and_every_mapping_is_filled() -> None:
    doc = document_from(_article(), trace_id="t-1")
    assert set(doc) <= mapped_fields(), f"unmapped (strict mapping rejects): {set(doc) - mapped_fields()}"
    # A mapped field no document can carry is dead weight or a typo.
    assert mapped_fields() <= set(doc), f"mapped but never written: {mapped_fields() - set(doc)}"


def test_document_body_joins_paragraphs_and_keeps_the_trace() -> None:
    doc = document_from(_article(), trace_id="t-1")
    assert doc["body"] == "First paragraph.\n\nSecond paragraph."
    assert doc["trace_id"] == "t-1"
    assert "paragraphs" not in doc


def test_text_fields_use_the_english_analyzer_from_the_plugin() -> None:
    template = index_template()["template"]
    assert template["settings"]["analysis"]["analyzer"]["english_text"]["type"] == "newswire_english"
    props = template["mappings"]["properties"]
    for field in ("title", "body", "caption"):
        assert props[field]["analyzer"] == "english_text"
    assert template["mappings"]["dynamic"] == "strict"
    # No alias in the template: a new version (articles-v2, built by newswire reprocess) must not
    # join the alias when it is created; the alias is moved to it in one step once it is complete.
    assert "aliases" not in template


def test_raw_article_requires_content_and_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="one of 'body', 'text' or 'html'"):
        RawArticle(title="only a title")
    with pytest.raises(ValidationError, match="titel"):
        RawArticle.model_validate({"titel": "typo", "body": "text"})
    assert RawArticle(body="  text  ").body == "text"


def test_events_round_trip_through_json() -> None:
    article = _article()
    enriched = ArticleEnriched(**new_envelope_fields("enrich", "trace-1"), article=article)
    assert ArticleEnriched.model_validate_json(enriched.model_dump_json()) == enriched
    ingested = ArticleIngested(
        **new_envelope_fields("ingest"),
        article=Article.model_validate(article.model_dump(include=set(Article.model_fields))),
    )
    assert ArticleIngested.model_validate_json(ingested.model_dump_json()) == ingested
    assert ingested.schema_version.startswith("1.")


def test_envelope_rejects_an_unknown_field() -> None:
    payload = ArticleEnriched(**new_envelope_fields("enrich"), article=_article()).model_dump(mode="json")
    payload["surprise"] = True
    with pytest.raises(ValidationError):
        ArticleEnriched.model_validate(payload)


def test_dead_letter_keeps_a_capped_copy_of_the_payload() -> None:
    encoded, size, truncated = DeadLetter.encode_payload(b"x" * 100, max_bytes=10)
    assert (size, truncated) == (100, True)
    letter = DeadLetter(
        **new_envelope_fields("ingest"),
        stage="ingest",
        reason="invalid_json",
        detail="Expecting value",
        source_record={"topic": "articles.raw", "partition": 0, "offset": 7},
        payload_b64=encoded,
        payload_size=size,
        payload_truncated=truncated,
    )
    assert letter.payload() == b"x" * 10
    assert uuid.UUID(str(letter.event_id))
