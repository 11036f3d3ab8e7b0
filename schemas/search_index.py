"""The Elasticsearch side of the contract: index template, alias and document shape.

Users search the alias ``articles``; it points at a versioned index (``articles-v1``) so that a
mapping change can be rolled out by reindexing into ``articles-v2`` and moving the alias.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from schemas.articles import EnrichedArticle, EnricherRun, EntityType

ALIAS = "articles"
INDEX = "articles-v1"
TEMPLATE_NAME = "newswire-articles"
TEMPLATE_PATH = Path(__file__).parent / "elasticsearch" / "articles-template.json"

# Stored in the index but not searched as text: kept out of the document to save space.
_NOT_INDEXED = frozenset({"paragraphs"})
#: One keyword per enricher that made the document, ``name@version`` (e.g. ``entities@2``): the
#: lineage in a form a terms aggregation counts (``enrichers`` is an object array, whose names and
#: versions Elasticsearch keeps apart) and a query filters (``newswire reprocess --stale``).
LINEAGE_FIELD = "lineage"
#: More distinct enricher versions than any index will hold.
_LINEAGE_BUCKETS = 1000
#: Words of the first paragraph kept in ``lead``. News puts the story's subject in its opening
#: sentence, so search weighs a match there above one deep in the body (bench/quality/relevance).
LEAD_WORDS = 40


@cache
def index_template() -> dict[str, Any]:
    """The composable index template body (``PUT _index_template/newswire-articles``)."""
    template: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template


def mapped_fields() -> frozenset[str]:
    return frozenset(index_template()["template"]["mappings"]["properties"])


def document_from(
    article: EnrichedArticle, trace_id: str, indexed_at: datetime | None = None
) -> dict[str, Any]:
    """The Elasticsearch source document for an enriched article (``_id`` is ``article.id``)."""
    doc = article.model_dump(mode="json", exclude=set(_NOT_INDEXED))
    doc["body"] = article.body
    doc["lead"] = lead_of(article.paragraphs)
    # Flat name lists make the facets and filters (``--person``, ``--org``, ``--place``) plain terms.
    doc["people"] = _names(article, EntityType.PERSON)
    doc["organizations"] = _names(article, EntityType.ORGANIZATION)
    doc["place_names"] = sorted(
        {entity.name for entity in article.entities if entity.type is EntityType.LOCATION}
        | {place.name for place in article.places}
        | ({article.dateline.name} if article.dateline else set())
    )
    doc[LINEAGE_FIELD] = lineage_of(article.enrichers)
    doc["trace_id"] = trace_id
    doc["indexed_at"] = (indexed_at or datetime.now(UTC)).isoformat()
    return doc


def lead_of(paragraphs: list[str]) -> str:
    """The opening of the story: the first :data:`LEAD_WORDS` words of its first paragraph."""
    first = next((paragraph for paragraph in paragraphs if paragraph.strip()), "")
    return " ".join(first.split()[:LEAD_WORDS])


def _names(article: EnrichedArticle, kind: EntityType) -> list[str]:
    return [entity.name for entity in article.entities if entity.type is kind]


def lineage_term(name: str, version: str) -> str:
    """``entities@2``; a partial read's version (``2 (first 100000 of 250000 characters)``) counts as
    its enricher version: reprocessing with the same budget would read the same."""
    return f"{name}@{version.split(' (', 1)[0]}"


def lineage_of(enrichers: list[EnricherRun]) -> list[str]:
    return sorted({lineage_term(run.name, run.version) for run in enrichers})


@dataclass(frozen=True)
class LineageCounts:
    """How many indexed documents each enricher version made."""

    #: ``{(enricher, version): documents}``
    versions: dict[tuple[str, str], int]
    #: Documents indexed before :data:`LINEAGE_FIELD` existed: their versions are only in
    #: ``_source`` (reading it would need a script; some clusters run without Painless).
    without_lineage: int
    #: Documents made by every current enricher version (None: no current versions were given).
    up_to_date: int | None = None


def lineage_aggregations(current: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Aggregations counting documents per enricher version from doc values (cheap: no ``_source``).

    With ``current`` (enricher -> version of the running code), also the documents that carry all
    of them: the rest is what ``newswire reprocess --stale`` would re-enrich.
    """
    aggs: dict[str, Any] = {
        "lineage": {"terms": {"field": LINEAGE_FIELD, "size": _LINEAGE_BUCKETS}},
        "without_lineage": {"missing": {"field": LINEAGE_FIELD}},
    }
    if current is not None:
        terms = [{"term": {LINEAGE_FIELD: lineage_term(name, v)}} for name, v in sorted(current.items())]
        aggs["up_to_date"] = {"filter": {"bool": {"filter": terms}}}
    return aggs


def lineage_counts(aggregations: Mapping[str, Any]) -> LineageCounts:
    """The counts in the response to :func:`lineage_aggregations`."""
    versions: dict[tuple[str, str], int] = {}
    for bucket in aggregations["lineage"]["buckets"]:
        name, _, version = str(bucket["key"]).partition("@")
        versions[(name, version)] = int(bucket["doc_count"])
    up_to_date = aggregations.get("up_to_date")
    return LineageCounts(
        versions=versions,
        without_lineage=int(aggregations["without_lineage"]["doc_count"]),
        up_to_date=int(up_to_date["doc_count"]) if up_to_date is not None else None,
    )
