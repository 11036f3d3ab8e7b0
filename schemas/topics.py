"""Topic names and their partitioning contract."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    """The pipeline's topics, in flow order.

    Every event is keyed by the article id (bytes of the UTF-8 string) from ``articles.ingested``
    on, so all events about one article land in one partition and stay ordered. ``articles.raw``
    accepts unkeyed messages from outside publishers.
    """

    raw: str = "articles.raw"
    ingested: str = "articles.ingested"
    enriched: str = "articles.enriched"
    dlq: str = "articles.dlq"

    def all(self) -> tuple[str, ...]:
        return (self.raw, self.ingested, self.enriched, self.dlq)


TOPICS = Topics()
