"""Ingest settings, from ``NEWSWIRE_INGEST_*`` (Kafka and topics from their shared variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.ingest.parsing import DEFAULT_MAX_MESSAGE_BYTES
from services.runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    """Knobs of the ingest service (the common ones, from ``ServiceSettings``, too)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_INGEST_", frozen=True, extra="ignore")

    group_id: str = Field(default="newswire-ingest", description="Consumer group on articles.raw.")
    client_id: str = "newswire-ingest"
    max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES, gt=0, description="Larger submissions are rejected as too_large."
    )
    max_batch: int = Field(default=200, ge=1, description="Messages per poll.")
    poll_timeout_ms: int = Field(default=500, ge=10)
    metrics_port: int = Field(default=9101, ge=0, le=65535, description="Their port; 0 turns them off.")
