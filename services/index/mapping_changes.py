"""What of the index template Elasticsearch can apply to a live index in place (pure functions).

``PUT _mapping`` adds fields (and multi-fields, and a few parameters such as ``ignore_above``) to an
index, but never changes what an existing field is: its type, analyzer, ``index`` or ``doc_values``
flag, format... Nor can an open index change its analysis settings or shard count. Such a change
needs a new index version built from the template (``newswire reprocess``) and the alias moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Field parameters ``PUT _mapping`` may change on an existing field.
UPDATABLE_PARAMETERS = frozenset(
    {"ignore_above", "search_analyzer", "search_quote_analyzer", "meta", "dynamic", "boost"}
)
#: Top-level mapping keys that ``PUT _mapping`` may change (the rest, e.g. ``_source``, it may not).
UPDATABLE_ROOT_KEYS = frozenset(
    {"properties", "dynamic", "_meta", "runtime", "dynamic_templates", "date_detection", "numeric_detection"}
)
#: Index settings fixed once an (open) index exists.
FIXED_SETTINGS = ("analysis", "number_of_shards")


@dataclass(frozen=True)
class MappingComparison:
    """The template's mapping against a live index's."""

    #: Fields the template has and the index lacks (dotted paths): ``PUT _mapping`` adds them.
    added: tuple[str, ...] = ()
    #: Changes Elasticsearch cannot apply in place, one line each (``title: type text -> keyword``).
    conflicts: tuple[str, ...] = ()
    #: A ``PUT _mapping`` body with the added fields alone (applicable even when there are conflicts).
    additions: dict[str, Any] = field(default_factory=dict)

    @property
    def in_place(self) -> bool:
        return not self.conflicts


def compare_index(
    template: Mapping[str, Any], live_mapping: Mapping[str, Any], live_settings: Mapping[str, Any]
) -> MappingComparison:
    """The template (the ``template`` part of an index template: mappings, settings) against a live
    index's mapping (``GET <index>/_mapping``'s ``mappings``) and settings (``...settings.index``)."""
    mapping = compare_mappings(template.get("mappings") or {}, live_mapping)
    settings = compare_settings(template.get("settings") or {}, live_settings)
    return MappingComparison(mapping.added, (*settings, *mapping.conflicts), mapping.additions)


def compare_mappings(wanted: Mapping[str, Any], live: Mapping[str, Any]) -> MappingComparison:
    conflicts: list[str] = []
    for key in sorted((set(wanted) | set(live)) - UPDATABLE_ROOT_KEYS):
        if _normal(wanted.get(key)) != _normal(live.get(key)):
            conflicts.append(f"mapping {key}: {_show(live.get(key))} -> {_show(wanted.get(key))}")
    added: list[str] = []
    properties = _compare_properties(
        "", wanted.get("properties") or {}, live.get("properties") or {}, added, conflicts
    )
    return MappingComparison(tuple(added), tuple(conflicts), {"properties": properties} if properties else {})


def compare_settings(wanted: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Changed analysis or shard count (the template's ``settings`` against ``GET _settings``'s
    ``settings.index``; Elasticsearch returns every value as a string)."""
    wanted_index = {**wanted, **(wanted.get("index") or {})}
    conflicts = []
    for key in FIXED_SETTINGS:
        if key in wanted_index and _normal(wanted_index[key]) != _normal(live.get(key)):
            conflicts.append(f"setting {key}: {_show(live.get(key))} -> {_show(wanted_index[key])}")
    return conflicts


def _compare_properties(
    prefix: str,
    wanted: Mapping[str, Any],
    live: Mapping[str, Any],
    added: list[str],
    conflicts: list[str],
) -> dict[str, Any]:
    """Compare each wanted field with the live one; return the additions as ``properties``."""
    additions: dict[str, Any] = {}
    for name, spec in wanted.items():
        path = f"{prefix}{name}"
        if name not in live:
            added.append(path)
            additions[name] = spec
            continue
        addition = _compare_field(path, spec, live[name], added, conflicts)
        if addition:
            additions[name] = addition
    return additions


def _compare_field(
    path: str, wanted: Mapping[str, Any], live: Mapping[str, Any], added: list[str], conflicts: list[str]
) -> dict[str, Any]:
    """Conflicts of one field; returns the ``PUT _mapping`` entry its additions need (or {})."""
    wanted_type, live_type = _type_of(wanted), _type_of(live)
    if wanted_type != live_type:
        conflicts.append(f"{path}: type {live_type} -> {wanted_type}")
        return {}
    for key in sorted((set(wanted) | set(live)) - {"type", "properties", "fields"} - UPDATABLE_PARAMETERS):
        if _normal(wanted.get(key)) != _normal(live.get(key)):
            conflicts.append(f"{path}: {key} {_show(live.get(key))} -> {_show(wanted.get(key))}")
    addition: dict[str, Any] = {}
    properties = _compare_properties(
        f"{path}.", wanted.get("properties") or {}, live.get("properties") or {}, added, conflicts
    )
    if properties:
        addition = {"properties": properties} | ({"type": wanted_type} if wanted_type == "nested" else {})
    multi_fields = _compare_properties(
        f"{path}.", wanted.get("fields") or {}, live.get("fields") or {}, added, conflicts
    )
    if multi_fields:
        # A new multi-field is put with its parent's whole definition.
        addition = {key: value for key, value in wanted.items() if key != "fields"} | {"fields": multi_fields}
    return addition


def _type_of(spec: Mapping[str, Any]) -> str:
    # An object field's type is implicit ("properties" alone), in the template and in GET _mapping.
    return str(spec.get("type") or "object")


def _normal(value: Any) -> Any:
    """Values as Elasticsearch reports them: settings come back as strings, mappings as written."""
    if isinstance(value, Mapping):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    return None if value is None else str(value)


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)
