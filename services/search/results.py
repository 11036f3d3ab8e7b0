"""Elasticsearch's answer as the search's own shapes: hits with their highlights and matched quotes.

The CLI (``newswire search --json``) and the API read hits through these, so both show the same fields.
"""

from __future__ import annotations

from typing import Any

from services.search.models import FacetValue, Hit, QuoteHit, SearchPage
from services.search.query import facets_from


def hit_from(hit: dict[str, Any]) -> Hit:
    """One hit of a ``_search`` response (highlights keep their ``<em>`` tags)."""
    source = hit.get("_source") or {}
    return Hit(
        id=source.get("id") or hit.get("_id"),
        score=hit.get("_score"),
        title=source.get("title"),
        section=source.get("section"),
        source=source.get("source"),
        url=source.get("url") or source.get("canonical_url"),
        published_at=source.get("published_at"),
        summary=source.get("summary"),
        duplicate_of=source.get("duplicate_of"),
        dateline=source.get("dateline"),
        highlights=hit.get("highlight") or {},
        quotes=matching_quotes(hit),
    )


def hit_summary(hit: dict[str, Any]) -> dict[str, Any]:
    """:func:`hit_from` as plain JSON-ready data (what ``newswire search --json`` prints per hit)."""
    return hit_from(hit).model_dump(mode="json")


def matching_quotes(hit: dict[str, Any]) -> list[QuoteHit]:
    """The quotes a quote search (words, speaker or both) matched in this hit, best first."""
    inner = ((hit.get("inner_hits") or {}).get("quotes") or {}).get("hits", {}).get("hits", [])
    quotes = []
    for quote_hit in inner:
        quote = quote_hit.get("_source") or {}
        marked = (quote_hit.get("highlight") or {}).get("quotes.text") or [quote.get("text") or ""]
        quotes.append(QuoteHit(text=quote.get("text"), speaker=quote.get("speaker"), highlight=marked[0]))
    return quotes


def page_from(response: dict[str, Any], page: int, size: int, relaxed: bool = False) -> SearchPage:
    """A page of results from a ``_search`` response to :func:`~services.search.query.build_query`."""
    return SearchPage(
        total=response["hits"]["total"]["value"],
        page=page,
        size=size,
        took_ms=int(response.get("took") or 0),
        relaxed=relaxed,
        hits=[hit_from(hit) for hit in response["hits"]["hits"]],
        facets={
            name: [FacetValue.model_validate(bucket) for bucket in buckets]
            for name, buckets in facets_from(response.get("aggregations")).items()
        },
    )
