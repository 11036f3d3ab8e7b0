"""Ingest settings, from ``NEWSWIRE_INGEST_*`` (Kafka and topics from their shared variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.ingest.parsing import DEFAULT_MAX_MESSAGE_BYTES
from services.runtime.settings import KafkaSettings, TopicSettings


class Settings(BaseSettings):
    """Knobs of the ingest service."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_INGEST_", frozen=True, extra="ignore")

    group_id: str = Field(default="newswire-ingest", description="Consumer group on articles.raw.")
    client_id: str = "newswire-ingest"
    max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES, gt=0, description="Larger submissions are rejected as too_large."
    )
    dlq_payload_max_bytes: int = Field(
        default=1_048_576, gt=0, description="How much of a rejected message the DLQ record keeps."
    )
    max_batch: int = Field(default=200, ge=1, description="Messages per poll.")
    poll_timeout_ms: int = Field(default=500, ge=10)
    metrics_host: str = Field(
        default="127.0.0.1", description="Address of /metrics, /healthz and /readyz (0.0.0.0 in a container)."
    )
    metrics_port: int = Field(default=9101, ge=0, le=65535, description="Their port; 0 turns them off.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
