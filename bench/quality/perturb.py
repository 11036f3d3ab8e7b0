"""Lightly edited copies of an article, as syndication and re-publishing produce them (seeded, repeatable).

Each kind of edit is a function ``(rng, title, paragraphs) -> (title, paragraphs)``:

* ``headline``: a new headline, body untouched (a syndicated copy).
* ``drop``: one or two sentences removed (trimmed to fit a page).
* ``reorder``: two paragraphs swapped, or two sentences when there is one paragraph.
* ``words``: a few words replaced or deleted (copy editing).
* ``wrapped``: a dateline in front and a credit line at the end (an agency copy).
* ``mixed``: headline, one dropped sentence, a reorder and a few word edits together.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

Text = tuple[str, list[str]]
Perturbation = Callable[[random.Random, str, list[str]], Text]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“']?[A-Z0-9])")
_HEADLINE_PREFIXES = ("UPDATE: ", "Analysis: ", "Breaking: ", "")  # with a word dropped
_HEADLINE_SUFFIXES = (" - report", " (updated)", " | World", "")
_REPLACEMENTS = ("also", "reportedly", "now", "still", "however", "new", "said")


def sentences(paragraph: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(paragraph.strip()) if part]


def headline(rng: random.Random, title: str, paragraphs: list[str]) -> Text:
    words = title.split()
    if len(words) > 3:
        del words[rng.randrange(len(words))]
    return f"{rng.choice(_HEADLINE_PREFIXES)}{' '.join(words)}{rng.choice(_HEADLINE_SUFFIXES)}", list(
        paragraphs
    )


def drop(rng: random.Random, title: str, paragraphs: list[str], count: int | None = None) -> Text:
    located = [(p, s) for p, paragraph in enumerate(paragraphs) for s in range(len(sentences(paragraph)))]
    if len(located) < 3:
        return title, list(paragraphs)
    doomed = set(rng.sample(located, min(count or rng.choice((1, 2)), len(located) - 1)))
    kept = []
    for p, paragraph in enumerate(paragraphs):
        remaining = [sentence for s, sentence in enumerate(sentences(paragraph)) if (p, s) not in doomed]
        if remaining:
            kept.append(" ".join(remaining))
    return title, kept


def reorder(rng: random.Random, title: str, paragraphs: list[str]) -> Text:
    if len(paragraphs) >= 2:
        moved = list(paragraphs)
        i, j = rng.sample(range(len(moved)), 2)
        moved[i], moved[j] = moved[j], moved[i]
        return title, moved
    parts = sentences(paragraphs[0]) if paragraphs else []
    if len(parts) < 2:
        return title, list(paragraphs)
    i, j = rng.sample(range(len(parts)), 2)
    parts[i], parts[j] = parts[j], parts[i]
    return title, [" ".join(parts)]


def words(rng: random.Random, title: str, paragraphs: list[str], edits: int = 4) -> Text:
    edited = [paragraph.split() for paragraph in paragraphs]
    positions = [(p, w) for p, tokens in enumerate(edited) for w in range(len(tokens))]
    for p, w in sorted(rng.sample(positions, min(edits, len(positions))), reverse=True):
        if rng.random() < 0.5:
            del edited[p][w]
        else:
            edited[p][w] = rng.choice(_REPLACEMENTS)
    return title, [" ".join(tokens) for tokens in edited if tokens]


def wrapped(rng: random.Random, title: str, paragraphs: list[str]) -> Text:
    city = rng.choice(("LONDON", "NEW YORK", "PARIS", "SYDNEY"))
    agency = rng.choice(("Example Wire", "Sample Press", "Demo Agency"))
    body = list(paragraphs)
    if body:
        body[0] = f"{city} ({agency}) - {body[0]}"
    return title, [*body, f"Copyright {agency}. All rights reserved."]


def mixed(rng: random.Random, title: str, paragraphs: list[str]) -> Text:
    title, paragraphs = headline(rng, title, paragraphs)
    title, paragraphs = drop(rng, title, paragraphs, count=1)
    title, paragraphs = reorder(rng, title, paragraphs)
    return words(rng, title, paragraphs, edits=3)


PERTURBATIONS: dict[str, Perturbation] = {
    "headline": headline,
    "drop": drop,
    "reorder": reorder,
    "words": words,
    "wrapped": wrapped,
    "mixed": mixed,
}


def perturb(kind: str, seed: int, title: str, paragraphs: list[str]) -> Text:
    """The ``kind`` of copy of an article; the same seed always gives the same copy."""
    return PERTURBATIONS[kind](random.Random(seed), title, list(paragraphs))
