"""From the mentions a backend found to the article's entities: one canonical name per entity.

Within one article:

* forms are cleaned: possessives ("China's" -> "China"), a leading "the", person titles
  ("President Putin" -> "Putin") and nationality words are stripped; demonyms alone are dropped;
* the longest form of a person is canonical, and a surname or given name alone, or with initials
  ("Putin", "Ms Hewitt", "P. Simmons"), joins the person whose name it ends (or for two-word names
  like "Xi Jinping", starts) - the nearest such person mentioned before it when several fit;
* "Long Name (ACR)" makes the acronym an alias of the long name, and bare "ACR" counts for it;
* a form in capitals ("LONDON") joins the entity written in mixed case elsewhere.

Mentions are then counted by scanning title, caption and body for every form of every entity
(longest first, whole words, case-sensitive), so a form the backend missed somewhere still counts.
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from schemas.articles import Entity, EntityType
from services.enrich.lexicon.entity_lists import gazetteers
from services.enrich.lexicon.names import PERSON_TITLES, given_names
from services.enrich.lexicon.place_names import US_STATE_ABBREVIATIONS
from services.enrich.lexicon.words import FUNCTION_WORDS
from services.enrich.nlp.mentions import Mention

PER = EntityType.PERSON

#: Tells whether one word is a nationality or group adjective ("Russian", "Pakistanis").
DemonymTest = Callable[[str], bool]

_ACRONYM_AFTER = re.compile(r"\s*\(\s*((?:[A-Z][A-Za-z&]*\.?){1,8})\s*\)")
_ENDS_WITH_INITIAL = re.compile(r"(?:^|[\s.])[A-Z]\.$")
_STATES = sorted(state.rstrip(".") for state in US_STATE_ABBREVIATIONS if "." not in state[:-1])
_ENDS_WITH_ABBREVIATION = re.compile(
    r"\b(?:Inc|Corp|Co|Ltd|Bros|Jr|Sr|St|" + "|".join(_STATES) + r")\.$"
)  # "Calif." keeps its full stop
_INITIALS = re.compile(r"^((?:[A-Z]\.\s?)+)\s*([A-Z][\w'’-]+)$")
_ACRONYM_SKIPPED_WORDS = frozenset({"of", "and", "the", "for", "in", "on", "at", "&", "de", "la"})
_MAX_NAME_CHARS = 300
_CORPORATE_SUFFIX = re.compile(
    r"(?:,?\s+(?:&\s+Co\.?|Inc\.?|Corp\.?|Co\.?|Ltd\.?|Plc|PLC|LLC|AG|SA|NV|Holdings|Group))+$"
)


@dataclass(frozen=True)
class Section:
    """One part of the article (title, caption or body) with the backend's mentions in it."""

    text: str
    mentions: Sequence[Mention]
    is_body: bool = False


@dataclass
class _Candidate:
    form: str
    type: EntityType
    section: int
    start: int

    @property
    def words(self) -> list[str]:
        return self.form.split()


@dataclass
class _Entity:
    name: str
    order: tuple[int, int]
    forms: dict[str, None] = field(default_factory=dict)
    votes: Counter[EntityType] = field(default_factory=Counter)
    #: (section, start) of every mention, sorted: the nearest earlier one is a bisection away.
    positions: list[tuple[int, int]] = field(default_factory=list)

    @property
    def type(self) -> EntityType:
        """The type most mentions of the canonical form had; on a tie, the first one seen."""
        return max(self.votes, key=self.votes.__getitem__)


def resolve(sections: Sequence[Section], is_demonym: DemonymTest | None = None) -> list[Entity]:
    """The entities of an article, most mentioned first (then in order of appearance)."""
    demonym = is_demonym or gazetteers().is_demonym
    candidates: list[_Candidate] = []
    acronyms: dict[str, str] = {}
    for index, section in enumerate(sections):
        for mention in section.mentions:
            cleaned = clean_form(mention, section.text, demonym)
            if cleaned is None:
                continue
            form, start = cleaned
            candidates.append(_Candidate(form, mention.type, index, start))
            acronym = _acronym_after(section.text, start + len(form), form)
            if acronym:
                acronyms.setdefault(acronym, form)
    entities = _group(candidates, acronyms)
    return _counted(entities, sections)


def clean_form(mention: Mention, text: str, is_demonym: DemonymTest | None = None) -> tuple[str, int] | None:
    """The name without possessive, lower-case 'the', titles or a trailing '(ACR'; None if nothing is left."""
    demonym = is_demonym or gazetteers().is_demonym
    raw = mention.text
    start = mention.start
    if "\n" in raw.strip():
        return None
    cut = raw.find(" (")
    if cut > 0:
        raw = raw[:cut]
    stripped = raw.lstrip(" \"'“‘([")
    start += len(raw) - len(stripped)
    raw = stripped.rstrip(" \"'”’),;:-")
    if raw.endswith(".") and not _ENDS_WITH_INITIAL.search(raw) and not _ENDS_WITH_ABBREVIATION.search(raw):
        raw = raw.rstrip(".")
    for suffix in ("'s", "’s", "'", "’"):
        if raw.endswith(suffix) and len(raw) > len(suffix) + 1:
            raw = raw[: -len(suffix)]
            break
    words = raw.split()
    # A capitalised "The" inside a sentence belongs to the name ("The Hague", "The Oval").
    if len(words) > 1 and words[0] == "the":
        start += raw.index(words[1])
        words = words[1:]
    if mention.type is PER:
        while len(words) > 1 and (
            words[0].lower().rstrip(".") in PERSON_TITLES
            or (demonym(words[0]) and not (len(words) == 2 and words[0] in given_names()))
        ):  # "Russian Putin" -> "Putin"; "Christian Cevaer", "Francis Moreau": a given name
            start = text.find(words[1], start + len(words[0]))
            words = words[1:]
    form = " ".join(words)
    if (
        len(form) < 2
        or len(form) > _MAX_NAME_CHARS
        or not any(char.isupper() for char in form)
        or (len(words) == 1 and (demonym(form) or form.lower() in FUNCTION_WORDS))
    ):
        return None
    return form, max(start, 0)


def _acronym_after(text: str, end: int, form: str) -> str | None:
    """'Shanghai Cooperation Organization (SCO)' -> 'SCO' when the letters fit the name's initials."""
    match = _ACRONYM_AFTER.match(text, end)
    if not match:
        return None
    acronym = match.group(1)
    letters = [char for char in acronym if char.isupper()]
    if len(letters) < 2 or len(form.split()) < 2:
        return None
    initials = [
        word[0].upper()
        for word in re.split(r"[\s-]+", form)
        if word and word.lower() not in _ACRONYM_SKIPPED_WORDS
    ]
    every_initial = [word[0].upper() for word in re.split(r"[\s-]+", form) if word]
    if letters[0] != initials[0] or not (
        _subsequence(letters, initials) or _subsequence(letters, every_initial)
    ):
        return None
    return acronym


def _subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(any(char == other for other in remaining) for char in needle)


def _group(candidates: list[_Candidate], acronyms: dict[str, str]) -> list[_Entity]:
    ordered = sorted(candidates, key=lambda item: (-len(item.words), item.section, item.start))
    entities: list[_Entity] = []
    by_form: dict[str, _Entity] = {}
    by_folded: dict[str, _Entity] = {}
    by_name_part: dict[str, list[_Entity]] = {}  # last word, and first word of two-word names
    by_company_base: dict[str, _Entity] = {}  # company names without "Inc", "Corp", "& Co"
    for candidate in ordered:
        form = candidate.form
        target = by_form.get(form)
        if target is None and len(form) > 3:
            target = _same_but_for_case(form, by_folded.get(form.casefold()))
        if target is None and form in acronyms:
            target = by_form.get(acronyms[form])
        if target is None:
            target = _person_with_part(candidate, by_name_part)
        if target is None:
            target = by_company_base.get(form)
        if target is None:
            target = _Entity(name=form, order=(candidate.section, candidate.start))
            entities.append(target)
            by_folded.setdefault(form.casefold(), target)
            base = _CORPORATE_SUFFIX.sub("", form)
            if base != form and candidate.type is EntityType.ORGANIZATION and " " in base:
                by_company_base.setdefault(base, target)  # "Merrill Lynch" for "Merrill Lynch & Co"
            words = form.split()
            if len(words) > 1:
                by_name_part.setdefault(words[-1], []).append(target)
                if len(words) == 2:
                    by_name_part.setdefault(words[0], []).append(target)
        if form == target.name:
            target.votes[candidate.type] += 1
        target.forms.setdefault(form, None)
        insort(target.positions, (candidate.section, candidate.start))
        by_form.setdefault(form, target)
    return entities


def _person_with_part(candidate: _Candidate, by_name_part: dict[str, list[_Entity]]) -> _Entity | None:
    """The person a surname, given name or 'Initial. Surname' refers to; the nearest earlier one wins."""
    form = candidate.form
    initials = ""
    initial_match = _INITIALS.match(form)
    if initial_match:
        initials = initial_match.group(1).replace(".", "").replace(" ", "")
        form = initial_match.group(2)
    elif " " in form:
        return None
    fitting: list[_Entity] = []
    for entity in by_name_part.get(form, ()):
        if entity.type is not PER:
            continue
        words = entity.name.split()
        ends_with = words[-1] == form and (not initials or words[0][0] == initials[0])
        if ends_with or (len(words) == 2 and words[0] == form and not initials):
            fitting.append(entity)
    if not fitting:
        return None
    here = (candidate.section, candidate.start)
    earlier = [
        (entity.positions[bisect_right(entity.positions, here) - 1], entity)
        for entity in fitting
        if entity.positions[0] <= here
    ]
    if earlier:
        return max(earlier, key=lambda pair: pair[0])[1]
    return fitting[0]


def _same_but_for_case(form: str, entity: _Entity | None) -> _Entity | None:
    """'LONDON' joins 'London' and vice versa; the mixed-case form becomes the name."""
    if entity is None or not (form.isupper() or entity.name.isupper()):
        return None
    if entity.name.isupper() and not form.isupper():
        entity.name = form
    return entity


def _usable_surname(word: str) -> bool:
    """Long enough and not an ordinary word ('Such', 'Woods'), so a bare occurrence means the person."""
    return (
        len(word) > 2 and word[0].isupper() and not word.isupper() and not gazetteers().is_common_word(word)
    )


def _counted(entities: list[_Entity], sections: Sequence[Section]) -> list[Entity]:
    if not entities:
        return []
    owner: dict[str, _Entity] = {}
    for entity in entities:
        for form in entity.forms:
            owner.setdefault(form, entity)
            upper = form.upper()
            if len(form) > 3 and upper != form:
                owner.setdefault(upper, entity)
    surnames: dict[str, list[_Entity]] = {}
    for entity in entities:
        words = entity.name.split()
        if entity.type is PER and len(words) > 1 and _usable_surname(words[-1]):
            surnames.setdefault(words[-1], []).append(entity)
    for surname, people in surnames.items():
        if len(people) == 1:  # "Putin" alone, even where the backend missed it; never an ambiguous one
            owner.setdefault(surname, people[0])
    scanner = _FormScanner(owner)
    counts: Counter[int] = Counter()
    first_offsets: dict[int, int] = {}
    seen_forms: dict[int, dict[str, None]] = {id(entity): dict(entity.forms) for entity in entities}
    mention_starts = {
        (index, mention.start) for index, section in enumerate(sections) for mention in section.mentions
    }
    for index, section in enumerate(sections):
        for start, form in scanner.find(section.text):
            entity = owner[form]
            if form.lower() in FUNCTION_WORDS and (index, start) not in mention_starts:
                continue  # "Such" opening a sentence is not Peter Such
            counts[id(entity)] += 1
            seen_forms[id(entity)].setdefault(form, None)
            if section.is_body:
                first_offsets.setdefault(id(entity), start)
    result: list[tuple[tuple[int, int, int], Entity]] = []
    for entity in entities:
        key = id(entity)
        aliases = [form for form in seen_forms[key] if form != entity.name]
        mentions = max(counts[key], 1)
        first = first_offsets.get(key, 0)
        sort_key = (-mentions, 0 if key in first_offsets else 1, first)
        result.append(
            (
                sort_key,
                Entity(
                    name=entity.name, type=entity.type, mentions=mentions, first_offset=first, aliases=aliases
                ),
            )
        )
    result.sort(key=lambda item: item[0])
    return [entity for _, entity in result]


class _FormScanner:
    """Finds whole-word occurrences of many forms, longest first, without one huge regex alternation."""

    _WORD = re.compile(r"[^\W_]+")

    def __init__(self, forms: Iterable[str]) -> None:
        self._by_first_word: dict[str, list[str]] = {}
        for form in forms:
            first = self._WORD.match(form)
            if first:
                self._by_first_word.setdefault(first.group(), []).append(form)
        for candidates in self._by_first_word.values():
            candidates.sort(key=len, reverse=True)

    def find(self, text: str) -> Iterator[tuple[int, str]]:
        resume = 0
        for word in self._WORD.finditer(text):
            start = word.start()
            if start < resume or (start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._")):
                continue
            for form in self._by_first_word.get(word.group(), ()):
                end = start + len(form)
                if text.startswith(form, start) and (end == len(text) or not _is_word_char(text[end])):
                    yield start, form
                    resume = end
                    break


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"
