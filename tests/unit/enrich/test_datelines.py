"""Wire datelines: every style the enrich service recognises, and openings that are not datelines."""

from __future__ import annotations

import pytest

from schemas.articles import EntityType
from services.enrich.nlp.datelines import find_dateline
from services.enrich.pipeline import enrich
from tests.unit.enrich.factories import article

STORY = " Tultex Corp said its first quarter earnings would rise."


@pytest.mark.parametrize(
    ("opening", "name", "country", "region"),
    [
        # CITY, State abbrev., Month Day -
        ("MARTINSVILLE, Va., Feb 26 -", "Martinsville", "US", "Virginia"),
        ("MILWAUKEE, Wis., March 2 -", "Milwaukee", "US", "Wisconsin"),
        ("SAN MATEO, Calif., March 3 -", "San Mateo", "US", "California"),
        # CITY, Month Day -
        ("LOS ANGELES, March 2 -", "Los Angeles", "US", None),
        # CITY (Agency) -
        ("LONDON (Reuters) -", "London", "GB", None),
        # CITY, Date (Agency) -
        ("TOKYO, Jan 5 (Reuters) -", "Tokyo", "JP", None),
        # CITY, Province, Date -  and  CITY, Country -
        ("VANCOUVER, British Columbia, March 3 -", "Vancouver", "CA", "British Columbia"),
        ("SYDNEY, Australia -", "Sydney", "AU", None),
        # title case, en and em dashes, "--"
        ("Milwaukee, Wis., March 2 –", "Milwaukee", "US", "Wisconsin"),
        ("London (Reuters) —", "London", "GB", None),
        ("TOKYO, Jan. 5 (AP) --", "Tokyo", "JP", None),
        ("Los Angeles, March 2 -", "Los Angeles", "US", None),
    ],
)
def test_dash_datelines(opening: str, name: str, country: str, region: str | None) -> None:
    found = find_dateline(opening + STORY)
    assert found is not None
    assert (found.name, found.country, found.region) == (name, country, region)
    assert found.text == opening.rstrip(" -–—")
    assert (opening + STORY)[found.end :].lstrip().startswith("Tultex")


@pytest.mark.parametrize(
    ("line", "name", "country"),
    [
        ("LONDON 1996-12-06", "London", "GB"),
        ("AL-AIN , United Arab Emirates 1996-12-06", "Al Ain City", "AE"),
        ("Tokyo 1996-08-22 - The yen rose.", "Tokyo", "JP"),
    ],
)
def test_conll_style_datelines(line: str, name: str, country: str) -> None:
    found = find_dateline(line)
    assert found is not None
    assert (found.name, found.country) == (name, country)


def test_known_city_gets_coordinates() -> None:
    found = find_dateline("MILWAUKEE, Wis., March 2 - Shares rose.")
    assert found is not None and found.lat is not None and found.lon is not None
    assert 42 < found.lat < 44 and -89 < found.lon < -87


@pytest.mark.parametrize(
    ("abbreviation", "country", "region"),
    [
        ("Va.", "US", "Virginia"),
        ("N.Y.", "US", "New York"),
        ("W.Va.", "US", "West Virginia"),
        ("Okla.", "US", "Oklahoma"),
        ("TX", "US", "Texas"),
        ("WY", "US", "Wyoming"),
        ("Ont.", "CA", "Ontario"),
        ("Que.", "CA", "Quebec"),
        ("B.C.", "CA", "British Columbia"),
        ("P.E.I.", "CA", "Prince Edward Island"),
        ("Nfld.", "CA", "Newfoundland"),
        ("Saskatchewan", "CA", "Saskatchewan"),
    ],
)
def test_state_or_province_decides_the_country_of_an_unknown_town(
    abbreviation: str, country: str, region: str
) -> None:
    found = find_dateline(f"QUUXVILLE, {abbreviation}, March 3 - The plant closed.")
    assert found is not None
    assert (found.name, found.country, found.region) == ("Quuxville", country, region)
    assert found.lat is None


def test_state_picks_the_namesake() -> None:
    oregon = find_dateline("PORTLAND, Ore., May 3 - x")
    maine = find_dateline("PORTLAND, Maine, May 3 - x")
    ontario = find_dateline("LONDON, Ont., May 3 - x")
    assert oregon is not None and maine is not None and ontario is not None
    assert oregon.lon is not None and maine.lon is not None and oregon.lon < -120 < -75 < maine.lon
    assert ontario.country == "CA"


@pytest.mark.parametrize(
    "opening",
    [
        "London is the biggest city in Britain - and the dearest.",
        "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .",
        "Paris - the city of light - is dark tonight.",
        "The company, March 2 - shares rose.",
        "Smith, Jones - two names.",
        "Apple (AAPL) - shares rose.",
        "",
        "   ",
    ],
)
def test_not_datelines(opening: str) -> None:
    assert find_dateline(opening) is None


def test_enriched_story_has_its_dateline_country_and_no_person_or_org_for_the_town() -> None:
    story = article(
        title="Tultex sees higher first quarter earnings",
        paragraphs=[
            "MARTINSVILLE, Va., Feb 26 - Tultex Corp said its first quarter earnings would rise "
            "on strong demand for its fleecewear.",
            "The company said sales rose 12 pct in the quarter.",
        ],
    )
    enriched = enrich(story)
    assert enriched.dateline is not None
    assert (enriched.dateline.name, enriched.dateline.country) == ("Martinsville", "US")
    assert enriched.dateline.text == "MARTINSVILLE, Va., Feb 26"
    assert "US" in enriched.countries and enriched.primary_country == "US"
    claimed = {
        entity.name.casefold()
        for entity in enriched.entities
        if entity.type in (EntityType.PERSON, EntityType.ORGANIZATION)
    }
    assert not claimed & {"martinsville", "va", "va.", "martinsville, va"}
    assert "Tultex Corp" in {entity.name for entity in enriched.entities}


def test_dateline_outweighs_a_place_inside_a_company_name() -> None:
    enriched = enrich(
        article(
            title="SDC wins contract",
            paragraphs=[
                "VANCOUVER, British Columbia, March 3 - SDC Sydney Development Corp said it won a contract."
            ],
        )
    )
    assert enriched.dateline is not None and enriched.dateline.country == "CA"
    assert enriched.primary_country == "CA"


def test_story_without_dateline_has_none() -> None:
    enriched = enrich(article())
    assert enriched.dateline is None


@pytest.mark.parametrize(
    ("opening", "country"),
    [
        ("DENVER, Colo, April 9 -", "US"),  # abbreviation without its dot
        ("HAUPPAUGE, N.Y, April 9 -", "US"),
        ("omaha, april 7 -", "US"),  # typed in lower case: the date vouches for it
        ("THE HAGUE, April 9 -", "NL"),
        ("FRANKFURT, April 1 -", "DE"),  # GeoNames calls it Frankfurt am Main
        ("ZURICH, April 9 -", "CH"),  # and this one Zürich
        ("ST. PAUL, April 7 -", "US"),
        ("PHILADELPHIA, March 3 -", "US"),  # also an old name of Amman, a capital
        ("DUESSELDORF, West Germany, March 31 -", "DE"),
        ("MANILA, April 1, Reuter -", "PH"),
        ("ROTTERDAM, April 1- Ships waited.", "NL"),
        ("WASHINGTON - The Senate voted.", "US"),  # a big city alone in capitals
        ("MONROVIA 1996-08-22", "LR"),
        ("MATUZICI , Bosnia 1996-08-25", None),  # the ISO date vouches for an unknown part
    ],
)
def test_older_wire_habits(opening: str, country: str | None) -> None:
    found = find_dateline(opening if opening[-1] != "-" else opening + STORY)
    assert found is not None
    assert found.country == country


@pytest.mark.parametrize(
    "opening",
    [
        "TUE, APR 07 - Prices rose.",
        "APRIL 7 - Prices rose.",
        "JAPAN - Prices rose.",
        "Washington - the state - voted.",
    ],
)
def test_dates_countries_and_title_case_cities_alone_are_no_datelines(opening: str) -> None:
    assert find_dateline(opening) is None
