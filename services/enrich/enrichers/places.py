"""Places named in the article, resolved to countries (ISO 3166-1 alpha-2) and city coordinates.

Names come from a gazetteer scan of the title, caption and body (countries, demonyms such as
"Russian", regions such as "Central Asia", capitals and big cities) and from the LOC entities of
the entities enricher when it ran before, which also lets small or ambiguous towns in ("Reading").
Its PER and ORG entities keep "Jordan" in "Michael Jordan" and "Shanghai" in "Shanghai Cooperation
Organization" from counting as places.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.articles import Article, Dateline, Entity, EntityType, GeoPoint, Place
from services.enrich.enrichers import enricher
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
from services.enrich.nlp.datelines import Dateline as FoundDateline
from services.enrich.nlp.datelines import find_dateline
from services.enrich.nlp.datelines import warm_up as datelines_warm_up

#: How much one mention counts towards a country, by where it is: the headline and the opening
#: say what a story is about; the section a publisher filed it under is a strong hint too.
TITLE_WEIGHT = 3.0
SECTION_WEIGHT = 1.5
CAPTION_WEIGHT = 1.0
LEAD_WEIGHT = 2.0
#: The dateline says where the story was filed: as strong as a headline mention.
DATELINE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
#: A country stays in ``countries`` when its score reaches this share of the best country's score
#: and this absolute minimum: a country named once in passing is not what the story is about.
#: The dateline's country and the primary country always stay.
RELATIVE_MIN_SCORE = 0.35
ABSOLUTE_MIN_SCORE = 2.0

#: A city the article's other places point to wins over a namesake at most this many times its size;
#: "Paris" stays in France and "Manchester" in England whatever else the story mentions.
CONTEXT_POPULATION_RATIO = 3
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


@dataclass
class _Tally:
    entry: PlaceEntry
    mentions: int = 0
    score: float = 0.0
    first: int = 0


@dataclass
class PlaceReport:
    places: list[Place] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    primary_country: str | None = None
    #: Every country's evidence score, also those left out of ``countries``.
    scores: dict[str, float] = field(default_factory=dict)


def warm_up() -> None:
    """Build the gazetteer and the datelines' city index now (about two seconds), not on the first article."""
    gazetteer()
    datelines_warm_up()


def article_segments(article: Article) -> list[Segment]:
    segments = [Segment(article.title, TITLE_WEIGHT)]
    if article.breadcrumb:
        segments.append(Segment(article.breadcrumb[-1], SECTION_WEIGHT))
    if article.caption:
        segments.append(Segment(article.caption, CAPTION_WEIGHT))
    offset = 0
    dateline = find_dateline(article.paragraphs[0])
    for index, paragraph in enumerate(article.paragraphs):
        if index == 0 and dateline is not None:
            # Blanked (same offsets): the dateline counts once, as a dateline (see find_places).
            paragraph = " " * dateline.end + paragraph[dateline.end :]
        segments.append(Segment(paragraph, LEAD_WEIGHT if index == 0 else BODY_WEIGHT, offset))
        offset += len(paragraph) + 2
    return segments


def entities_of(fields: Mapping[str, Any]) -> list[Entity]:
    """The entities enricher's output when it ran before (models or their JSON form)."""
    return [
        item if isinstance(item, Entity) else Entity.model_validate(item)
        for item in fields.get("entities") or []
    ]


def find_places(
    segments: Sequence[Segment],
    entities: Sequence[Entity] = (),
    gaz: Gazetteer | None = None,
    dateline: FoundDateline | None = None,
) -> PlaceReport:
    """Places, countries (most relevant first) and the primary country of weighted text segments.

    A ``dateline`` with a country counts as a mention of its city at :data:`DATELINE_WEIGHT`.
    """
    gaz = gaz or gazetteer()
    extra = _entity_place_names(entities, gaz)
    person_forms = _FormFinder(_forms(entities, EntityType.PERSON))
    org_forms = _FormFinder(_forms(entities, EntityType.ORGANIZATION))
    mentions: list[Mention] = []
    if dateline is not None and dateline.country is not None:
        entry = _dateline_entry(dateline, gaz)
        mentions.append(
            Mention(
                name_key(entry.name),
                dateline.city_start,
                dateline.city_end,
                (entry,),
                DATELINE_WEIGHT,
                dateline=True,
            )
        )
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
    mentions = [
        mention for mention in mentions if mention.dateline or not first_in_company.get(mention.key, False)
    ]
    return _tally(mentions, gaz)


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


def _tally(mentions: Sequence[Mention], gaz: Gazetteer) -> PlaceReport:
    """Pick one candidate per mention, then count places and score countries."""
    # Unambiguous mentions first: they decide which "Birmingham" or "Hyderabad" the rest mean,
    # unless the mentioned country's one is tiny next to the famous one (Paris, Texas).
    context: dict[str, float] = defaultdict(float)
    for mention in mentions:
        if len(mention.candidates) == 1 and not mention.vouched:
            for code in mention.candidates[0].country_codes:
                context[code] += mention.weight
    # A town only a LOC entity vouches for ("Reading") must be in a country the article names
    # otherwise: rule-based entities call bands, players and grounds locations too.
    mentions = [
        mention
        for mention in mentions
        if not mention.vouched
        or any(context[code] for entry in mention.candidates for code in entry.country_codes)
    ]
    tallies: dict[PlaceEntry, _Tally] = {}
    dateline_codes: set[str] = set()
    for order, mention in enumerate(mentions):
        biggest = max((candidate.population for candidate in mention.candidates), default=0)
        plausible = [
            candidate
            for candidate in mention.candidates
            if candidate.population * CONTEXT_POPULATION_RATIO >= biggest
        ] or list(mention.candidates)
        entry = max(
            plausible,
            key=lambda candidate: (
                max((context[code] for code in candidate.country_codes), default=0.0),
                -mention.candidates.index(candidate),
            ),
        )
        if mention.dateline:
            dateline_codes.update(entry.country_codes)
        tally = tallies.setdefault(entry, _Tally(entry=entry, first=order))
        tally.mentions += 1
        tally.score += mention.weight

    scores: dict[str, float] = defaultdict(float)
    firsts: dict[str, int] = {}
    for tally in tallies.values():
        share = tally.score / len(tally.entry.country_codes)
        for code in tally.entry.country_codes:
            scores[code] += share
            firsts[code] = min(firsts.get(code, tally.first), tally.first)
    ranked_codes = sorted(scores, key=lambda code: (-scores[code], firsts[code]))
    ranked = sorted(tallies.values(), key=lambda tally: (-tally.score, tally.first))
    return PlaceReport(
        places=[_place(tally) for tally in ranked],
        countries=_relevant(ranked_codes, scores, dateline_codes),
        primary_country=ranked_codes[0] if ranked_codes else None,
        scores=dict(scores),
    )


def _relevant(ranked_codes: Sequence[str], scores: Mapping[str, float], keep: set[str]) -> list[str]:
    """The countries the story is about: strong enough next to the best one, or the dateline's.

    Countries tied with the best one stay too: a region names all its countries at once.
    """
    if not ranked_codes:
        return []
    top = scores[ranked_codes[0]]
    floor = min(top, max(ABSOLUTE_MIN_SCORE, RELATIVE_MIN_SCORE * top))
    return [code for code in ranked_codes if code in keep or scores[code] >= floor]


def _place(tally: _Tally) -> Place:
    entry = tally.entry
    location = (
        GeoPoint(lat=entry.lat, lon=entry.lon) if entry.lat is not None and entry.lon is not None else None
    )
    return Place(
        name=entry.name,
        kind=entry.kind,
        country_codes=list(entry.country_codes),
        location=location,
        mentions=tally.mentions,
    )


def _dateline_entry(dateline: FoundDateline, gaz: Gazetteer) -> PlaceEntry:
    """The gazetteer's entry for the dateline's city in its country, so that later mentions add up."""
    for entry in gaz.lookup(dateline.name):
        if entry.country_codes == (dateline.country,) and (dateline.lat is None or entry.lat == dateline.lat):
            return entry
    return PlaceEntry(
        name=dateline.name,
        kind="city",
        country_codes=(dateline.country,) if dateline.country else (),
        lat=dateline.lat,
        lon=dateline.lon,
    )


def dateline_of(found: FoundDateline | None) -> Dateline | None:
    """The contract's form of a dateline found in the text."""
    if found is None:
        return None
    location = (
        GeoPoint(lat=found.lat, lon=found.lon) if found.lat is not None and found.lon is not None else None
    )
    return Dateline(
        name=found.name, region=found.region, country=found.country, location=location, text=found.text
    )


@enricher("places", "3")
def places(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Places, their countries (most relevant first), the country the story is mostly about, the dateline."""
    dateline = find_dateline(article.paragraphs[0])
    report = find_places(article_segments(article), entities_of(fields), dateline=dateline)
    return {
        "places": report.places,
        "countries": report.countries,
        "primary_country": report.primary_country,
        "dateline": dateline_of(dateline),
    }
