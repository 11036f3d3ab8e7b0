"""The newswire data contract: every event on every topic, and the search index.

Services share nothing about data except this package. Outside publishers and consumers can rely on
the generated JSON Schema files in ``schemas/json`` and the index template in
``schemas/elasticsearch``.
"""

from schemas.articles import (
    Article,
    ContentFormat,
    Dateline,
    EnrichedArticle,
    EnricherRun,
    Entity,
    EntityType,
    GeoPoint,
    Place,
    Quote,
    RawArticle,
)
from schemas.dead_letter import DeadLetter, FailureStage
from schemas.envelope import ArticleEnriched, ArticleIngested, EventEnvelope, new_envelope_fields
from schemas.topics import Topics

__all__ = [
    "Article",
    "ArticleEnriched",
    "ArticleIngested",
    "ContentFormat",
    "Dateline",
    "DeadLetter",
    "EnrichedArticle",
    "EnricherRun",
    "Entity",
    "EntityType",
    "EventEnvelope",
    "FailureStage",
    "GeoPoint",
    "Place",
    "Quote",
    "RawArticle",
    "Topics",
    "new_envelope_fields",
]
