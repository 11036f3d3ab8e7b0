"""Every index the project creates gets NEWSWIRE_INDEX_NUMBER_OF_REPLICAS replicas (default 0)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from elasticsearch import Elasticsearch

from schemas.search_index import index_template
from services.alert.matching import AlertArchive
from services.index.bootstrap import articles_template
from services.reprocess.runs import RunStore
from services.runtime.settings import IndexReplicaSettings
from services.watches.settings import WatchStoreSettings
from services.watches.store import WatchStore


class RecordingIndices:
    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}

    def exists(self, index: str) -> bool:
        return False

    def create(self, index: str, **body: Any) -> None:
        self.created[index] = body


class RecordingClient:
    def __init__(self) -> None:
        self.indices = RecordingIndices()


def created_replicas() -> dict[str, Any]:
    """The replicas each of the small indices is created with."""
    client = RecordingClient()
    es = cast(Elasticsearch, client)
    RunStore(es, "runs").ensure()
    WatchStore(WatchStoreSettings(index="watches", articles="articles"), client=es).ensure_index()
    AlertArchive(es, "articles", "sent").ensure_sent_index()
    return {
        index: body["settings"].get("number_of_replicas") for index, body in client.indices.created.items()
    }


def test_by_default_no_replicas_as_a_single_node_can_hold_none() -> None:
    assert IndexReplicaSettings().number_of_replicas == 0
    assert articles_template()["template"]["settings"]["number_of_replicas"] == 0
    assert index_template()["template"]["settings"]["number_of_replicas"] == 0, "the file's default"
    assert created_replicas() == {"runs": 0, "watches": 0, "sent": 0}


def test_on_a_cluster_every_index_gets_the_configured_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_INDEX_NUMBER_OF_REPLICAS", "1")

    template = articles_template()

    assert template["template"]["settings"]["number_of_replicas"] == 1
    rest = {
        key: value for key, value in template["template"]["settings"].items() if key != "number_of_replicas"
    }
    assert rest == {
        key: value
        for key, value in index_template()["template"]["settings"].items()
        if key != "number_of_replicas"
    }
    assert created_replicas() == {"runs": 1, "watches": 1, "sent": 1}
