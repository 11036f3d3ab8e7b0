"""Settings of ``newswire reprocess`` and its workers, from ``NEWSWIRE_REPROCESS_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.search_index import ALIAS
from schemas.topics import TOPICS

#: How often the live index service looks whether ``next_alias`` exists (services/index/settings.py
#: uses the same default). A run waits longer than this after creating the alias before it trusts
#: that every live write reaches both indexes.
NEXT_ALIAS_CHECK_S = 5.0


class ReprocessSettings(BaseSettings):
    """Names a run works with; the defaults are the pipeline's. Tests override them to stay private."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_REPROCESS_", frozen=True, extra="ignore")

    alias: str = Field(default=ALIAS, min_length=1, description="The alias searches use.")
    next_alias: str = Field(
        default=f"{ALIAS}-next",
        min_length=1,
        description="Alias on the index being built; live index services write to it too while it exists.",
    )
    index_prefix: str = Field(
        default=f"{ALIAS}-v", min_length=1, description="Index versions are <prefix>1, <prefix>2, ..."
    )
    archive_topic: str = Field(default=TOPICS.ingested, min_length=1, description="The archive a run reads.")
    state_index: str = Field(
        default="newswire-reprocess-runs", min_length=1, description="Where runs keep their state."
    )
    rate: float = Field(default=50.0, gt=0, description="Articles a second, all workers together.")
    workers: int = Field(default=1, ge=0, le=64, description="Enrich workers a run starts (0: none).")
    live_next_alias_check_s: float = Field(
        default=NEXT_ALIAS_CHECK_S,
        ge=0,
        description="The live index services' NEWSWIRE_INDEX_NEXT_ALIAS_CHECK_S (how stale their view is).",
    )
    copy_rate: float = Field(
        default=5000,
        description="Documents a second the old index is copied at (no enrichment; -1: as fast as it goes).",
    )
