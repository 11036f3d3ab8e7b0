from __future__ import annotations

from pathlib import Path

import pytest

from schemas.articles import Entity, EntityType
from services.enrich.enrichers.quotes import find_quotes, is_scare_quote, quote_spans, quotes, span_text
from services.ingest.normalize import normalize
from services.ingest.parsing import TextSubmission
from tests.unit.enrich.factories import article

SEED = Path(__file__).resolve().parents[3] / "deploy" / "samples" / "presstv-putin-xi-sco.txt"


def _person(name: str, *aliases: str) -> Entity:
    return Entity(
        name=name, type=EntityType.PERSON, mentions=1 + len(aliases), first_offset=0, aliases=list(aliases)
    )


def _pairs(body: str, entities: list[Entity] | None = None) -> list[tuple[str, str | None]]:
    """(first three words of each quote, speaker)."""
    return [
        (" ".join(found.text.split()[:3]), found.speaker.name if found.speaker else None)
        for found in find_quotes(body, entities or [])
    ]


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
    assert [speaker for _, speaker in _pairs(body)] == ["Nadia Petrova"]


def test_a_role_phrase_resolves_to_the_person_holding_that_title() -> None:
    body = (
        "Ruritania's President Anton Weber met his Freedonian counterpart Lena Ostrova in Astana.\n\n"
        '"Our partnership is the strongest it has been in decades," the Ruritanian president said.'
    )
    assert _pairs(body) == [("Our partnership is", "Anton Weber")]


def test_a_role_phrase_resolves_through_entity_aliases() -> None:
    body = 'The talks ran late. "We will sign the accord within a month," the Russian president said.'
    entities = [
        _person("Vladimir Putin", "Putin", "Russian President Vladimir Putin"),
        _person("Xi Jinping", "Xi"),
    ]
    assert _pairs(body, entities) == [("We will sign", "Vladimir Putin")]


def test_subject_told_object_attributes_to_the_subject() -> None:
    entities = [_person("Xi Jinping", "Xi"), _person("Vladimir Putin", "Putin")]
    body = 'The leaders met on Tuesday. Xi told Putin "the two sides should keep building trust for years."'
    assert _pairs(body, entities) == [("the two sides", "Xi Jinping")]
    after = 'The leaders met on Tuesday. "The two sides should keep building trust," Xi told Putin.'
    assert _pairs(after, entities) == [("The two sides", "Xi Jinping")]


def test_a_quote_continued_after_its_attribution_keeps_the_speaker() -> None:
    body = (
        'Tom Okafor, the harbour master, was blunt. "The channel is too shallow for these ships," he said. '
        '"We warned the council about it last spring."'
    )
    assert _pairs(body) == [("The channel is", "Tom Okafor"), ("We warned the", "Tom Okafor")]


def test_pronouns_resolve_to_the_most_recent_speaker_of_that_gender() -> None:
    body = (
        "Mr Daniel Reyes said the plan was sound. Ms Ana Lima disagreed.\n\n"
        '"The budget leaves nothing for the rural clinics," she said.\n\n'
        '"That is simply not true and the figures show it," he said.'
    )
    assert _pairs(body) == [("The budget leaves", "Ana Lima"), ("That is simply", "Daniel Reyes")]


def test_a_multi_paragraph_quote_is_one_quote() -> None:
    body = (
        'Coach Mira Santos was proud. She said: "We trained harder than anyone this winter.\n\n'
        '"Every player deserves the credit for this title."\n\n'
        "The team flies home on Sunday."
    )
    found = find_quotes(body)
    assert len(found) == 1
    assert found[0].speaker is not None and found[0].speaker.name == "Mira Santos"
    assert found[0].text.startswith("We trained") and found[0].text.endswith("for this title.")
    assert '"' not in found[0].text


def test_reopened_quote_within_one_paragraph_is_one_quote() -> None:
    body = (
        'Ms Jane Holt said: "We have doubled the grant. "We will double it again next year." Then she left.'
    )
    spans = quote_spans(body)
    assert len(spans) == 1
    assert span_text(body, spans[0]) == "We have doubled the grant. We will double it again next year."


@pytest.mark.parametrize(
    "phrase", ["hegemony", "special military operation", "no limits", "dialogue partners"]
)
def test_scare_quotes_of_up_to_four_words_are_not_quotes(phrase: str) -> None:
    assert is_scare_quote(phrase)
    body = f'Mr Paul Grant criticised the "{phrase}" approach, officials said.'
    assert find_quotes(body) == []


def test_a_short_complete_utterance_with_attribution_is_a_quote() -> None:
    assert _pairs('Ms Clara Voss was asked about the result. "It was perfect," she said.') == [
        ("It was perfect,", "Clara Voss")
    ]


def test_titles_of_works_are_not_quotes() -> None:
    assert is_scare_quote("The Return Of The Silver Lake Monster")
    assert find_quotes('Her new film "The Return Of The Silver Lake Monster" opens on Friday.') == []


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


def test_enricher_output_has_body_offsets() -> None:
    source = article(
        paragraphs=[
            "Mayor Lina Ortiz opened the bridge.",
            '"This bridge joins two halves of our city," she said.',
        ]
    )
    [quote] = quotes(source, {})["quotes"]
    assert (quote.speaker, quote.speaker_type) == ("Lina Ortiz", EntityType.PERSON)
    assert source.body[quote.offset :].startswith("This bridge joins")


@pytest.mark.skipif(not SEED.exists(), reason="the seed sample is not in this checkout")
@pytest.mark.parametrize("with_entities", [False, True])
def test_the_seed_article(with_entities: bool) -> None:
    seed = normalize(TextSubmission(SEED.read_text(encoding="utf-8")))
    entities = [_person("Vladimir Putin", "Putin"), _person("Xi Jinping", "Xi")] if with_entities else []
    found = quotes(seed, {"entities": entities})["quotes"]
    speakers = {quote.text.split()[0]: quote.speaker for quote in found}
    best_period = next(quote for quote in found if "best period in history" in quote.text)
    turbulent = next(quote for quote in found if "turbulent international situation" in quote.text)
    assert (best_period.speaker, turbulent.speaker) == ("Vladimir Putin", "Xi Jinping")
    ministry = next(quote for quote in found if quote.text.startswith("make contributions"))
    assert ministry.speaker in ("China's foreign ministry", None)
    assert not {"hegemony", "special", "no", "dialogue"} & set(speakers)
    assert all(seed.body[quote.offset :].startswith(quote.text[:20]) for quote in found)
