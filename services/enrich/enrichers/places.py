"""Places named in the article, resolved to countries (ISO 3166-1 alpha-2) and city coordinates.

Names come from a gazetteer scan of the title, caption and body (countries, demonyms such as
"Russian", regions such as "Central Asia", capitals and big cities) and from the LOC entities of
the entities enricher when it ran before, which also lets small or ambiguous towns in ("Reading").
Its PER and ORG entities keep "Jordan" in "Michael Jordan" and "Shanghai" in "Shanghai Cooperation
Organization" from counting as places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.articles import Article, Dateline, Entity, GeoPoint, Place
from services.enrich.enrichers import enricher
from services.enrich.lexicon.places import (
    Gazetteer,
    PlaceEntry,
    gazetteer,
    name_key,
)
from services.enrich.nlp.datelines import Dateline as FoundDateline
from services.enrich.nlp.datelines import find_dateline
from services.enrich.nlp.datelines import warm_up as datelines_warm_up
from services.enrich.nlp.place_mentions import Mention, Segment, place_mentions

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
    mentions.extend(place_mentions(segments, entities, gaz))
    return _tally(mentions, gaz)


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


@enricher("places", "4")
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
