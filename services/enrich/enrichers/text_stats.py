"""Word count and reading time of the article body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.articles import Article
from services.enrich.enrichers import enricher

WORDS_PER_MINUTE = 230
MIN_READING_MINUTES = 0.1


def count_words(text: str) -> int:
    """Whitespace-separated tokens holding at least one letter or digit.

    "U.S.", "Russia-China" and "2024" are one word each; a lone dash or bullet is none.
    """
    return sum(1 for token in text.split() if any(char.isalnum() for char in token))


def reading_minutes(words: int) -> float:
    """Minutes at 230 words per minute, to one decimal; at least 0.1 for any text, 0 for none."""
    if words <= 0:
        return 0.0
    return max(MIN_READING_MINUTES, round(words / WORDS_PER_MINUTE, 1))


@enricher("word_count", "1")
def word_count(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Words in the body (title and caption excluded: they are not read as part of the story)."""
    return {"word_count": count_words(article.body)}


@enricher("reading_time", "1")
def reading_time(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Reading time from the word count, which must have run before."""
    words = fields.get("word_count")
    if not isinstance(words, int):
        raise ValueError("reading_time needs the word_count enricher to run first")
    return {"reading_time_minutes": reading_minutes(words)}
