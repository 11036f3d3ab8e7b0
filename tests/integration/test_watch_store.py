"""The watch store against the real Elasticsearch: add (validated), get, list, remove."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from schemas.watches import Watch
from services.watches.settings import WatchStoreSettings
from services.watches.store import LIST_PAGE, WatchExists, WatchRefused, WatchStore

SECRET = "integration-secret-0123"


def a_watch(watch_id: str, owner: str = "desk", **search: object) -> Watch:
    return Watch.model_validate(
        {
            "id": watch_id,
            "name": watch_id.replace("-", " "),
            "owner": owner,
            "search": search or {"speaker": "Xi Jinping"},
            "webhook": {"url": "http://127.0.0.1:9/hook", "secret": SECRET},
            "created_at": datetime.now(UTC),
        }
    )


@pytest.fixture
def store() -> Iterator[WatchStore]:
    """A store on a fresh watches index, searching the real archive alias."""
    settings = WatchStoreSettings(index=f"newswire-watches-test-{uuid.uuid4().hex[:10]}")
    with WatchStore(settings) as store:
        yield store
        store.es.indices.delete(index=settings.index, ignore_unavailable=True)


def test_a_saved_watch_is_got_listed_and_removed(store: WatchStore) -> None:
    xi = store.add(a_watch("xi-quoted"))
    sco = store.add(a_watch("sco", owner="analyst", q="Shanghai Cooperation Organization", country=["KZ"]))

    got = store.get("xi-quoted")
    assert got == xi
    assert got is not None and got.webhook is not None and got.webhook.secret.get_secret_value() == SECRET
    assert [watch.id for watch in store.list()] == ["sco", "xi-quoted"]
    assert store.list(owner="analyst") == [sco]

    assert store.remove("xi-quoted") is True
    assert store.get("xi-quoted") is None
    assert store.remove("xi-quoted") is False
    assert [watch.id for watch in store.list()] == ["sco"]


def test_an_existing_id_is_refused_unless_replaced(store: WatchStore) -> None:
    store.add(a_watch("sco", q="SCO"))
    with pytest.raises(WatchExists, match="sco"):
        store.add(a_watch("sco", q="summit"))
    store.add(a_watch("sco", q="summit"), replace=True)
    stored = store.get("sco")
    assert stored is not None and stored.search.q == "summit"


def test_a_search_elasticsearch_cannot_run_is_refused_with_its_reason(store: WatchStore) -> None:
    # An archive whose mapping the search does not fit: people as numbers.
    archive = f"articles-watch-refusal-{uuid.uuid4().hex[:10]}"
    es: Elasticsearch = store.es
    es.indices.create(index=archive, mappings={"properties": {"people": {"type": "long"}}})
    try:
        with WatchStore(WatchStoreSettings(index=store.index, articles=archive), client=es) as on_archive:
            with pytest.raises(WatchRefused, match="Xi Jinping"):
                on_archive.add(a_watch("numbers", person=["Xi Jinping"]))
            assert on_archive.get("numbers") is None
    finally:
        es.indices.delete(index=archive)


def test_listing_pages_past_one_request(store: WatchStore) -> None:
    store.ensure_index()
    count = LIST_PAGE + 3
    operations: list[dict[str, object]] = []
    for number in range(count):
        watch = a_watch(f"w-{number:05d}", q=f"word{number}")
        operations.append({"create": {"_index": store.index, "_id": watch.id}})
        operations.append(watch.model_dump(mode="json") | {"webhook": None})
    assert not store.es.bulk(operations=operations, refresh=True)["errors"]
    listed = store.list()
    assert [watch.id for watch in listed] == [f"w-{number:05d}" for number in range(count)]
