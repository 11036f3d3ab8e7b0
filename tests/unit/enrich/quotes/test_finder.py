from __future__ import annotations

import pytest

from services.enrich.quotes.finder import find_quotes
from services.enrich.quotes.spans import is_scare_quote
from tests.unit.enrich.quotes.helpers import pairs


def test_a_multi_paragraph_quote_is_one_quote() -> None:
    body = (
        'Coach Mira Santos was proud. She said: "We trained harder than anyone this winter.\n\n'
        '"Every player deserves the credit for this title."\n\n'
        "The team flies home on Sunday."
    )
    found = find_quotes(body)
    assert len(found) == 1
    assert found[0].speaker is not None and found[0].speaker.name == "Mira Santos"
    assert (
        found[0].text
        == "We trained harder than anyone this winter. Every player deserves the credit for this title."
    )
    assert '"' not in found[0].text


@pytest.mark.parametrize(
    "phrase", ["hegemony", "special military operation", "no limits", "dialogue partners"]
)
def test_scare_quotes_of_up_to_four_words_are_not_quotes(phrase: str) -> None:
    assert is_scare_quote(phrase)
    body = f'Mr Paul Grant criticised the "{phrase}" approach, officials said.'
    assert find_quotes(body) == []


def test_a_short_complete_utterance_with_attribution_is_a_quote() -> None:
    assert pairs('Ms Clara Voss was asked about the result. "It was perfect," she said.') == [
        ("It was perfect,", "Clara Voss")
    ]


def test_titles_of_works_are_not_quotes() -> None:
    assert is_scare_quote("The Return Of The Silver Lake Monster")
    assert find_quotes('Her new film "The Return Of The Silver Lake Monster" opens on Friday.') == []
