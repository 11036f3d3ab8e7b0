"""What every recognition backend returns: typed spans of one text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from schemas.articles import EntityType


@dataclass(frozen=True, slots=True)
class Mention:
    """``text[start:end]`` names a person, organisation or place."""

    start: int
    end: int
    text: str
    type: EntityType


class Recognizer(Protocol):
    """A named-entity backend; loading its data happens once per process, on first use."""

    name: str

    def mentions(self, text: str) -> list[Mention]: ...
