"""Start-up against a live index whose mapping the template changed, on a real Elasticsearch:
new fields are added in place; a changed field type is refused with the way out, unless a
reprocess is building the next index version."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from schemas.search_index import index_template
from services.index.bootstrap import MappingConflict, update_live_mapping
from services.runtime.settings import ElasticsearchSettings

MakeIndex = Callable[[Callable[[dict[str, Any]], object]], str]


@pytest.fixture
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch(**ElasticsearchSettings().client_kwargs())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def live_index(es: Elasticsearch) -> Iterator[MakeIndex]:
    """Makes throwaway indexes from an older template: ``change`` edits a copy of its mappings."""
    created: list[str] = []

    def make(change: Callable[[dict[str, Any]], object]) -> str:
        name = f"test-mapping-{uuid.uuid4().hex[:10]}"
        template = copy.deepcopy(index_template()["template"])
        change(template["mappings"]["properties"])
        es.indices.create(index=name, settings=template["settings"], mappings=template["mappings"])
        created.append(name)
        return name

    try:
        yield make
    finally:
        for name in created:
            es.indices.delete(index=name, ignore_unavailable=True)


def fields_of(es: Elasticsearch, index: str) -> dict[str, Any]:
    properties: dict[str, Any] = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    return properties


def test_new_fields_are_added_to_the_live_index(es: Elasticsearch, live_index: MakeIndex) -> None:
    def older(properties: dict[str, Any]) -> None:
        del properties["lineage"]
        del properties["dateline"]["properties"]["location"]

    index = live_index(older)
    comparison = update_live_mapping(es, index)
    assert comparison.in_place and set(comparison.added) == {"lineage", "dateline.location"}
    fields = fields_of(es, index)
    assert fields["lineage"] == {"type": "keyword"}
    assert fields["dateline"]["properties"]["location"] == {"type": "geo_point"}
    assert update_live_mapping(es, index).added == ()


def test_a_changed_field_type_is_refused_with_the_way_out(es: Elasticsearch, live_index: MakeIndex) -> None:
    def older(properties: dict[str, Any]) -> None:
        properties["source"] = {"type": "text"}
        del properties["lineage"]

    index = live_index(older)
    with pytest.raises(MappingConflict) as refused:
        update_live_mapping(es, index, next_alias=f"{index}-next")
    message = str(refused.value)
    assert "source: type text -> keyword" in message and "newswire reprocess" in message and index in message
    # What can be applied is applied anyway: documents with the new field are not rejected.
    assert fields_of(es, index)["lineage"] == {"type": "keyword"}
    assert fields_of(es, index)["source"] == {"type": "text"}


def test_a_conflict_does_not_stop_the_service_while_a_reprocess_builds_the_next_version(
    es: Elasticsearch, live_index: MakeIndex
) -> None:
    def older(properties: dict[str, Any]) -> None:
        properties["source"] = {"type": "text"}

    index = live_index(older)
    next_index = live_index(lambda properties: None)
    es.indices.put_alias(index=next_index, name=f"{index}-next")
    comparison = update_live_mapping(es, index, next_alias=f"{index}-next")
    assert comparison.conflicts == ("source: type text -> keyword",)
