"""Where an article names places: gazetteer matches that are not part of another kind of name.

A place name inside a person's name ("Paris Hilton"), an organisation's ("Shanghai Cooperation
Organization") or a company's ("SDC Sydney Development Corp", "Bank of Montreal") is no mention of
the place; neither is a capital used as an ordinary word ("Male unemployment").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.articles import Entity, EntityType
from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.names import HONORIFICS, given_names
from services.enrich.lexicon.place_tables import NAMED_AFTER_CITY_HEADS, PERSON_LIKE_NAMES
from services.enrich.lexicon.places import (
    MAX_NAME_TOKENS,
    NOWHERE,
    TOKEN,
    Gazetteer,
    PlaceEntry,
    gazetteer,
    name_key,
)

#: A LOC entity shorter than this that is only a town's name is more likely a misread word ("Man").
MIN_ENTITY_PLACE_CHARS = 4

# Capitalised words that start sentences or clauses and so say nothing about the next word being a
# surname ("In Jordan", "But Chad").
_FUNCTION_WORDS = word_set(
    """
    The A An In At On From To For And But Or With By Of Across Both Neither Either As After Before
    Since While When Where Until Unlike Like Outside Inside Within Without Including Between Beyond
    Unlike Neighbouring Neighboring Northern Southern Eastern Western Central Mr Mrs Ms Dr
    """
)
_ROLE_WORDS = frozenset({"Mayor", "Governor", "Police", "Province", "Region", "Oblast", "Airport"})
_SPEECH_AFTER = re.compile(r"^\s+(?:said|says|told|added|insisted|argued|warned|explained)\b")
#: What follows a place name inside a company's name: more capitalised words, then a legal form or
#: a stock ticker ("Santa Fe Southern Pacific Corp", "SANTA FE <SFX>", "SDC Sydney Development Corp").
_COMPANY_AFTER = re.compile(
    r"(?:\s+(?:[A-Z][\w&'-]*|of|and|&)){0,4}?,?\s+"
    r"(?:(?:Corp|Corporation|Inc|Incorporated|Co|Cos|Company|Ltd|Limited|Bancorp|Bancshares|Group|"
    r"Holdings?|PLC|Plc|plc|AG|SA|NV|BV|GmbH|SpA|LP|Industries|Airlines)\b|<[A-Z][A-Z.]*>)"
)
#: The bank's name and the city's are one here ("Bank of Montreal").
_COMPANY_BEFORE = re.compile(r"\bBank of\s+$")
#: Capital cities that are also ordinary English words; with a lowercase word after them they are
#: the word ("Male unemployment").
_WORD_LIKE_CITIES = frozenset({"Male", "Split", "Nice", "Mobile"})


@dataclass(frozen=True)
class Segment:
    """A piece of the article scanned for places, with its weight; ``offset`` is within the body."""

    text: str
    weight: float
    offset: int | None = None


@dataclass(frozen=True)
class Mention:
    key: str
    start: int
    end: int
    candidates: tuple[PlaceEntry, ...]
    weight: float
    #: Found only because the entities enricher called the name a location.
    vouched: bool = False
    #: The dateline's city.
    dateline: bool = False


def place_mentions(segments: Sequence[Segment], entities: Sequence[Entity], gaz: Gazetteer) -> list[Mention]:
    """Place mentions in the segments, without those inside a person's or an organisation's name.

    ``entities`` (the entities enricher's output) vouch for towns the gazetteer scan leaves out and
    mark the names a place word is only part of ("Jordan" in "Michael Jordan").
    """
    extra = _entity_place_names(entities, gaz)
    person_forms = _FormFinder(_forms(entities, EntityType.PERSON))
    org_forms = _FormFinder(_forms(entities, EntityType.ORGANIZATION))
    mentions: list[Mention] = []
    first_in_company: dict[str, bool] = {}
    for segment in segments:
        person_spans = _Spans(person_forms.spans(segment.text))
        org_spans = _Spans(org_forms.spans(segment.text))
        for mention in scan(segment.text, gaz, extra, segment.weight):
            inside_person = person_spans.encloses(mention) and mention.key not in extra
            inside_org = org_spans.encloses(mention) and mention.candidates[0].kind == "city"
            in_company = _in_company_name(segment.text, mention)
            first_in_company.setdefault(mention.key, in_company)
            if not (inside_person or inside_org or in_company or _is_plain_word(segment.text, mention)):
                mentions.append(mention)
    # A town first named as part of a company's name is, named alone later, that company's short name.
    return [mention for mention in mentions if not first_in_company.get(mention.key, False)]


def _in_company_name(text: str, mention: Mention) -> bool:
    """A town's or region's name inside a company's name; a country's name in one still counts."""
    if mention.candidates[0].kind == "country":
        return False
    return bool(_COMPANY_AFTER.match(text, mention.end) or _COMPANY_BEFORE.search(text, 0, mention.start))


def _is_plain_word(text: str, mention: Mention) -> bool:
    """The word in "Male unemployment": a capital that is also a word, used as the word."""
    return mention.key in _WORD_LIKE_CITIES and re.match(r"\s+[a-z]", text[mention.end :]) is not None


def scan(
    text: str, gaz: Gazetteer, extra: Mapping[str, tuple[PlaceEntry, ...]] | None = None, weight: float = 1.0
) -> Iterator[Mention]:
    """Place mentions in ``text``, longest name first at each position; NOT_PLACES phrases are skipped."""
    extra = extra or {}
    tokens = [(match.group(), match.start(), match.end()) for match in TOKEN.finditer(text)]
    index = 0
    while index < len(tokens):
        found = _longest_name(text, tokens, index, gaz, extra)
        if found is None:
            index += 1
            continue
        size, key, candidates = found
        start, end = tokens[index][1], tokens[index + size - 1][2]
        if candidates[0] is not NOWHERE and not _is_something_else(
            text, tokens, index, size, key, candidates, extra
        ):
            vouched = key in extra and key not in gaz.scanned
            yield Mention(key, start, end, candidates, weight, vouched)
        index += size


def _longest_name(
    text: str,
    tokens: list[tuple[str, int, int]],
    index: int,
    gaz: Gazetteer,
    extra: Mapping[str, tuple[PlaceEntry, ...]],
) -> tuple[int, str, tuple[PlaceEntry, ...]] | None:
    if not tokens[index][0][0].isupper():
        return None
    words = [tokens[index][0]]
    for following in range(index + 1, min(index + MAX_NAME_TOKENS, len(tokens))):
        gap = text[tokens[following - 1][2] : tokens[following][1]]
        if gap not in (" ", "-") and not (gap in (".", ". ") and words[-1] in ("St", "Mt", "Ft")):
            break
        words.append(tokens[following][0])
    for size in range(len(words), 0, -1):
        key = " ".join(words[:size])
        candidates = extra.get(key) or gaz.scanned.get(key)
        if candidates:
            return size, key, candidates
    return None


def _is_something_else(
    text: str,
    tokens: list[tuple[str, int, int]],
    index: int,
    size: int,
    key: str,
    candidates: tuple[PlaceEntry, ...],
    extra: Mapping[str, tuple[PlaceEntry, ...]],
) -> bool:
    """A place name used as part of a person's or an organisation's name."""
    end = tokens[index + size - 1][2]
    if key in extra:
        # Only the entities enricher vouches for this one; "Man-of-the-match" is still no town.
        return key not in gazetteer().scanned and re.match(r"-[a-z]", text[end : end + 2]) is not None
    before = tokens[index - 1] if index > 0 else None
    after = tokens[index + size] if index + size < len(tokens) else None
    joined_before = before is not None and text[before[2] : tokens[index][1]] == " "
    joined_after = after is not None and text[end : after[1]] == " "
    if joined_before and before is not None and before[0] in HONORIFICS:
        return True
    is_city = candidates[0].kind == "city"
    if not (is_city or key in PERSON_LIKE_NAMES):
        return False
    if _SPEECH_AFTER.match(text[end:]):
        return True
    named_after = after is not None and (after[0] in NAMED_AFTER_CITY_HEADS or not _is_place_word(after[0]))
    if (
        joined_after
        and after is not None
        and after[0][0].isupper()
        and after[0] not in _ROLE_WORDS
        and named_after
    ):
        return True
    return (
        joined_before
        and before is not None
        and before[0][0].isupper()
        and before[0] not in _FUNCTION_WORDS
        and not _is_place_word(before[0])
    )


def _is_place_word(word: str) -> bool:
    return word in gazetteer().scanned


def _entity_place_names(entities: Sequence[Entity], gaz: Gazetteer) -> dict[str, tuple[PlaceEntry, ...]]:
    """Name keys of LOC entities (and their aliases) that the gazetteer can place."""
    names: dict[str, tuple[PlaceEntry, ...]] = {}
    for entity in entities:
        if entity.type is not EntityType.LOCATION:
            continue
        candidates = gaz.lookup(entity.name)
        if not candidates or (candidates[0].kind == "city" and not _plausible_town(entity.name, gaz)):
            continue
        for form in (entity.name, *entity.aliases):
            key = name_key(re.sub(r"^(?:the|The)\s+", "", form))
            if key and (gaz.lookup(form) or form == entity.name or key not in gaz.everything):
                names[key] = gaz.lookup(form) or candidates
    return names


def _plausible_town(name: str, gaz: Gazetteer) -> bool:
    """A town only a LOC entity vouches for must not also be a given name ("David")."""
    if name_key(name) in gaz.scanned:
        return True
    return len(name) >= MIN_ENTITY_PLACE_CHARS and name not in given_names()


def _forms(entities: Sequence[Entity], kind: EntityType) -> list[str]:
    return sorted(
        {
            form
            for entity in entities
            if entity.type is kind
            for form in (entity.name, *entity.aliases)
            if form
        },
        key=len,
        reverse=True,
    )


_END = ""


class _FormFinder:
    """Where any of many names occurs as a whole word run, in one pass over the text.

    A character trie of the forms, walked from every position that can start one: the cost grows
    with the text, not with text times forms (a long article names hundreds of people).
    """

    def __init__(self, forms: Iterable[str]) -> None:
        self._trie: dict[str, Any] = {}
        for form in forms:
            node = self._trie
            for char in form:
                node = node.setdefault(char, {})
            node[_END] = True

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the longest form at each start that no word character touches, in order."""
        found: list[tuple[int, int]] = []
        if not self._trie:
            return found
        size = len(text)
        for start in range(size):
            node = self._trie.get(text[start])
            if node is None or (start > 0 and _is_word_char(text[start - 1])):
                continue
            end = None
            position = start + 1
            while node is not None:
                if _END in node and (position == size or not _is_word_char(text[position])):
                    end = position
                if position == size:
                    break
                node = node.get(text[position])
                position += 1
            if end is not None:
                found.append((start, end))
        return found


def _is_word_char(char: str) -> bool:
    """What ``\\w`` matches."""
    return char.isalnum() or char == "_"


class _Spans:
    """Name spans of one text, sorted by start, asked whether one of them encloses a mention."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self._starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]
        self._furthest: list[int] = []  # the furthest end among the spans up to each index
        for end in self._ends:
            self._furthest.append(max(end, self._furthest[-1]) if self._furthest else end)

    def encloses(self, mention: Mention) -> bool:
        """A span around the mention that is longer than it ("Paris" in "Paris Hilton")."""
        before = bisect_left(self._starts, mention.start)  # spans starting before the mention
        if before and self._furthest[before - 1] >= mention.end:
            return True
        return (
            before < len(self._starts)
            and self._starts[before] == mention.start
            and self._ends[before] > mention.end
        )
