"""A watch's search as the search service's own request, so that a watch matches what the search finds.

:class:`~schemas.watches.WatchSearch` (the contract) becomes the search service's
:class:`~services.search.models.SearchParams`, and :func:`~services.search.query.build_query` makes the
request, the same function ``newswire search`` and ``GET /search`` use. Only the strict request is
used: the search's fallback to any one of the words (``relaxed``) exists so that a search of the
whole archive never comes back empty, which is no reason to alert on an article.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.watches import WatchSearch
from services.search.models import SearchParams
from services.search.query import MAX_PAGE_SIZE, build_query

#: What an alert shows of an article (besides highlights and matching quotes).
ALERT_SOURCE_FIELDS = ("id", "title", "url", "canonical_url", "revision", "published_at")


def search_params_for(search: WatchSearch) -> SearchParams:
    """The ``SearchParams`` of ``newswire search`` with the watch's words, filters and quote conditions."""
    return SearchParams.model_validate(search.model_dump(exclude_defaults=True))


def watch_request(search: WatchSearch, size: int = 10, sort: str = "relevance") -> dict[str, Any]:
    """The ``_search`` body of the watch's search over the archive (``newswire watch test``: sort="date")."""
    params = search_params_for(search)
    return build_query(params.q, params.filters(), size=size, quotes=params.quotes(), sort=sort)


def batch_request(search: WatchSearch, article_ids: Sequence[str], ids_only: bool = False) -> dict[str, Any]:
    """The watch's search restricted to ``article_ids`` (just indexed): every match, no facets.

    The search's query is kept whole and the ids are a filter beside it, so an article matches the
    watch exactly when the same search would list it. ``ids_only``: the hits' ids alone, without
    highlights and fields (a fifth of the cost), to find which watches match at all.
    """
    if not 1 <= len(article_ids) <= MAX_PAGE_SIZE:
        raise ValueError(f"a batch has 1 to {MAX_PAGE_SIZE} article ids, not {len(article_ids)}")
    body = watch_request(search, size=len(article_ids))
    body.pop("aggs", None)
    body["track_total_hits"] = False
    body["_source"] = list(ALERT_SOURCE_FIELDS)
    body["query"] = {"bool": {"must": [body["query"]], "filter": [{"ids": {"values": list(article_ids)}}]}}
    body.pop("sort", None)
    if ids_only:
        body.pop("highlight", None)
        body["_source"] = False
        body["query"] = _without_inner_hits(body["query"])
    return body


def _without_inner_hits(query: Any) -> Any:
    """``query`` with every ``inner_hits`` left out (the quote clause asks for the matching quotes)."""
    if isinstance(query, dict):
        return {key: _without_inner_hits(value) for key, value in query.items() if key != "inner_hits"}
    if isinstance(query, list):
        return [_without_inner_hits(value) for value in query]
    return query
