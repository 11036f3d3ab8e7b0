"""Enrichers: small pure functions ``(article, fields so far) -> new fields``, each with a name and version.

An enricher reads the :class:`~schemas.Article` and the fields earlier enrichers produced, and returns
only the :class:`~schemas.EnrichedArticle` fields it owns. Bump ``version`` whenever its output for the
same input can change, so the lineage on every enriched article says which logic produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.articles import Article, EnricherRun

EnrichFunction = Callable[[Article, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Enricher:
    """A named, versioned enrichment step."""

    name: str
    version: str
    run: EnrichFunction

    def __call__(self, article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self.run(article, fields)

    @property
    def lineage(self) -> EnricherRun:
        return EnricherRun(name=self.name, version=self.version)


def enricher(name: str, version: str) -> Callable[[EnrichFunction], Enricher]:
    """Decorator turning a function into an :class:`Enricher`."""

    def wrap(run: EnrichFunction) -> Enricher:
        return Enricher(name=name, version=version, run=run)

    return wrap
