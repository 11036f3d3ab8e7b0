"""The documents the index service writes fit the strict mapping of the index template."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.articles import EnrichedArticle, EnricherRun
from schemas.search_index import document_from, index_template, mapped_fields
from tests.unit.index.factories import enriched_article


def fully_populated_article() -> EnrichedArticle:
    return enriched_article(
        url="https://www.presstv.ir/Detail/2025/09/01/putin-xi-sco?utm_source=x",
        canonical_url="https://www.presstv.ir/Detail/2025/09/01/putin-xi-sco",
        id_basis="url",
        source="Press TV",
        section="Asia-Pacific",
        breadcrumb=["News", "Asia-Pacific"],
        caption="Leaders at the summit",
        published_at=datetime(2025, 9, 1, 8, 30, tzinfo=UTC),
        authors=["A. Writer", "B. Writer"],
        language_hint="en",
        enrichers=[
            EnricherRun(name="language", version="1.2"),
            EnricherRun(name="reading_time", version="1"),
        ],
    )


def unmapped_paths(document: dict[str, Any], properties: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys of ``document`` (recursively into objects) that the mapping does not declare."""
    missing: list[str] = []
    for key, value in document.items():
        if key not in properties:
            missing.append(prefix + key)
            continue
        nested = properties[key].get("properties")
        if nested is None:
            continue
        for element in value if isinstance(value, list) else [value]:
            if isinstance(element, dict):
                missing += unmapped_paths(element, nested, f"{prefix}{key}.")
    return missing


def test_every_document_field_is_mapped() -> None:
    properties = index_template()["template"]["mappings"]["properties"]
    for article in (enriched_article(), fully_populated_article()):
        document = document_from(article, "trace-1")

        assert unmapped_paths(document, properties) == []


def test_mapping_is_strict() -> None:
    assert index_template()["template"]["mappings"]["dynamic"] == "strict"


def test_document_has_the_searchable_body_and_index_metadata() -> None:
    article = fully_populated_article()
    indexed_at = datetime(2025, 9, 2, tzinfo=UTC)

    document = document_from(article, "trace-1", indexed_at)

    assert document["body"] == "\n\n".join(article.paragraphs)
    assert "paragraphs" not in document
    assert document["trace_id"] == "trace-1"
    assert datetime.fromisoformat(document["indexed_at"]) == indexed_at
    assert document["id"] == article.id


def test_every_article_field_reaches_the_index_except_paragraphs() -> None:
    # A field added to the model but not to the template would be rejected by the strict mapping.
    model_fields = set(EnrichedArticle.model_fields)

    assert model_fields - mapped_fields() == {"paragraphs"}
