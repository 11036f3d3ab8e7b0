"""A one- or two-sentence extractive summary: whole sentences of the body, never cut, about 60 words at most.

News puts the gist first, so the score of a sentence is its TextRank centrality (how much it shares
with the other sentences) plus a lead bonus that halves with each position, plus its overlap with
the headline. Quotes, fragments without closing punctuation, captions and very short sentences are
not candidates. The chosen sentences are given in the order of the article.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.articles import Article
from services.enrich.enrichers import enricher
from services.enrich.enrichers.keywords import STOP_WORDS

MAX_WORDS = 60
MAX_SENTENCES = 2
MIN_SENTENCE_WORDS = 6
#: Only the opening of a long article is ranked: the summary sentences are found there anyway.
MAX_CANDIDATES = 40
#: A second sentence is added only if it scores at least this share of the first.
SECOND_SENTENCE_SHARE = 0.5
DAMPING = 0.85
ITERATIONS = 30

_ABBREVIATIONS_TEXT = """
    mr mrs ms dr prof st gen col lt sgt capt sen rep gov pres rev jr sr inc ltd co corp plc vs etc
    no jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u a.m p.m
"""
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_WORD = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
_CLOSED = re.compile(r"[.!?][\"”’)\]]*$")
_CAPTION = re.compile(r"\((?:photo|image|picture|file photo)\b[^)]*\)\s*$", re.IGNORECASE)
_QUOTE_OPEN = ("“", '"', "‘", "'")


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; a period after an abbreviation or an initial ("J. Smith") is not an end."""
    sentences: list[str] = []
    start = 0
    for boundary in _BOUNDARY.finditer(paragraph):
        before = paragraph[start : boundary.start()].rstrip('"”’)]')
        last_word = before.rsplit(None, 1)[-1].rstrip(".").lower() if before.split() else ""
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue
        sentences.append(paragraph[start : boundary.end()].strip())
        start = boundary.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


@dataclass(frozen=True)
class _Sentence:
    text: str
    position: int
    words: int
    content: frozenset[str]


def _content_words(text: str, stop_words: frozenset[str]) -> frozenset[str]:
    return frozenset(w for w in (m.lower() for m in _WORD.findall(text)) if w not in stop_words)


def _usable(text: str, caption: str | None) -> bool:
    words = len(_WORD.findall(text))
    return (
        words >= MIN_SENTENCE_WORDS
        and bool(_CLOSED.search(text))
        and not text.startswith(_QUOTE_OPEN)
        and not _CAPTION.search(text)
        and not (caption and text.strip() in caption)
    )


def _overlap(a: _Sentence, b: _Sentence) -> float:
    shared = len(a.content & b.content)
    if not shared:
        return 0.0
    return shared / (math.log(len(a.content) + 1) + math.log(len(b.content) + 1))


def _centrality(sentences: list[_Sentence]) -> list[float]:
    """TextRank: PageRank over the sentence graph weighted by word overlap, scaled to 0..1."""
    n = len(sentences)
    weights = [
        [_overlap(a, b) if i != j else 0.0 for j, b in enumerate(sentences)] for i, a in enumerate(sentences)
    ]
    out_sums = [sum(row) for row in weights]
    rank = [1.0 / n] * n
    for _ in range(ITERATIONS):
        rank = [
            (1 - DAMPING) / n
            + DAMPING * sum(weights[j][i] / out_sums[j] * rank[j] for j in range(n) if out_sums[j])
            for i in range(n)
        ]
    top = max(rank)
    return [value / top for value in rank] if top else rank


def summarize(
    title: str, paragraphs: list[str], caption: str | None = None, english: bool = True
) -> str | None:
    """One or two whole sentences of ``paragraphs`` (about ``MAX_WORDS`` words at most), or None."""
    stop_words = STOP_WORDS if english else frozenset()
    texts = [s for paragraph in paragraphs for s in split_sentences(paragraph) if _usable(s, caption)]
    sentences = [
        _Sentence(text, position, len(_WORD.findall(text)), _content_words(text, stop_words))
        for position, text in enumerate(texts[:MAX_CANDIDATES])
    ]
    if not sentences:
        return None
    headline = _content_words(title, stop_words)
    centrality = _centrality(sentences)

    def score(sentence: _Sentence) -> float:
        lead = 0.5**sentence.position
        title_overlap = len(sentence.content & headline) / len(headline) if headline else 0.0
        return centrality[sentence.position] + lead + 0.5 * title_overlap

    ranked = sorted(sentences, key=lambda s: (-score(s), s.position))
    fitting = [s for s in ranked if s.words <= MAX_WORDS]
    first = fitting[0] if fitting else ranked[0]  # a single long sentence rather than a cut one
    chosen = [first]
    for candidate in fitting:
        if len(chosen) == MAX_SENTENCES:
            break
        if candidate is first or score(candidate) < SECOND_SENTENCE_SHARE * score(first):
            continue
        if sum(s.words for s in chosen) + candidate.words <= MAX_WORDS:
            chosen.append(candidate)
    return " ".join(s.text for s in sorted(chosen, key=lambda s: s.position))


@enricher("summary", "1")
def summary(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Summary from the body; the caption is never used."""
    english = fields.get("language") in (None, "en")
    return {"summary": summarize(article.title, article.paragraphs, article.caption, english)}
