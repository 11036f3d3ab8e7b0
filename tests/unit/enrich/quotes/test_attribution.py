from __future__ import annotations

import pytest

from schemas.articles import EntityType
from services.enrich.quotes.finder import find_quotes
from tests.unit.enrich.quotes.helpers import pairs, person


@pytest.mark.parametrize(
    "body",
    [
        'Nadia Petrova opened the fair. "We expect record crowds this weekend," said Ms Petrova.',
        "Nadia Petrova opened the fair. “We expect record crowds this weekend,” said Ms Petrova.",
        'Nadia Petrova opened the fair. "We expect record crowds this weekend," Ms Petrova said.',
        'Nadia Petrova opened the fair. Ms Petrova said: "We expect record crowds this weekend."',
        'Nadia Petrova opened the fair. According to Ms Petrova, "we expect record crowds this weekend."',
    ],
)
def test_attribution_before_or_after_in_straight_or_curly_quotes(body: str) -> None:
    assert [speaker for _, speaker in pairs(body)] == ["Nadia Petrova"]


def test_subject_told_object_attributes_to_the_subject() -> None:
    entities = [person("Xi Jinping", "Xi"), person("Vladimir Putin", "Putin")]
    body = 'The leaders met on Tuesday. Xi told Putin "the two sides should keep building trust for years."'
    assert pairs(body, entities) == [("the two sides", "Xi Jinping")]
    after = 'The leaders met on Tuesday. "The two sides should keep building trust," Xi told Putin.'
    assert pairs(after, entities) == [("The two sides", "Xi Jinping")]


def test_a_quote_continued_after_its_attribution_keeps_the_speaker() -> None:
    body = (
        'Tom Okafor, the harbour master, was blunt. "The channel is too shallow for these ships," he said. '
        '"We warned the council about it last spring."'
    )
    assert pairs(body) == [("The channel is", "Tom Okafor"), ("We warned the", "Tom Okafor")]


def test_pronouns_resolve_to_the_most_recent_speaker_of_that_gender() -> None:
    body = (
        "Mr Daniel Reyes said the plan was sound. Ms Ana Lima disagreed.\n\n"
        '"The budget leaves nothing for the rural clinics," she said.\n\n'
        '"That is simply not true and the figures show it," he said.'
    )
    assert pairs(body) == [("The budget leaves", "Ana Lima"), ("That is simply", "Daniel Reyes")]


def test_unresolvable_speaker_is_kept_only_with_an_attribution_verb() -> None:
    attributed = find_quotes('"We have seen nothing like this flood before," one resident said.')
    assert [(quote.text[:10], quote.speaker) for quote in attributed] == [("We have se", None)]
    unattributed = find_quotes(
        'The banner read "we have seen nothing like this flood before" in red letters.'
    )
    assert unattributed == []


def test_an_organisation_speaks_through_its_spokesman() -> None:
    body = (
        "Shares in the Northern Rail Company (NRC) fell sharply.\n\n"
        'A spokesman for the NRC said: "Services will run normally throughout the holiday."'
    )
    found = find_quotes(body)
    assert found[0].speaker is not None
    assert (found[0].speaker.name, found[0].speaker.type) == (
        "Northern Rail Company",
        EntityType.ORGANIZATION,
    )
