"""Which template changes Elasticsearch can apply to a live index in place (pure comparison)."""

from __future__ import annotations

import copy
from typing import Any

from schemas.search_index import index_template
from services.index.mapping_changes import compare_index, compare_mappings


def template() -> dict[str, Any]:
    return copy.deepcopy(index_template()["template"])


def live_settings(**overrides: str) -> dict[str, Any]:
    # GET <index>/_settings reports every value as a string.
    return {
        "number_of_shards": "1",
        "number_of_replicas": "0",
        "analysis": {"analyzer": {"english_text": {"type": "newswire_english"}}},
        **overrides,
    }


def test_an_index_made_from_the_template_needs_nothing() -> None:
    current = template()
    comparison = compare_index(current, current["mappings"], live_settings())
    assert comparison.in_place and comparison.added == () and comparison.additions == {}


def test_new_fields_anywhere_are_added_in_place() -> None:
    live = template()["mappings"]
    del live["properties"]["lineage"]
    del live["properties"]["dateline"]["properties"]["location"]
    del live["properties"]["title"]["fields"]
    comparison = compare_index(template(), live, live_settings())
    assert comparison.in_place
    assert set(comparison.added) == {"lineage", "dateline.location", "title.exact", "title.raw"}
    properties = comparison.additions["properties"]
    assert properties["lineage"] == {"type": "keyword"}
    assert properties["dateline"] == {"properties": {"location": {"type": "geo_point"}}}
    # A new multi-field is put with its parent's definition, which is unchanged.
    title = template()["mappings"]["properties"]["title"]
    assert properties["title"]["type"] == title["type"] and properties["title"]["fields"] == title["fields"]


def test_a_changed_type_or_analyzer_cannot_be_applied_in_place() -> None:
    live = template()["mappings"]
    wanted = template()
    wanted["mappings"]["properties"]["source"] = {"type": "text"}
    wanted["mappings"]["properties"]["body"]["analyzer"] = "standard"
    wanted["mappings"]["properties"]["lineage"] = {"type": "keyword"}
    comparison = compare_index(wanted, live, live_settings())
    assert not comparison.in_place
    assert "source: type keyword -> text" in comparison.conflicts
    assert "body: analyzer english_text -> standard" in comparison.conflicts
    assert comparison.added == ()


def test_parameters_put_mapping_may_change_are_no_conflict() -> None:
    live = {"properties": {"url": {"type": "keyword", "ignore_above": 256}, "place": {"properties": {}}}}
    wanted = {
        "dynamic": "strict",
        "properties": {
            "url": {"type": "keyword", "ignore_above": 2048},
            "place": {"type": "object", "dynamic": "false", "properties": {}},
        },
    }
    assert compare_mappings(wanted, live).conflicts == ()


def test_an_object_that_became_nested_and_a_changed_source_are_conflicts() -> None:
    live = {"_source": {"excludes": ["paragraphs"]}, "properties": {"entities": {"properties": {}}}}
    wanted = {"properties": {"entities": {"type": "nested", "properties": {}}}}
    conflicts = compare_mappings(wanted, live).conflicts
    assert "entities: type object -> nested" in conflicts
    assert any(conflict.startswith("mapping _source:") for conflict in conflicts)


def test_changed_analysis_or_shards_cannot_be_applied_to_an_open_index() -> None:
    wanted = template()
    wanted["settings"]["analysis"]["analyzer"]["english_text"]["type"] = "english"
    wanted["settings"]["number_of_shards"] = 3
    comparison = compare_index(wanted, template()["mappings"], live_settings())
    assert comparison.conflicts == (
        "setting analysis: {'analyzer': {'english_text': {'type': 'newswire_english'}}} -> "
        "{'analyzer': {'english_text': {'type': 'english'}}}",
        "setting number_of_shards: 1 -> 3",
    )
    # Replicas and refresh interval can change on a live index: not compared.
    assert compare_index(template(), template()["mappings"], live_settings(number_of_replicas="2")).in_place
