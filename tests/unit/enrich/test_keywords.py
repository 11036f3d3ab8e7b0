"""Key phrases: multi-word names and noun phrases first, no stop words, deterministic."""

from __future__ import annotations

from services.enrich.enrichers.keywords import (
    MAX_KEYWORDS,
    STOP_WORDS,
    candidate_phrases,
    extract_keywords,
    keywords,
)
from tests.unit.enrich.factories import FRENCH_PARAGRAPH, article

TITLE = "Harbour Authority approves new container terminal in Port Elwood"
PARAGRAPHS = [
    "The Harbour Authority of Port Elwood approved a new container terminal on Tuesday, ending a "
    "two-year dispute with fishing crews over the northern breakwater.",
    "The container terminal will double the port's capacity and is expected to open in 2027, the "
    "authority's chair, Marta Lindqvist, said after the vote.",
    "Fishing crews had argued that dredging for the container terminal would damage the breakwater "
    "and the spawning grounds behind it, a claim Marta Lindqvist rejected.",
    "Marta Lindqvist said the Harbour Authority would pay for a new fishing harbour on the southern "
    "shore before construction of the container terminal begins.",
]


def test_candidates_are_split_at_stop_words_punctuation_and_possessives() -> None:
    phrases = candidate_phrases("The chair of the Harbour Authority's board, Marta Lindqvist, resigned.")
    assert ["Harbour", "Authority"] in phrases
    assert ["board"] in phrases
    assert ["Marta", "Lindqvist"] in phrases
    assert all(word.lower() not in STOP_WORDS for phrase in phrases for word in phrase)
    assert ["resigned"] not in phrases  # a lower-case past tense is a verb, not a topic


def test_recurring_names_and_noun_phrases_rank_first() -> None:
    found = extract_keywords(TITLE, "\n\n".join(PARAGRAPHS))
    assert 5 <= len(found) <= MAX_KEYWORDS
    assert "container terminal" in found[:3]
    assert {"Harbour Authority", "Marta Lindqvist", "Port Elwood"} <= set(found)
    assert sum(" " in phrase for phrase in found) >= len(found) // 2


def test_no_keyword_is_only_stop_words_and_none_repeats_a_chosen_phrase() -> None:
    found = extract_keywords(TITLE, "\n\n".join(PARAGRAPHS))
    lowered = [phrase.lower() for phrase in found]
    assert not [p for p in lowered if all(word in STOP_WORDS for word in p.split())]
    assert len(set(lowered)) == len(lowered)
    singles = [p for p in lowered if " " not in p]
    assert not [s for s in singles if any(s in other.split() for other in lowered if " " in other)]


def test_keywords_are_deterministic_and_keep_the_texts_spelling() -> None:
    runs = {tuple(extract_keywords(TITLE, "\n\n".join(PARAGRAPHS))) for _ in range(3)}
    assert len(runs) == 1
    assert "Marta Lindqvist" in next(iter(runs))


def test_empty_and_stop_word_only_texts_have_no_keywords() -> None:
    assert extract_keywords("", "") == []
    assert extract_keywords("The", "It was the one that they said would be there.") == []


def test_enricher_skips_languages_other_than_english() -> None:
    english = article(title=TITLE, paragraphs=PARAGRAPHS)
    assert keywords(english, {"language": "en"})["keywords"]
    french = article(title="Sommet régional", paragraphs=[FRENCH_PARAGRAPH])
    assert keywords(french, {"language": "fr"}) == {"keywords": []}
    assert keywords.name == "keywords" and keywords.version
