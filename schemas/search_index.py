"""The Elasticsearch side of the contract: index template, alias and document shape.

Users search the alias ``articles``; it points at a versioned index (``articles-v1``) so that a
mapping change can be rolled out by reindexing into ``articles-v2`` and moving the alias.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from schemas.articles import EnrichedArticle, EntityType

ALIAS = "articles"
INDEX = "articles-v1"
TEMPLATE_NAME = "newswire-articles"
TEMPLATE_PATH = Path(__file__).parent / "elasticsearch" / "articles-template.json"

# Stored in the index but not searched as text: kept out of the document to save space.
_NOT_INDEXED = frozenset({"paragraphs"})
#: Words of the first paragraph kept in ``lead``. News puts the story's subject in its opening
#: sentence, so search weighs a match there above one deep in the body (bench/quality/relevance).
LEAD_WORDS = 40


@cache
def index_template() -> dict[str, Any]:
    """The composable index template body (``PUT _index_template/newswire-articles``)."""
    template: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template


def mapped_fields() -> frozenset[str]:
    return frozenset(index_template()["template"]["mappings"]["properties"])


def document_from(
    article: EnrichedArticle, trace_id: str, indexed_at: datetime | None = None
) -> dict[str, Any]:
    """The Elasticsearch source document for an enriched article (``_id`` is ``article.id``)."""
    doc = article.model_dump(mode="json", exclude=set(_NOT_INDEXED))
    doc["body"] = article.body
    doc["lead"] = lead_of(article.paragraphs)
    # Flat name lists make the facets and filters (``--person``, ``--org``, ``--place``) plain terms.
    doc["people"] = _names(article, EntityType.PERSON)
    doc["organizations"] = _names(article, EntityType.ORGANIZATION)
    doc["place_names"] = sorted(
        {entity.name for entity in article.entities if entity.type is EntityType.LOCATION}
        | {place.name for place in article.places}
        | ({article.dateline.name} if article.dateline else set())
    )
    doc["trace_id"] = trace_id
    doc["indexed_at"] = (indexed_at or datetime.now(UTC)).isoformat()
    return doc


def lead_of(paragraphs: list[str]) -> str:
    """The opening of the story: the first :data:`LEAD_WORDS` words of its first paragraph."""
    first = next((paragraph for paragraph in paragraphs if paragraph.strip()), "")
    return " ".join(first.split()[:LEAD_WORDS])


def _names(article: EnrichedArticle, kind: EntityType) -> list[str]:
    return [entity.name for entity in article.entities if entity.type is kind]
