"""Settings of the index service, read from ``NEWSWIRE_INDEX_*`` (connections from the shared prefixes)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.runtime.settings import ElasticsearchSettings, ServiceSettings


class Settings(ServiceSettings):
    """Knobs of ``python -m services.index`` (the common ones, from ``ServiceSettings``, too)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_INDEX_", frozen=True, extra="ignore")

    group_id: str = Field(default="newswire-index", min_length=1, description="Kafka consumer group.")
    input_topic: str = Field(default=TOPICS.enriched, min_length=1, description="The topic indexed.")
    alias: str = Field(default=ALIAS, min_length=1, description="The alias documents are written through.")
    next_alias: str = Field(
        default=f"{ALIAS}-next",
        description=(
            "While this alias exists (on the index a reprocess run builds), every document is written "
            "through it as well as through ``alias``, so the new index misses no live article. Empty: off."
        ),
    )
    next_alias_check_s: float = Field(
        default=5.0,
        ge=0,
        description="How often to look whether ``next_alias`` exists (newswire reprocess waits longer).",
    )
    reprocess_run: str | None = Field(
        default=None,
        description="A reprocess run id (newswire reprocess): index that run's topic into its new index; "
        "group, topic and alias come from the run (services/reprocess).",
    )
    max_batch: int = Field(
        default=2000,
        ge=1,
        description="Most messages polled and indexed per batch (fewer when less is waiting).",
    )
    linger_ms: int = Field(
        default=200,
        ge=0,
        le=5000,
        description=(
            "How long the broker may hold a fetch while less than ``linger_min_bytes`` is waiting "
            "(fetch.max.wait.ms). At a trickle, documents then go to Elasticsearch a few per request "
            "instead of one; with a backlog, fetches return at once. 0: no wait."
        ),
    )
    linger_min_bytes: int = Field(
        default=256 * 1024,
        ge=1,
        description="Bytes a fetch waits for, up to ``linger_ms`` (fetch.min.bytes).",
    )
    bulk_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="A batch whose bulk body would exceed this is sent as several requests.",
    )
    parallel_requests: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Bulk requests a big batch is split into, sent at once (about one per data node core).",
    )
    pipeline_depth: int = Field(
        default=2,
        ge=0,
        le=8,
        description=(
            "Batches written to Elasticsearch at once while the next is read and prepared "
            "(0: one batch at a time). Offsets are still committed in order, after each write."
        ),
    )
    catch_up_lag: int = Field(
        default=5000,
        ge=0,
        description=(
            "Messages behind at which the service refreshes the index less often until it is less "
            "than a batch behind (0: never). See services/index/refresh.py."
        ),
    )
    catch_up_refresh_interval: str = Field(
        default="30s",
        pattern=r"^[0-9]+(ms|s|m)$",
        description="The index's refresh interval while catching up.",
    )
    item_retry_attempts: int = Field(
        default=3, ge=0, description="Retries of the failed items of a bulk request before giving up."
    )
    item_retry_initial_s: float = Field(default=0.2, gt=0)
    item_retry_max_s: float = Field(default=5.0, gt=0)
    retry_initial_s: float = Field(default=0.5, gt=0, description="First delay of a whole-batch retry.")
    retry_max_s: float = Field(default=30.0, gt=0, description="Longest delay between whole-batch retries.")
    metrics_port: int = Field(default=9103, ge=0, le=65535, description="Their port; 0 turns them off.")
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
