from __future__ import annotations

from schemas.articles import EntityType
from services.enrich.quotes.names import NameBook, Speaker, looks_like_person
from tests.unit.enrich.quotes.helpers import pairs, person


def test_a_role_phrase_resolves_to_the_person_holding_that_title() -> None:
    body = (
        "Ruritania's President Anton Weber met his Freedonian counterpart Lena Ostrova in Astana.\n\n"
        '"Our partnership is the strongest it has been in decades," the Ruritanian president said.'
    )
    assert pairs(body) == [("Our partnership is", "Anton Weber")]


def test_a_role_phrase_resolves_through_entity_aliases() -> None:
    body = 'The talks ran late. "We will sign the accord within a month," the Russian president said.'
    entities = [
        person("Vladimir Putin", "Putin", "Russian President Vladimir Putin"),
        person("Xi Jinping", "Xi"),
    ]
    assert pairs(body, entities) == [("We will sign", "Vladimir Putin")]


def test_a_surname_with_an_honorific_resolves_to_the_full_name_in_the_text() -> None:
    book = NameBook("Patricia Hewitt spoke first. Later Ms Hewitt left.", [])
    assert book.resolve("Ms Hewitt") == Speaker("Patricia Hewitt", EntityType.PERSON, True)


def test_a_name_with_an_organisation_word_is_an_organisation() -> None:
    book = NameBook("The Northern Rail Company said nothing.", [])
    speaker = book.resolve("Northern Rail Company")
    assert speaker is not None and speaker.type is EntityType.ORGANIZATION


def test_a_known_given_name_makes_a_person_even_when_typed_otherwise() -> None:
    assert looks_like_person("David Moyes")
    assert not looks_like_person("Northern Rail Company")
