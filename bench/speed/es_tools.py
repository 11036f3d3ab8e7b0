"""Elasticsearch chores: indices shaped like the real one, counts, cleanup."""

from __future__ import annotations

import contextlib
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.serializer import OrjsonSerializer

from schemas.search_index import ALIAS, INDEX, index_template
from services.index.bootstrap import ensure_index


def client(url: str, *, fast_json: bool = False, timeout_s: float = 120.0) -> Elasticsearch:
    kwargs: dict[str, Any] = {"request_timeout": timeout_s}
    if fast_json:
        kwargs["serializer"] = OrjsonSerializer()
    # A cluster's nodes come comma-joined, as in NEWSWIRE_ES_URL.
    return Elasticsearch([node.strip() for node in url.split(",")], **kwargs)


def create_like_articles(es: Elasticsearch, name: str, refresh_interval: str) -> None:
    """An index with the settings and mappings of ``articles-v1`` (no alias), refreshed as told."""
    delete_index(es, name)
    template = index_template()["template"]
    settings = {**template["settings"], "refresh_interval": refresh_interval}
    es.indices.create(index=name, settings=settings, mappings=template["mappings"])


def reset_articles_index(es: Elasticsearch, refresh_interval: str) -> None:
    """Drop and recreate the real index (template, alias and all) with an explicit refresh interval."""
    delete_index(es, INDEX)
    ensure_index(es)
    set_refresh_interval(es, ALIAS, refresh_interval)


def set_refresh_interval(es: Elasticsearch, index: str, refresh_interval: str) -> None:
    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": refresh_interval}})


def delete_index(es: Elasticsearch, name: str) -> None:
    with contextlib.suppress(NotFoundError):
        es.indices.delete(index=name)


def count(es: Elasticsearch, index: str) -> int:
    try:
        return int(es.count(index=index)["count"])
    except NotFoundError:
        return 0
