from __future__ import annotations

import pytest

from services.enrich.enrichers.text_stats import (
    MIN_READING_MINUTES,
    WORDS_PER_MINUTE,
    count_words,
    reading_minutes,
    reading_time,
    word_count,
)
from tests.unit.enrich.factories import article


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The quick brown fox jumps over the lazy dog.", 9),
        ("U.S. officials — in Astana — met on July 3, 2024.", 9),
        ("Russia-China ties\n\nare   at   a peak", 6),
        ("  — • ...  ", 0),
        ("", 0),
    ],
)
def test_count_words_counts_tokens_with_a_letter_or_digit(text: str, expected: int) -> None:
    assert count_words(text) == expected


@pytest.mark.parametrize(
    ("words", "minutes"),
    [
        (0, 0.0),
        (1, MIN_READING_MINUTES),
        (11, MIN_READING_MINUTES),
        (23, 0.1),
        (230, 1.0),
        (500, 2.2),
        (1150, 5.0),
    ],
)
def test_reading_minutes_at_230_wpm_one_decimal_minimum_a_tenth(words: int, minutes: float) -> None:
    assert WORDS_PER_MINUTE == 230
    assert reading_minutes(words) == minutes


def test_word_count_counts_the_body_only() -> None:
    source = article(
        title="A title of many words that are not counted",
        paragraphs=["One two three.", "Four, five — six."],
        caption="Caption words are not counted either",
    )
    assert word_count(source, {}) == {"word_count": 6}


def test_reading_time_uses_the_word_count_already_computed() -> None:
    source = article(paragraphs=["short"])
    assert reading_time(source, {"word_count": 460}) == {"reading_time_minutes": 2.0}


def test_reading_time_without_word_count_fails_loudly() -> None:
    with pytest.raises(ValueError, match="word_count"):
        reading_time(article(), {})


def test_enrichers_are_named_and_versioned() -> None:
    assert (word_count.name, reading_time.name) == ("word_count", "reading_time")
    assert word_count.version and reading_time.version
