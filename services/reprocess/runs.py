"""A reprocess run and its state document, kept in Elasticsearch so any machine can resume it.

The document says what the run builds (index, alias, subset, rate) and where its work goes
through Kafka (its topic and consumer groups). How far it got is not stored here: that is the
committed offsets of its groups, which is what makes a re-run continue where it stopped.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from pydantic import BaseModel, ConfigDict, Field

from schemas.topics import REPROCESS_TOPIC_PREFIX
from services.reprocess.subset import Subset
from services.runtime.settings import index_replicas

#: Run topics are ``articles.reprocess.<run id>``: enriched articles on their way to the new index.
TOPIC_PREFIX = REPROCESS_TOPIC_PREFIX


class RunState(StrEnum):
    BUILDING = "building"
    SWAPPED = "swapped"
    ABANDONED = "abandoned"


class Run(BaseModel):
    """One reprocess, from its start to the alias swap."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    run_id: str
    alias: str
    next_alias: str
    old_indexes: tuple[str, ...]
    new_index: str
    archive_topic: str
    subset: Subset
    rate: float = Field(gt=0, description="Articles per second, all enrich workers together.")
    workers: int = Field(ge=0)
    created_at: datetime
    state: RunState = RunState.BUILDING
    #: When the new index and its next alias were created: live writes reach both some time after.
    next_alias_since: datetime | None = None
    copied: bool = False
    swapped_at: datetime | None = None

    @property
    def topic(self) -> str:
        return f"{TOPIC_PREFIX}{self.run_id}"

    @property
    def enrich_group(self) -> str:
        return f"newswire-reprocess-{self.run_id}-enrich"

    @property
    def index_group(self) -> str:
        return f"newswire-reprocess-{self.run_id}-index"

    def rate_per_worker(self, workers: int | None = None) -> float:
        return self.rate / max(1, workers if workers is not None else self.workers)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261205t003512-3f9a``."""
    moment = now or datetime.now(UTC)
    return f"{moment:%Y%m%dt%H%M%S}-{secrets.token_hex(2)}"


_MAPPINGS = {
    # Only what runs are looked up by is indexed; the rest (subset ids included) is only stored.
    "dynamic": False,
    "properties": {
        "run_id": {"type": "keyword"},
        "alias": {"type": "keyword"},
        "state": {"type": "keyword"},
        "created_at": {"type": "date"},
    },
}


class RunStore:
    """Runs as documents of ``index`` (one per run id)."""

    def __init__(self, es: Elasticsearch, index: str) -> None:
        self.es = es
        self.index = index

    def ensure(self) -> None:
        if not self.es.indices.exists(index=self.index):
            try:
                self.es.indices.create(
                    index=self.index,
                    mappings=_MAPPINGS,
                    settings={"number_of_shards": 1, "number_of_replicas": index_replicas()},
                )
            except Exception as exc:  # created meanwhile by another run
                if "resource_already_exists_exception" not in str(exc):
                    raise

    def save(self, run: Run) -> None:
        self.es.index(index=self.index, id=run.run_id, document=_to_document(run), refresh="wait_for")

    def load(self, run_id: str) -> Run:
        try:
            found = self.es.get(index=self.index, id=run_id)
        except NotFoundError as exc:
            raise LookupError(f"no reprocess run {run_id!r} in {self.index}") from exc
        return Run.model_validate(found["_source"])

    def open_run(self, alias: str) -> Run | None:
        """The run still building a new index for ``alias``, if any (the newest)."""
        if not self.es.indices.exists(index=self.index):
            return None
        found = self.es.search(
            index=self.index,
            query={"bool": {"filter": [{"term": {"alias": alias}}, {"term": {"state": RunState.BUILDING}}]}},
            sort=[{"created_at": "desc"}],
            size=1,
        )
        hits = found["hits"]["hits"]
        return Run.model_validate(hits[0]["_source"]) if hits else None


def _to_document(run: Run) -> dict[str, Any]:
    document = run.model_dump(mode="json")
    ids = document["subset"].get("ids")
    if ids is not None:
        document["subset"]["ids"] = sorted(ids)
    return document
