from __future__ import annotations

from schemas.articles import Entity, EntityType
from services.enrich.quotes.finder import find_quotes


def person(name: str, *aliases: str) -> Entity:
    return Entity(
        name=name, type=EntityType.PERSON, mentions=1 + len(aliases), first_offset=0, aliases=list(aliases)
    )


def pairs(body: str, entities: list[Entity] | None = None) -> list[tuple[str, str | None]]:
    """(first three words of each quote, speaker)."""
    return [
        (" ".join(found.text.split()[:3]), found.speaker.name if found.speaker else None)
        for found in find_quotes(body, entities or [])
    ]
