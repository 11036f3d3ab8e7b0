"""The people and organisations of one article, for turning a mention into a canonical speaker name."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from schemas.articles import Entity, EntityType
from services.enrich.lexicon.names import FEMALE_HONORIFICS, HONORIFICS, TITLE_WORDS, given_names
from services.enrich.lexicon.organisations import ORG_NAME_WORDS
from services.enrich.lexicon.place_tables import DEMONYMS
from services.enrich.lexicon.places import gazetteer, name_key
from services.enrich.lexicon.words import CLAUSE_OPENERS

_NAME_TOKEN = r"[A-Z][\w'’&-]*"
_CONNECTOR = r"(?:de|da|dal|del|der|den|van|von|bin|ibn|al|el|la|le|di|du|dos|&)"
NAME_RUN = re.compile(rf"{_NAME_TOKEN}(?: +(?:{_CONNECTOR} +)?{_NAME_TOKEN})*")
POSSESSIVE = re.compile(r"['’]s$")

_LEADING_WORDS = TITLE_WORDS | CLAUSE_OPENERS


@dataclass(frozen=True)
class Speaker:
    name: str
    type: EntityType | None
    female: bool | None = None


@dataclass(frozen=True)
class _FullName:
    name: str
    female: bool | None
    #: A given name we know, an honorific before the surname somewhere, or a PER entity: surely a person.
    confident: bool


class NameBook:
    """The people and organisations of one article, for turning a mention into a canonical name."""

    def __init__(self, text: str, entities: Sequence[Entity]) -> None:
        self.entities = [entity for entity in entities if entity.type is not EntityType.LOCATION]
        self.places = {entity.name for entity in entities if entity.type is EntityType.LOCATION}
        self.acronyms = {
            match.group("acronym"): match.group("full")
            for match in re.finditer(
                r"(?P<full>(?:[A-Z][\w&'’-]*\s+){1,6}?[A-Z][\w&'’-]*)\s+\((?P<acronym>[A-Z]{2,6})\)", text
            )
        }
        honoured = {
            match.group(2)
            for match in re.finditer(r"\b(Mr|Mrs|Ms|Miss|Dr|Sir|Lady|Lord|Dame)\.? ([A-Z][\w'’-]+)", text)
        }
        person_entities = {entity.name for entity in self.entities if entity.type is EntityType.PERSON}
        stands_alone = _StandAlone(text)
        self.full_names: list[_FullName] = []
        seen: set[str] = set()
        for match in NAME_RUN.finditer(text):
            tokens = strip_titles(POSSESSIVE.sub("", match.group()).split())
            if (
                2 <= len(tokens) <= 4
                and not self._is_place_or_org(tokens)
                and not CLAUSE_OPENERS & set(tokens)
                and all(any(char.islower() for char in token) for token in tokens)
            ):
                name = " ".join(tokens)
                if name not in seen:
                    seen.add(name)
                    confident = (
                        tokens[0] in given_names()
                        or tokens[-1] in honoured
                        or name in person_entities
                        or stands_alone(tokens)
                    )
                    self.full_names.append(_FullName(name, _female(match.group().split()), confident))
        self._index_names()
        self._resolved: dict[tuple[str, bool | None, bool], Speaker | None] = {}
        self._role_titles: dict[str, _RoleTitles] = {}

    def _index_names(self) -> None:
        """Lookup tables, so that resolving a mention does not walk every name and entity of the text."""
        self._confident_names = {full.name for full in self.full_names if full.confident}
        #: Full names by their (first, last) token and by either of those alone, in text order.
        self._full_by_ends: dict[tuple[str, str], list[int]] = {}
        self._full_by_token: dict[str, list[int]] = {}
        for index, full in enumerate(self.full_names):
            parts = full.name.split()
            self._full_by_ends.setdefault((parts[0], parts[-1]), []).append(index)
            for token in {parts[0], parts[-1]}:
                self._full_by_token.setdefault(token, []).append(index)
        #: Entities by casefolded form (3), by form without titles (2), a person's lone first or
        #: last name (1); each entity's core token count and the country words of person aliases.
        self._entity_forms: dict[str, list[int]] = {}
        self._entity_cores: dict[str, list[int]] = {}
        self._entity_tokens: dict[str, list[int]] = {}
        self._entity_core_length: list[int] = []
        self._person_aliases: list[tuple[Entity, list[tuple[set[str], set[str]]]]] = []
        for index, entity in enumerate(self.entities):
            forms = (entity.name, *entity.aliases)
            core = strip_titles(entity.name.split())
            self._entity_core_length.append(len(core))
            for form in {form.casefold() for form in forms}:
                self._entity_forms.setdefault(form, []).append(index)
            for form in {" ".join(strip_titles(form.split())).casefold() for form in forms}:
                self._entity_cores.setdefault(form, []).append(index)
            if entity.type is EntityType.PERSON and core:
                for token in {core[0], core[-1]}:
                    self._entity_tokens.setdefault(token, []).append(index)
                self._person_aliases.append(
                    (
                        entity,
                        [
                            (
                                {word.casefold() for word in alias.split()},
                                {code for code in map(country_of, alias.split()) if code is not None},
                            )
                            for alias in entity.aliases
                        ],
                    )
                )

    def _is_place_or_org(self, tokens: Sequence[str]) -> bool:
        if any(token in ORG_NAME_WORDS for token in tokens) or " ".join(tokens) in self.places:
            return True
        return bool(gazetteer().scanned.get(name_key(" ".join(tokens))))

    def resolve(self, mention: str, female: bool | None = None, strict: bool = False) -> Speaker | None:
        """Canonical speaker for a name as written ("Mr Brown", "Xi", "LSE", "Q Magazine").

        ``strict`` is for names seen anywhere in a sentence rather than next to a speech verb:
        then an unknown capitalised phrase ("Consumer Electronics Show") is no one.
        """
        # The same few names come up again and again in one article: resolve each once.
        key = (mention, female, strict)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(mention, female, strict)
        return self._resolved[key]

    def _resolve(self, mention: str, female: bool | None, strict: bool) -> Speaker | None:
        raw = mention.split()
        female = female if female is not None else _female(raw)
        tokens = strip_titles([POSSESSIVE.sub("", token) for token in raw])
        if not tokens:
            return None
        name = " ".join(tokens)
        name = self.acronyms.get(name, name)
        entity = self._entity(name)
        if entity is not None:
            if len(strip_titles(entity.name.split())) == 1 and not entity.name.isupper():
                fuller = self._full_name(entity.name.split()[-1:], strict)
                if fuller is not None:
                    return Speaker(
                        fuller.name, EntityType.PERSON, female if female is not None else fuller.female
                    )
            canonical = (
                " ".join(strip_titles(entity.name.split()))
                if entity.type is EntityType.PERSON
                else entity.name
            )
            if entity.type is not EntityType.PERSON:
                core = " ".join(strip_titles(entity.name.split()))
                if core in self._confident_names:
                    return Speaker(
                        core, EntityType.PERSON, female
                    )  # "US Attorney Roslynn Mauskopf" typed ORG
            return Speaker(canonical or entity.name, entity.type, female)
        if any(token in ORG_NAME_WORDS for token in tokens) or (len(tokens) == 1 and tokens[0].isupper()):
            return None if strict else Speaker(name, EntityType.ORGANIZATION)
        full = self._full_name(tokens, strict)
        if full is not None:
            return Speaker(full.name, EntityType.PERSON, female if female is not None else full.female)
        if raw[0] in HONORIFICS:
            return Speaker(name, EntityType.PERSON, female)
        if gazetteer().scanned.get(name_key(name)) or CLAUSE_OPENERS & set(tokens):
            return None  # "Russia said" is a government speaking, not a person: left unresolved
        if strict and tokens[0] not in given_names():
            return None
        return Speaker(name, EntityType.PERSON, female) if 2 <= len(tokens) <= 4 else None

    def organisation(self, mention: str) -> Speaker:
        """An organisation as written, expanded from its acronym or matched to an entity when known."""
        name = " ".join(token for token in mention.split() if token.casefold() != "the")
        name = self.acronyms.get(name, name)
        entity = self._entity(name)
        return Speaker(entity.name if entity is not None else name, EntityType.ORGANIZATION)

    def is_person(self, speaker: Speaker) -> bool:
        """A person, even when the entities enricher typed the name ORG ("Cat Deeley")."""
        if speaker.type is EntityType.PERSON or looks_like_person(speaker.name):
            return True
        return speaker.name in self._confident_names

    def _full_name(self, tokens: Sequence[str], strict: bool) -> _FullName | None:
        """The first full name in the text that ``tokens`` name: the same first and last token, or
        one of those alone."""
        if not tokens:
            return None
        if len(tokens) == 1:
            candidates = self._full_by_token.get(tokens[0], [])
        else:
            candidates = self._full_by_ends.get((tokens[0], tokens[-1]), [])
        for index in candidates:
            full = self.full_names[index]
            if not strict or full.confident:
                return full
        return None

    def _entity(self, name: str) -> Entity | None:
        """The entity a name stands for: exact name or alias first, then a lone first or last name.

        Among several, the one with the fullest name wins ("Keane" -> "Robbie Keane", not a
        "Matchwinner Keane" that a rule backend took for a name).
        """
        folded = name.casefold()
        tokens = name.split()
        strengths: dict[int, int] = {}
        if len(tokens) == 1:
            for index in self._entity_tokens.get(tokens[0], []):
                strengths[index] = 1
        for index in self._entity_cores.get(folded, []):
            strengths[index] = 2
        for index in self._entity_forms.get(folded, []):
            strengths[index] = 3
        ranked: list[tuple[int, int, int, Entity]] = []
        for index in sorted(strengths):  # entity order, so that ties rank as they always did
            entity = self.entities[index]
            core_length = min(self._entity_core_length[index], 3)
            ranked.append((core_length, strengths[index], entity.mentions, entity))
        if not ranked:
            return None
        ranked.sort(key=lambda item: item[:3], reverse=True)
        if len(ranked) > 1 and ranked[0][:2] == ranked[1][:2] and ranked[0][1] == 1:
            return None  # two people share that surname
        return ranked[0][3]

    def role_holder(self, phrase: str, before: int, text: str) -> Speaker | None:
        """The person a role phrase refers to ("the Russian president" -> Vladimir Putin).

        Looks for the role's head noun written as a title before a name ("Russian President
        Vladimir Putin") or in an alias of a person entity; a country or demonym in the phrase must
        match the one next to the title.
        """
        words = re.findall(r"[\w'’-]+", phrase)
        if len(words) < 2:
            return None
        head = words[-1].casefold()
        modifiers = {country_of(word) for word in words[1:-1]} - {None}
        for entity, aliases in self._person_aliases:
            for alias_words, alias_countries in aliases:
                if head in alias_words and (not modifiers or modifiers & alias_countries):
                    return Speaker(entity.name, EntityType.PERSON)
        if text not in self._role_titles:  # one scan of the text for all role heads
            self._role_titles[text] = _RoleTitles(text, self.resolve)
        titles = self._role_titles[text].of(head)
        # The last one before ``before`` whose country fits: titles are in text order.
        for _end, context, candidate in reversed(titles[: bisect_left(titles, before + 1, key=_first)]):
            if not modifiers or modifiers & context:
                return candidate
        return None


def looks_like_person(name: str) -> bool:
    """A known given name and one to three more capitalised words: a person even if typed ORG."""
    tokens = name.split()
    return (
        2 <= len(tokens) <= 4
        and tokens[0] in given_names()
        and all(
            token[:1].isupper() and token not in ORG_NAME_WORDS and token not in CLAUSE_OPENERS
            for token in tokens
        )
    )


class _RoleTitles:
    """Every "<role head> <Name>" of a text ("Russian President Vladimir Putin") that names someone.

    One scan of the text finds each word (and each part of a hyphenated word: "vice-president")
    followed by a name; the titles of one head are then read off that index, in text order.
    """

    _TITLED = re.compile(rf"(?<![\w'’-])(?P<word>[\w'’-]+)(?=\s+(?P<name>{NAME_RUN.pattern}))")
    _PART_START = re.compile(r"(?<=[-'’])(?=[\w'’-])")
    _BEFORE = re.compile(r"(?:\S+\s+){0,2}$")
    #: How far back the two words before a title are looked for.
    _BEFORE_CHARS = 200

    def __init__(self, text: str, resolve: Callable[[str], Speaker | None]) -> None:
        self._text = text
        self._resolve = resolve
        #: Casefolded head -> (head start, word start, name end, name), in text order.
        self._index: dict[str, list[tuple[int, int, int, str]]] = {}
        self._titles: dict[str, list[tuple[int, frozenset[str], Speaker]]] = {}
        for match in self._TITLED.finditer(text):
            word, start = match.group("word"), match.start()
            for offset in [0, *(part.start() for part in self._PART_START.finditer(word))]:
                self._index.setdefault(word[offset:].casefold(), []).append(
                    (start + offset, start, match.end("name"), match.group("name"))
                )

    def of(self, head: str) -> list[tuple[int, frozenset[str], Speaker]]:
        """(end offset, the countries of the two words before the head, the person), in text order."""
        if head not in self._titles:
            self._titles[head] = self._find(head)
        return self._titles[head]

    def _find(self, head: str) -> list[tuple[int, frozenset[str], Speaker]]:
        titles: list[tuple[int, frozenset[str], Speaker]] = []
        taken = 0  # one title does not start inside the one before
        for head_start, word_start, end, name in self._index.get(head, []):
            if head_start < taken:
                continue
            before = ""
            if head_start == word_start:
                window = self._text[max(taken, word_start - self._BEFORE_CHARS) : word_start]
                before = self._BEFORE.search(window).group()  # type: ignore[union-attr]
            taken = end
            name_tokens = strip_titles(name.split())
            if not name_tokens or not name_tokens[0][0].isupper():
                continue
            candidate = self._resolve(" ".join(name_tokens))
            if candidate is not None:
                countries = {country_of(word) for word in re.findall(r"[\w'’-]+", before)}
                titles.append((end, frozenset(code for code in countries if code is not None), candidate))
        return titles


def _first(item: tuple[int, Any, Any]) -> int:
    return item[0]


class _StandAlone:
    """Whether a surname also names its bearer on its own, as a sentence's subject ("Deeley will
    host"), and not right after the given name: one scan of the text for all names."""

    _SUBJECT = re.compile(r"[\w'’&-]+(?= (?:[a-z]+ed|will|has|had|is|was|said|says)\b)")

    def __init__(self, text: str) -> None:
        self._text = text
        #: Every capitalised tail of a word that stands before such a verb -> where that tail starts.
        self._starts: dict[str, list[int]] = {}
        for match in self._SUBJECT.finditer(text):
            word = match.group()
            for index, char in enumerate(word):
                if char.isupper():
                    self._starts.setdefault(word[index:], []).append(match.start() + index)

    def __call__(self, tokens: Sequence[str]) -> bool:
        before = tokens[-2] + " "
        return any(not self._text.endswith(before, 0, start) for start in self._starts.get(tokens[-1], []))


def strip_titles(tokens: Sequence[str]) -> list[str]:
    return list(_stripped(tuple(tokens)))


@lru_cache(maxsize=65_536)
def _stripped(name: tuple[str, ...]) -> tuple[str, ...]:
    """Name tokens without leading titles, function words and places ("Hong Kong Elena Dementieva").

    An owner before a possessive goes too ("Fabian Society's Sundar Katwala"), and so does whatever
    stands before a known given name in a long run ("New Yorker Dick Morris").
    """
    tokens = list(name)
    owners = [index for index, token in enumerate(tokens[:-1]) if re.search(r"['’]s?$", token)]
    if owners:
        tokens = tokens[owners[-1] + 1 :]
    if len(tokens) >= 3 and tokens[0] not in given_names():
        for index in range(1, len(tokens) - 1):
            if tokens[index] in given_names() and tokens[index - 1] not in given_names():
                tokens = tokens[index:]
                break
    while len(tokens) > 1 and (tokens[0].rstrip(".") in _LEADING_WORDS or country_of(tokens[0]) is not None):
        tokens.pop(0)
    if tokens and (tokens[0].rstrip(".") in _LEADING_WORDS and len(tokens) == 1):
        return ()
    for size in (3, 2, 1):
        if len(tokens) >= size + 2 and gazetteer().scanned.get(name_key(" ".join(tokens[:size]))):
            return tuple(tokens[size:])
    return tuple(tokens)


def _female(tokens: Sequence[str]) -> bool | None:
    if tokens and tokens[0] in HONORIFICS:
        return tokens[0] in FEMALE_HONORIFICS
    return None


@lru_cache(maxsize=65_536)
def country_of(word: str) -> str | None:
    word = POSSESSIVE.sub("", word)
    if word in DEMONYMS:
        return DEMONYMS[word][0]
    entries = gazetteer().scanned.get(name_key(word)) if word[:1].isupper() else None
    if entries and entries[0].kind == "country":
        return entries[0].country_codes[0]
    return None
