"""Index versions (``articles-v1``, ``articles-v2`` ...), the atomic alias swap, and what prune deletes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


def version_of(index: str, prefix: str) -> int | None:
    """The number of ``<prefix><n>``, or None for an index of another name."""
    match = re.fullmatch(re.escape(prefix) + r"([0-9]+)", index)
    return int(match.group(1)) if match else None


def next_version(existing: Iterable[str], prefix: str) -> str:
    """The index after the newest existing version (``<prefix>1`` when there is none)."""
    versions = [v for v in (version_of(name, prefix) for name in existing) if v is not None]
    return f"{prefix}{max(versions, default=0) + 1}"


def swap_actions(alias: str, old: Iterable[str], new: str, next_alias: str) -> list[dict[str, Any]]:
    """One ``_aliases`` request: ``alias`` leaves ``old`` and points at ``new``, which drops ``next_alias``.

    Elasticsearch applies the actions of one request atomically: a search sees the old index or
    the new one, never both or neither, and the live index service's writes to ``alias`` go to
    the new index from that instant.
    """
    actions: list[dict[str, Any]] = [
        {"remove": {"index": index, "alias": alias}} for index in sorted(set(old)) if index != new
    ]
    actions.append({"add": {"index": new, "alias": alias, "is_write_index": True}})
    actions.append({"remove": {"index": new, "alias": next_alias, "must_exist": False}})
    return actions


def prunable(aliases_by_index: Mapping[str, Iterable[str]], prefix: str) -> list[str]:
    """Index versions no alias points at (from ``GET <prefix>*/_alias``), oldest first."""
    unused = [
        name
        for name, aliases in aliases_by_index.items()
        if version_of(name, prefix) is not None and not list(aliases)
    ]
    return sorted(unused, key=lambda name: version_of(name, prefix) or 0)
