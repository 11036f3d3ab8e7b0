from __future__ import annotations

from pathlib import Path

import pytest

from schemas.articles import Entity, EntityType, Place
from services.enrich.enrichers.places import PlaceReport, Segment, find_places, places
from services.ingest.normalize import normalize
from services.ingest.parsing import TextSubmission
from tests.unit.enrich.factories import article

SEED = Path(__file__).resolve().parents[3] / "deploy" / "samples" / "presstv-putin-xi-sco.txt"
CENTRAL_ASIA = {"KZ", "KG", "TJ", "TM", "UZ"}


def _report(*texts: str, entities: list[Entity] | None = None) -> PlaceReport:
    return find_places([Segment(text, 1.0) for text in texts], entities or [])


def _place(found: list[Place], name: str) -> Place:
    return next(place for place in found if place.name == name)


def test_a_city_resolves_to_its_country_with_coordinates() -> None:
    report = _report("Ministers met in Astana on Tuesday.")
    astana = _place(report.places, "Astana")
    assert (astana.kind, astana.country_codes) == ("city", ["KZ"])
    assert astana.location is not None
    assert 50 < astana.location.lat < 52 and 70 < astana.location.lon < 73
    assert report.countries == ["KZ"] and report.primary_country == "KZ"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Russian troops crossed the line.", "RU"),
        ("Russia's foreign minister spoke first.", "RU"),
        ("Russia’s foreign minister spoke first.", "RU"),
        ("The Chinese delegation left early.", "CN"),
        ("Officials in the U.S. declined to comment.", "US"),
        ("Talks on Russia-Ukraine ties stalled.", "RU"),
    ],
)
def test_demonyms_possessives_and_hyphenated_forms_name_their_country(text: str, code: str) -> None:
    assert code in _report(text).countries


def test_a_country_name_is_a_country_place_without_coordinates() -> None:
    kazakhstan = _place(_report("Kazakhstan hosted the meeting.").places, "Kazakhstan")
    assert (kazakhstan.kind, kazakhstan.country_codes, kazakhstan.location) == ("country", ["KZ"], None)


@pytest.mark.parametrize(
    "phrase", ["Central Asia", "Central Asian states", "Central Asian countries", "the Central Asian summit"]
)
def test_central_asia_is_a_region_of_the_five_republics(phrase: str) -> None:
    report = _report(f"Trade grew across {phrase} last year.")
    region = report.places[0]
    assert region.kind == "region"
    assert set(region.country_codes) == CENTRAL_ASIA
    assert set(report.countries) == CENTRAL_ASIA


@pytest.mark.parametrize(
    "text",
    [
        "Tankers crossed the Persian Gulf at night.",
        "Several Persian Gulf states joined as partners.",
        "The ex-Soviet republics have old ties.",
        "He ordered a cheese plate at a nice restaurant in Reading the menu.",
    ],
)
def test_phrases_that_only_look_like_places_resolve_to_nothing(text: str) -> None:
    assert _report(text).countries == []


def test_common_word_city_names_need_a_loc_entity_and_a_country_the_article_names() -> None:
    reading = [Entity(name="Reading", type=EntityType.LOCATION, mentions=1, first_offset=0)]
    text = "The English club moved its training ground to Reading last summer."
    assert [place.name for place in _report(text).places] == ["United Kingdom"]
    with_entity = _report(text, entities=reading)
    assert [(place.name, place.country_codes) for place in with_entity.places] == [
        ("United Kingdom", ["GB"]),
        ("Reading", ["GB"]),
    ]
    assert _report("The club moved its training ground to Reading.", entities=reading).places == []


def test_a_place_inside_an_organisation_or_a_persons_name_does_not_count() -> None:
    text = "The Shanghai Cooperation Organization met while Eddie Jordan watched."
    assert _report(text).countries == []
    entities = [
        Entity(
            name="Shanghai Cooperation Organization", type=EntityType.ORGANIZATION, mentions=1, first_offset=4
        ),
        Entity(name="Eddie Jordan", type=EntityType.PERSON, mentions=1, first_offset=47),
    ]
    assert _report(text, entities=entities).countries == []


def test_ambiguous_cities_prefer_a_country_the_article_mentions_then_the_most_populous() -> None:
    assert _report("Fans packed a stadium in Valencia.").countries == ["VE"]
    spain = _report("Fans packed a stadium in Valencia, the third city of Spain.")
    assert _place(spain.places, "Valencia").country_codes == ["ES"]
    # A namesake far smaller than the famous city does not win on context alone.
    texas = _report("Paris is quiet today, officials in the United States said.")
    assert _place(texas.places, "Paris").country_codes == ["FR"]


def test_headline_mentions_outweigh_body_mentions_for_the_primary_country() -> None:
    report = find_places(
        [Segment("France wins the final", 3.0), Segment("Spain led at half time. Spain then faded.", 1.0)]
    )
    assert report.primary_country == "FR"
    assert report.countries == ["FR", "ES"]


def test_mentions_are_counted_across_forms() -> None:
    russia = _place(
        _report("Russia said no.", "Russian officials agreed.", "Russians voted.").places, "Russia"
    )
    assert russia.mentions == 3


def test_enricher_reads_title_caption_and_body_and_uses_entities_when_present() -> None:
    source = article(
        title="Leaders meet in Astana",
        caption="Delegates arrive in Kazakhstan.",
        paragraphs=["Russian and Chinese leaders talked for an hour.", "They will meet again in Moscow."],
    )
    without = places(source, {})
    assert {"KZ", "RU", "CN"} <= set(without["countries"])
    assert without["primary_country"] == "KZ"
    entity = Entity(name="Astana", type=EntityType.LOCATION, mentions=1, first_offset=0)
    assert places(source, {"entities": [entity.model_dump()]})["countries"] == without["countries"]


@pytest.mark.skipif(not SEED.exists(), reason="the seed sample is not in this checkout")
def test_the_seed_article() -> None:
    seed = normalize(TextSubmission(SEED.read_text(encoding="utf-8")))
    result = places(seed, {})
    found = {place.name: place for place in result["places"]}
    assert found["Astana"].country_codes == ["KZ"] and found["Astana"].location is not None
    assert found["Kazakhstan"].kind == "country"
    assert {"KZ", "RU", "CN"} <= set(result["countries"][:3])
    assert result["primary_country"] in ("RU", "KZ")
    assert "Shanghai" not in found  # only in "Shanghai Cooperation Organization"
    assert set(found["Central Asia"].country_codes) == CENTRAL_ASIA
