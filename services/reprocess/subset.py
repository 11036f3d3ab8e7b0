"""Which archive records a run re-enriches, and which indexed documents are stale.

A run's subset is fixed when it starts: ``--source`` and ``--since/--until`` are tests on the
archived article itself, ``--query`` and ``--stale`` are resolved once into the ids of the matching
documents (see :mod:`services.reprocess.coordinator` for why), so every worker, on any machine and
after any restart, selects exactly the same records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.articles import Article


class Subset(BaseModel):
    """The articles a run re-enriches; no condition at all means the whole archive.

    ``since`` and ``until`` (inclusive, exclusive) apply to the article's ``published_at``, or to its
    ``ingested_at`` when the publisher gave no date. ``ids`` (from ``--query`` or ``--stale``) is
    the set the article's id must be in.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    query: str | None = None
    stale: bool = False
    ids: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return not (self.source or self.since or self.until or self.query or self.stale)

    def selects(self, article: Article) -> bool:
        """Whether ``article`` (an archive record's) belongs to the subset."""
        if self.source is not None and (article.source or "").casefold() != self.source.casefold():
            return False
        moment = article.published_at or article.ingested_at
        if self.since is not None and _before(moment, self.since):
            return False
        if self.until is not None and not _before(moment, self.until):
            return False
        return self.ids is None or article.id in self.ids

    def describe(self) -> str:
        parts = [
            f"source {self.source!r}" if self.source else "",
            f"since {self.since.isoformat()}" if self.since else "",
            f"until {self.until.isoformat()}" if self.until else "",
            f"query {self.query!r}" if self.query else "",
            "stale lineage" if self.stale else "",
        ]
        chosen = ", ".join(part for part in parts if part)
        return chosen or "the whole archive"

    def same_request(self, other: Subset) -> bool:
        """Whether ``other`` asks for the same subset (the resolved ids aside)."""
        return self.model_dump(exclude={"ids"}) == other.model_dump(exclude={"ids"})


def _before(moment: datetime, bound: datetime) -> bool:
    # An aware and a naive datetime cannot be compared: a naive bound is taken as UTC.
    if (moment.tzinfo is None) != (bound.tzinfo is None):
        from datetime import UTC

        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
    return moment < bound


def is_stale(lineage: Iterable[Mapping[str, Any]], current: Mapping[str, str]) -> bool:
    """Whether a document's ``enrichers`` lineage misses a current enricher or has another version of one.

    A version the pipeline qualified with how much of a long body it read ("2 (first 200000 of
    250000 characters)") is the same version.
    """
    seen: dict[str, str] = {}
    for run in lineage:
        name, version = run.get("name"), run.get("version")
        if isinstance(name, str) and isinstance(version, str):
            seen[name] = version.split(" (", 1)[0]
    return any(seen.get(name) != version for name, version in current.items())


def stale_ids(hits: Iterable[Mapping[str, Any]], current: Mapping[str, str]) -> list[str]:
    """The ids of the search hits (``_id``, ``_source.enrichers``) whose lineage is stale."""
    return [
        str(hit["_id"]) for hit in hits if is_stale(hit.get("_source", {}).get("enrichers") or (), current)
    ]
