"""The envelope every internal event carries: who produced it, when, and for which trace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.articles import Article, EnrichedArticle

SCHEMA_MAJOR = 1


class EventEnvelope(BaseModel):
    """Fields common to every event on ``articles.ingested``, ``articles.enriched`` and the DLQ.

    ``schema_version`` is ``"<major>.<minor>"``: consumers accept any minor of the major they were
    built for and reject (dead-letter) another major.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = "event"

    event_id: uuid.UUID = Field(description="Unique id of this event; a redelivered event keeps it.")
    schema_version: Annotated[str, Field(pattern=r"^\d+\.\d+$")] = Field(
        default=f"{SCHEMA_MAJOR}.0", description="Contract version <major>.<minor>."
    )
    produced_at: datetime = Field(description="When the producing service emitted this event (UTC).")
    producer: str = Field(description="Service that produced the event, e.g. 'ingest'.")
    trace_id: str = Field(
        min_length=1,
        max_length=128,
        description="Correlates every event derived from one submission, end to end.",
    )


def new_envelope_fields(producer: str, trace_id: str | None = None) -> dict[str, Any]:
    """Fresh envelope values for an event produced now."""
    return {
        "event_id": uuid.uuid4(),
        "produced_at": datetime.now(UTC),
        "producer": producer,
        "trace_id": trace_id or uuid.uuid4().hex,
    }


class ArticleIngested(EventEnvelope):
    """An accepted, normalized article on ``articles.ingested``."""

    event_type: ClassVar[str] = "article.ingested"
    type: Literal["article.ingested"] = "article.ingested"
    article: Article


class ArticleEnriched(EventEnvelope):
    """An enriched article on ``articles.enriched``, ready to index."""

    event_type: ClassVar[str] = "article.enriched"
    type: Literal["article.enriched"] = "article.enriched"
    article: EnrichedArticle
