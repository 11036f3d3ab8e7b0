"""In-article resolution of mentions into entities, independent of the recognition backend."""

from __future__ import annotations

import re

import pytest

from schemas.articles import Entity, EntityType
from services.enrich.nlp.mentions import Mention
from services.enrich.nlp.resolve import Section, clean_form, resolve

PER, ORG, LOC = EntityType.PERSON, EntityType.ORGANIZATION, EntityType.LOCATION


def mentions_of(text: str, typed: dict[str, EntityType]) -> list[Mention]:
    """Every occurrence of each given surface form, as a backend would report it."""
    found = []
    for surface, kind in typed.items():
        for match in re.finditer(re.escape(surface), text):
            found.append(Mention(match.start(), match.end(), surface, kind))
    return found


def by_name(entities: list[Entity]) -> dict[str, Entity]:
    return {entity.name: entity for entity in entities}


def test_surnames_and_titles_resolve_to_the_full_name() -> None:
    body = (
        "Russia's President Vladimir Putin arrived on Tuesday. "
        "President Putin later met the press, and Putin's aides said little."
    )
    mentions = mentions_of(body, {"President Vladimir Putin": PER, "President Putin": PER, "Putin's": ORG})
    entities = by_name(resolve([Section(body, mentions, is_body=True)]))
    assert list(entities) == ["Vladimir Putin"]
    putin = entities["Vladimir Putin"]
    assert putin.type is PER
    assert putin.mentions == 3
    assert putin.first_offset == body.index("Vladimir Putin")
    assert "Putin" in putin.aliases


def test_a_title_and_surname_joins_the_full_name_written_earlier() -> None:
    body = "Patricia Hewitt, the health secretary, spoke first. Ms Hewitt said the plan would work."
    mentions = mentions_of(body, {"Patricia Hewitt": PER, "Ms Hewitt": PER})
    entities = resolve([Section(body, mentions, is_body=True)])
    assert [(entity.name, entity.mentions) for entity in entities] == [("Patricia Hewitt", 2)]
    assert entities[0].aliases == ["Hewitt"]


def test_a_surname_without_any_full_name_stays_as_written() -> None:
    body = "Ms Hewitt said the plan would work."
    entities = resolve([Section(body, mentions_of(body, {"Ms Hewitt": PER}), is_body=True)])
    assert [entity.name for entity in entities] == ["Hewitt"]


def test_an_acronym_in_brackets_becomes_an_alias_and_its_later_uses_count() -> None:
    body = (
        "Leaders met at the Shanghai Cooperation Organization (SCO) summit. "
        "The SCO was founded in 2001; the SCO's members met again."
    )
    mentions = mentions_of(body, {"Shanghai Cooperation Organization": ORG})
    mentions.append(Mention(body.index("SCO)"), body.index("SCO)") + 3, "SCO", ORG))
    entities = resolve([Section(body, mentions, is_body=True)])
    assert len(entities) == 1
    sco = entities[0]
    assert (sco.name, sco.type, sco.aliases) == ("Shanghai Cooperation Organization", ORG, ["SCO"])
    assert sco.mentions == 4


def test_brackets_that_do_not_spell_the_initials_are_no_acronym() -> None:
    body = "Talks at the Shanghai Cooperation Organization (Kazakhstan) ended."
    mentions = mentions_of(body, {"Shanghai Cooperation Organization": ORG, "Kazakhstan": LOC})
    names = {entity.name: entity.aliases for entity in resolve([Section(body, mentions, is_body=True)])}
    assert names == {"Shanghai Cooperation Organization": [], "Kazakhstan": []}


def test_possessives_are_stripped_and_demonyms_alone_are_not_entities() -> None:
    body = "China's exports rose while Chinese officials and the Russians watched China’s rivals."
    mentions = mentions_of(body, {"China's": LOC, "China’s": LOC, "Chinese": LOC, "Russians": ORG})
    entities = resolve([Section(body, mentions, is_body=True)])
    assert [(entity.name, entity.mentions) for entity in entities] == [("China", 2)]


def test_a_given_name_that_is_also_a_demonym_stays_before_a_surname() -> None:
    body = "Christian Zorbeck (France) won and Russian Zorbov lost."
    entities = resolve([Section(body, mentions_of(body, {"Christian Zorbeck": PER, "Russian Zorbov": PER}))])
    assert sorted(entity.name for entity in entities) == ["Christian Zorbeck", "Zorbov"]


def test_the_demonym_test_can_be_given() -> None:
    body = "Martian rovers landed."
    entities = resolve(
        [Section(body, mentions_of(body, {"Martian": LOC}), is_body=True)], is_demonym=lambda word: False
    )
    assert [entity.name for entity in entities] == ["Martian"]


def test_capitals_join_the_mixed_case_form_and_the_mixed_case_form_is_the_name() -> None:
    title = "LONDON TALKS END"
    body = "Ministers met in London on Friday."
    entities = resolve(
        [
            Section(title, [Mention(0, 6, "LONDON", LOC)]),
            Section(body, mentions_of(body, {"London": LOC}), is_body=True),
        ]
    )
    assert [(entity.name, entity.aliases, entity.mentions) for entity in entities] == [
        ("London", ["LONDON"], 2)
    ]


def test_initials_and_surname_join_the_full_name_with_the_same_initial() -> None:
    body = "Phil Simmons took four wickets. Later P. Simmons was out for 12 while Mark Simmons watched."
    mentions = mentions_of(body, {"Phil Simmons": PER, "P. Simmons": PER, "Mark Simmons": PER})
    entities = by_name(resolve([Section(body, mentions, is_body=True)]))
    assert set(entities) == {"Phil Simmons", "Mark Simmons"}
    assert entities["Phil Simmons"].aliases == ["P. Simmons"]
    assert entities["Phil Simmons"].mentions == 2


def test_a_shared_surname_goes_to_the_nearest_person_named_before_it() -> None:
    body = "Bill Clinton spoke. Hillary Clinton replied. Clinton then left."
    mentions = mentions_of(body, {"Bill Clinton": PER, "Hillary Clinton": PER})
    mentions.append(Mention(body.index("Clinton then"), body.index("Clinton then") + 7, "Clinton", PER))
    entities = by_name(resolve([Section(body, mentions, is_body=True)]))
    assert entities["Hillary Clinton"].aliases == ["Clinton"]
    assert entities["Bill Clinton"].aliases == []


def test_a_given_name_first_surname_like_xi_joins_a_two_word_name() -> None:
    body = "China's President Xi Jinping arrived. Xi told reporters he was pleased."
    mentions = mentions_of(body, {"President Xi Jinping": PER})
    mentions.append(Mention(body.index("Xi told"), body.index("Xi told") + 2, "Xi", PER))
    entities = resolve([Section(body, mentions, is_body=True)])
    assert [(entity.name, entity.aliases, entity.mentions) for entity in entities] == [
        ("Xi Jinping", ["Xi"], 2)
    ]


def test_mentions_count_title_caption_and_body_but_offsets_are_in_the_body() -> None:
    title = "Putin visits Astana"
    caption = "Vladimir Putin in Astana."
    body = "Kazakhstan hosted the summit. Vladimir Putin arrived in Astana on Tuesday."
    sections = [
        Section(title, mentions_of(title, {"Putin": PER, "Astana": LOC})),
        Section(caption, mentions_of(caption, {"Vladimir Putin": PER, "Astana": LOC})),
        Section(
            body, mentions_of(body, {"Kazakhstan": LOC, "Vladimir Putin": PER, "Astana": LOC}), is_body=True
        ),
    ]
    entities = by_name(resolve(sections))
    assert entities["Vladimir Putin"].mentions == 3
    assert entities["Astana"].mentions == 3
    assert entities["Kazakhstan"].mentions == 1
    assert entities["Vladimir Putin"].first_offset == body.index("Vladimir")
    assert entities["Astana"].first_offset == body.index("Astana")
    assert entities["Kazakhstan"].first_offset == 0


def test_an_entity_named_only_in_the_title_has_offset_zero_and_sorts_after_body_entities() -> None:
    title = "Sputnik reports"
    body = "Astana hosted it."
    entities = resolve(
        [
            Section(title, mentions_of(title, {"Sputnik": ORG})),
            Section(body, mentions_of(body, {"Astana": LOC}), is_body=True),
        ]
    )
    assert [(entity.name, entity.first_offset) for entity in entities] == [("Astana", 0), ("Sputnik", 0)]


def test_the_type_is_the_majority_of_the_full_form_not_of_its_aliases() -> None:
    body = "Nasser Hussain batted. Hussain scored. Hussain was out. Hussain left."
    mentions = mentions_of(body, {"Nasser Hussain": PER})
    mentions += [
        Mention(match.start(), match.end(), "Hussain", ORG)
        for match in re.finditer(r"Hussain (?!batted)", body)
    ]
    entities = resolve([Section(body, mentions, is_body=True)])
    assert [(entity.name, entity.type, entity.mentions) for entity in entities] == [
        ("Nasser Hussain", PER, 4)
    ]


def test_most_mentioned_first_then_by_first_offset() -> None:
    body = "Kenya and Uganda met. Uganda won. Tanzania watched."
    entities = resolve(
        [Section(body, mentions_of(body, {"Kenya": LOC, "Uganda": LOC, "Tanzania": LOC}), is_body=True)]
    )
    assert [entity.name for entity in entities] == ["Uganda", "Kenya", "Tanzania"]


def test_no_mentions_no_entities() -> None:
    assert resolve([Section("Nothing here", []), Section("", [], is_body=True)]) == []


@pytest.mark.parametrize(
    ("surface", "kind", "expected"),
    [
        ("the United Nations", ORG, "United Nations"),
        ("The Hague", LOC, "The Hague"),
        ("Russia's", LOC, "Russia"),
        ("U.S.", LOC, "U.S."),
        ("Kazakhstan.", LOC, "Kazakhstan"),
        ("Prime Minister John Major", PER, "John Major"),
        ("Shanghai Cooperation Organization (SCO", ORG, "Shanghai Cooperation Organization"),
        ("Russian", LOC, None),
        ("the", ORG, None),
        ("X", ORG, None),
    ],
)
def test_clean_form(surface: str, kind: EntityType, expected: str | None) -> None:
    cleaned = clean_form(Mention(0, len(surface), surface, kind), surface)
    assert (cleaned[0] if cleaned else None) == expected


def test_a_company_named_without_its_suffix_is_the_same_company() -> None:
    body = "Merrill Lynch & Co said on Monday that Merrill Lynch would cut jobs. Sony Corp and Sony agreed."
    mentions = mentions_of(
        body, {"Merrill Lynch & Co": ORG, "Merrill Lynch": PER, "Sony Corp": ORG, "Sony": ORG}
    )
    entities = by_name(resolve([Section(body, mentions, is_body=True)]))
    assert entities["Merrill Lynch & Co"].type is ORG
    assert "Merrill Lynch" in entities["Merrill Lynch & Co"].aliases
    assert "Merrill Lynch" not in entities
    assert "Sony" in entities  # a one-word name stays apart: it may be a person's or another firm's
