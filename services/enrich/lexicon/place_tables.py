"""Hand-written place knowledge that the packaged GeoNames and ISO data do not carry.

Demonyms and adjectives, everyday country names, regions that stand for a fixed set of countries,
and the phrases and city names that look like places but usually are not.
"""

from __future__ import annotations

from services.enrich.lexicon.loader import word_set


def _table(text: str) -> dict[str, tuple[str, ...]]:
    """``"KZ: Kazakh, Kazakhs"`` lines -> ``{"Kazakh": ("KZ",), "Kazakhs": ("KZ",)}``."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        codes, forms = line.split(":", 1)
        for form in forms.split(","):
            if form.strip():
                table[form.strip()] = tuple(codes.split())
    return table


#: Adjectives and nouns for a country's people. Left out on purpose: "Soviet" (no current country),
#: "Persian" (mostly "Persian Gulf"), "Arab"/"Arabic", "Latin", "Asian", "European", "African".
DEMONYMS = _table(
    """
AF: Afghan, Afghans, Afghani
AL: Albanian, Albanians
DZ: Algerian, Algerians
AO: Angolan, Angolans
AR: Argentine, Argentinian, Argentinians, Argentines
AM: Armenian, Armenians
AU: Australian, Australians, Aussie, Aussies
AT: Austrian, Austrians
AZ: Azerbaijani, Azerbaijanis, Azeri, Azeris
BH: Bahraini, Bahrainis
BD: Bangladeshi, Bangladeshis
BY: Belarusian, Belarusians, Belarussian
BE: Belgian, Belgians
BO: Bolivian, Bolivians
BA: Bosnian, Bosnians
BR: Brazilian, Brazilians
BG: Bulgarian, Bulgarians
KH: Cambodian, Cambodians
CM: Cameroonian, Cameroonians
CA: Canadian, Canadians
CL: Chilean, Chileans
CN: Chinese
CO: Colombian, Colombians
HR: Croatian, Croatians, Croat, Croats
CU: Cuban, Cubans
CY: Cypriot, Cypriots
CZ: Czech, Czechs
DK: Danish, Dane, Danes
EC: Ecuadorian, Ecuadorians
EG: Egyptian, Egyptians
EE: Estonian, Estonians
ET: Ethiopian, Ethiopians
FI: Finnish, Finn, Finns
FR: French, Frenchman, Frenchwoman
GE: Georgian, Georgians
DE: German, Germans
GH: Ghanaian, Ghanaians
GR: Greek, Greeks
HU: Hungarian, Hungarians
IS: Icelandic, Icelander, Icelanders
IN: Indian, Indians
ID: Indonesian, Indonesians
IR: Iranian, Iranians
IQ: Iraqi, Iraqis
IE: Irish, Irishman
IL: Israeli, Israelis
IT: Italian, Italians
JM: Jamaican, Jamaicans
JP: Japanese
JO: Jordanian, Jordanians
KZ: Kazakh, Kazakhs, Kazakhstani, Kazakhstanis
KE: Kenyan, Kenyans
KW: Kuwaiti, Kuwaitis
KG: Kyrgyz, Kyrgyzstani, Kirghiz
LA: Laotian, Laotians
LV: Latvian, Latvians
LB: Lebanese
LY: Libyan, Libyans
LT: Lithuanian, Lithuanians
MY: Malaysian, Malaysians
MX: Mexican, Mexicans
MD: Moldovan, Moldovans
MN: Mongolian, Mongolians
MA: Moroccan, Moroccans
MM: Burmese, Myanmar
NP: Nepalese, Nepali
NL: Dutch, Dutchman
NZ: Kiwi, Kiwis
NG: Nigerian, Nigerians
KP: North Korean, North Koreans
NO: Norwegian, Norwegians
OM: Omani, Omanis
PK: Pakistani, Pakistanis
PS: Palestinian, Palestinians
PE: Peruvian, Peruvians
PH: Filipino, Filipinos, Philippine
PL: Polish, Pole, Poles
PT: Portuguese
QA: Qatari, Qataris
RO: Romanian, Romanians
RU: Russian, Russians
RW: Rwandan, Rwandans
SA: Saudi, Saudis
RS: Serbian, Serbians, Serb, Serbs
SG: Singaporean, Singaporeans
SK: Slovak, Slovaks, Slovakian
SI: Slovenian, Slovenians, Slovene, Slovenes
SO: Somali, Somalis
ZA: South African, South Africans
KR: South Korean, South Koreans
ES: Spanish, Spaniard, Spaniards
LK: Sri Lankan, Sri Lankans
SD: Sudanese
SE: Swedish, Swede, Swedes
CH: Swiss
SY: Syrian, Syrians
TW: Taiwanese
TJ: Tajik, Tajiks, Tajikistani
TZ: Tanzanian, Tanzanians
TH: Thai, Thais
TN: Tunisian, Tunisians
TR: Turkish, Turk, Turks
TM: Turkmen, Turkmens
UG: Ugandan, Ugandans
UA: Ukrainian, Ukrainians
AE: Emirati, Emiratis
GB: British, Briton, Britons, Brit, Brits, English, Englishman, Scottish, Scot, Scots, Welsh, Northern Irish
US: American, Americans
UY: Uruguayan, Uruguayans
UZ: Uzbek, Uzbeks, Uzbekistani
VE: Venezuelan, Venezuelans
VN: Vietnamese
YE: Yemeni, Yemenis
ZM: Zambian, Zambians
ZW: Zimbabwean, Zimbabweans
"""
)

#: Everyday names and abbreviations that the ISO and GeoNames names miss.
COUNTRY_ALIASES = _table(
    """
US: US, U.S., USA, U.S.A., America, United States, United States of America
GB: UK, U.K., Britain, Great Britain, United Kingdom, England, Scotland, Wales, Northern Ireland
AE: UAE, U.A.E., Emirates
RU: Russian Federation
KR: Korea
CD: DR Congo, DRC, Democratic Republic of Congo
CZ: Czech Republic, Czechia
NL: Holland, Netherlands
CI: Ivory Coast, Cote d'Ivoire, Côte d'Ivoire
MM: Burma
VA: Vatican, Vatican City, Holy See
PS: Palestine, Palestinian territories, West Bank, Gaza, Gaza Strip
TR: Türkiye, Turkiye
MK: Macedonia, North Macedonia
SZ: Swaziland, Eswatini
CV: Cape Verde
TL: East Timor
"""
)

#: Everyday names of cities that GeoNames files under a longer or wider name: form -> (name, country).
CITY_ALIASES: dict[str, tuple[str, str]] = {
    "Newcastle": ("Newcastle upon Tyne", "GB"),
    "Westminster": ("London", "GB"),
    "Whitehall": ("London", "GB"),
    "Downing Street": ("London", "GB"),
    "Wall Street": ("New York City", "US"),
    "New York": ("New York City", "US"),
    "Kiev": ("Kyiv", "UA"),
}

#: Regions that stand for a fixed set of countries (ISO alpha-2, in no particular order).
REGIONS = _table(
    """
KZ KG TJ TM UZ: Central Asia, Central Asian, Central Asian states, Central Asian countries
KZ KG TJ TM UZ: Central Asian nations, Central Asian republics
EE LV LT: Baltic states, Baltic countries, Baltic republics, Baltics
DK NO SE: Scandinavia, Scandinavian
BE NL LU: Benelux
AM AZ GE: South Caucasus, Transcaucasia
KP KR: Korean peninsula, Korean Peninsula
"""
)

#: Phrases that contain a place or demonym but name no country: matched first so that their
#: words ("Persian", "Indian", "Gulf") resolve to nothing. "ex-Soviet" never matches anyway.
NOT_PLACES = frozenset(
    {
        "Persian Gulf",
        "Persian Gulf states",
        "Gulf states",
        "Arabian Gulf",
        "Gulf of Mexico",
        "Indian Ocean",
        "Pacific Ocean",
        "Atlantic Ocean",
        "South China Sea",
        "East China Sea",
        "Native American",
        "Native Americans",
        "American Indian",
        "American Indians",
        "Latin America",
        "Latin American",
        "South America",
        "South American",
        "North America",
        "North American",
        "Central America",
        "Central American",
        "West Indies",
        "West Indian",
        "Middle East",
        "Soviet Union",
        "New South Wales",
        "British Columbia",
        "French Guiana",
        "Dutch auction",
        "French fries",
        "Turkish delight",
        "Swiss cheese",
        "Chinese whispers",
    }
)

#: Country names that are also people's names ("Eddie Jordan", "Jordan said"): dropped when they
#: sit next to another capitalised word that is no place, or before a speech verb.
PERSON_LIKE_NAMES = frozenset({"Jordan", "Chad", "Georgia", "Israel", "Kenya", "India", "Niger", "Cuba"})

#: City names that are also common words or names; a text scan ignores them, only a LOC entity
#: found by the entities enricher can make them places.
RISKY_CITY_NAMES = word_set(
    """
    Reading Nice Mobile Split Bath Orange Sale Best Aurora Independence Victoria Florence Lincoln
    Jackson Charlotte Hamilton Austin Douglas Warren Henderson Nelson Columbia Lafayette Eugene Troy
    Mesa Buffalo Surprise Enterprise Paradise Spring Derby Phoenix Hope Page March Union Hull Wells
    Deal Bury Man Bar Tours Nancy Mons Bat Darwin Chester Preston Stanley Vernon Norman Irving
    Garland Frederick Regina Mercedes Salem Eden Concord Providence Marion Madison Temple Clinton
    Kent Lawrence Lowell Carmel Sterling Chelsea Florida Georgia Carolina Virginia Santa Of Ede Bo
    Kota Apple Dover Camden Richmond Eagle Gary Tyler Quincy Ontario Olympia Sparta Corinth
    Hollywood Bethlehem Nazareth Jerusalem Mecca Medina Harrison Kingsport Murray Marshall Franklin
    Wilson Columbus Waterloo Trenton Batman Delta Jupiter Glastonbury Cicero Masai
    """
)

#: Words after a city name that make the phrase an organisation, club, event or agreement named
#: after the city rather than the city itself ("Shanghai Cooperation Organization", "Kyoto Protocol").
NAMED_AFTER_CITY_HEADS = word_set(
    """
    Cooperation Organization Organisation University College School Stock Exchange United City
    Rovers Athletic Wanderers Albion Club FC Post Times Journal Herald Tribune Daily Group Bank
    Protocol Accord Accords Agreement Agreements Convention Declaration Treaty Consensus Process
    Symphony Orchestra Philharmonic Opera Zoo Institute Airlines Airways Hilton Pact Principles
    Rules Company Corporation Inc Ltd Capitals Raiders Dolphins Dynamo Spartak Lokomotiv Torpedo
    """
)
