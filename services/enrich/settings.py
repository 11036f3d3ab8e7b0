"""Settings of the enrich service, from ``NEWSWIRE_ENRICH_*`` (Kafka from ``NEWSWIRE_KAFKA_*``)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.topics import TOPICS
from services.enrich.dedup import DEFAULT_MAX_ENTRIES, DEFAULT_SLACK, DEFAULT_THRESHOLD, DEFAULT_WINDOW
from services.enrich.pipeline import TEXT_BUDGET_CHARS
from services.runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    """What the enrich worker needs; every field can be set as ``NEWSWIRE_ENRICH_<FIELD>``.

    The common fields (metrics_host, log_level, log_json, dlq_payload_max_bytes, stall_timeout_s,
    kafka, topics) come from ``ServiceSettings``.
    """

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_ENRICH_", frozen=True, extra="ignore")

    app_id: str = Field(
        default="newswire-enrich",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Faust app id: the Kafka consumer group and the prefix of faust's own topics.",
    )
    metrics_port: int = Field(default=9102, ge=0, le=65535, description="Their port; 0 turns them off.")
    library_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING",
        description="Level of faust, mode and aiokafka (fetches, assignment, recovery); DEBUG also "
        "turns off the throttling of their repeated lines.",
    )
    max_message_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest record the producer will send."
    )
    commit_interval_s: float = Field(default=2.8, gt=0, description="How often acked offsets are committed.")
    faust_rebalance_fixes: bool = Field(
        default=True,
        description="The two fixes of services/enrich/faust_fixes.py for records lost after a rebalance; "
        "off only to reproduce the loss (tests/stress/enrich.py).",
    )
    web_enabled: bool = Field(
        default=False, description="Faust's HTTP server (stats, health), off by default."
    )
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    text_budget_chars: int = Field(
        default=TEXT_BUDGET_CHARS or 0,
        ge=0,
        description="Characters of the body that entities, places, quotes, keywords and summary read "
        "(whole paragraphs); 0 reads everything, at a cost that grows with the body.",
    )
    duplicate_threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Estimated Jaccard similarity (5-word shingles) from which an article is a copy.",
    )
    duplicate_window_days: float = Field(
        default=DEFAULT_WINDOW / timedelta(days=1),
        ge=0,
        description="Copies are looked for among the articles ingested at most this many days before "
        "(event time); older ones leave memory and the changelog. 0: no window, the table keeps all.",
    )
    duplicate_window_slack_days: float = Field(
        default=DEFAULT_SLACK / timedelta(days=1),
        ge=0,
        description="How far (days) behind the newest ingested_at an article may arrive and still find "
        "its whole window: articles leave once older than newest - window - slack.",
    )
    duplicate_max_entries: int = Field(
        default=DEFAULT_MAX_ENTRIES,
        ge=0,
        description="Most articles in the near-duplicate index whatever their dates (the oldest leave "
        "first); 0: no cap.",
    )
    entities_backend: Literal["rules", "spacy"] = Field(
        default="rules",
        description="Named-entity backend: 'rules' (gazetteers, fast) or 'spacy' (en_core_web_sm, slower).",
    )
    data_dir: Path | None = Field(
        default=None, description="Faust's data directory; default <tmp>/newswire-enrich-<app id>."
    )
    input_topic: str = Field(default=TOPICS.ingested, min_length=1, description="The topic enriched.")
    output_topic: str = Field(
        default=TOPICS.enriched, min_length=1, description="Where enriched articles go."
    )
    reprocess_run: str | None = Field(
        default=None,
        description="A reprocess run id (newswire reprocess): re-enrich the archive for that run; its group, "
        "topics and subset come from the run (services/reprocess).",
    )
    rate: float = Field(
        default=0.0,
        ge=0,
        description="Most articles per second this worker enriches; 0: no bound (in a run: its share).",
    )

    @property
    def duplicate_window(self) -> timedelta | None:
        return timedelta(days=self.duplicate_window_days) if self.duplicate_window_days else None

    @property
    def faust_data_dir(self) -> Path:
        return self.data_dir or Path(tempfile.gettempdir()) / f"newswire-enrich-{self.app_id}"
