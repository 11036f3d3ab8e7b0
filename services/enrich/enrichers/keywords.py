"""Key phrases of an English article: the recurring multi-word names and noun phrases, best first.

A RAKE-style splitter cuts the title and body into candidate phrases at stop words, punctuation and
digits-only tokens; each candidate scores by how often it occurs, how important its words are in
the whole text (word frequency, title words counting extra) and how early it first appears.
A part of a longer candidate counts as half an occurrence, so a phrase recurring inside longer runs
is found; a phrase overlapping a better one (one inside the other) is left out. Multi-word phrases
and proper names get a bonus. Deterministic: ties are broken by first position, then alphabetically.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.articles import Article
from services.enrich.enrichers import enricher

MAX_KEYWORDS = 8
MIN_KEYWORDS = 5
MAX_PHRASE_WORDS = 4
#: Phrases scoring below this share of the best one are left out once ``MIN_KEYWORDS`` are chosen.
RELATIVE_CUTOFF = 0.25
TITLE_WEIGHT = 2.0
PART_WEIGHT = 0.5

_STOP_WORDS_TEXT = """
    a about above according across after afterwards again against ago ahead all almost along already
    also although always am among amid an and another any anyone anything are around as at back be
    became because become been before being below beside besides between both but by can cannot
    could did do does doing done down during each either else enough especially even ever every few
    for former formerly from further had has have having he her here hers herself him himself his
    how however i if in including instead into is it its itself just last later least less like made
    make makes many may me meanwhile might more most mostly mr mrs ms much must my myself near
    nearly neither never nevertheless next no nobody none nor not nothing now of off often on once
    one only onto or other others otherwise our ours ourselves out over own per perhaps put rather
    really said same say saying says see seem seemed seems several she should since so some
    something sometimes still such than that the their theirs them themselves then there thereby
    therefore these they this those though through throughout thus to together told too toward
    towards under until up upon us very via was we well were what whatever when whenever where
    whereas whether which while who whoever whole whom whose why will with within without would yet
    you your yours yourself yourselves year years week weeks day days told tell tells asked added
    adding described describing two three four five first second third wednesday thursday friday
    saturday sunday monday tuesday today yesterday tomorrow following include includes believe
    believes insist insists rose rise rises fell fall falls try tries use uses help helps allow
    allows affect affects take takes took get gets got go goes went come comes came want wants need
    needs keep keeps give gives gave hold holds think thinks know knows expect expects continue
    continues plan plans hope hopes urge urges warn warns claim claims suggest suggests remain
    remains become becomes seen known set sets called
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# Words, keeping inner apostrophes, hyphens and dots ("Russia-China", "U.S.", "Xi's").
_TOKEN = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?|[^\w\s]", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


@dataclass
class _Candidate:
    words: tuple[str, ...]
    first_position: int
    count: float = 0.0
    forms: Counter[str] = field(default_factory=Counter)


def _clean(token: str) -> str:
    return _POSSESSIVE.sub("", token)


def _is_word(token: str) -> bool:
    return any(char.isalpha() for char in token)


def _past_tense(token: str) -> bool:
    """A lower-case word in -ed ("jumped", "tried") is a verb far more often than part of a name.

    Capitalised ones are kept: "United Nations", "Reserved Matters".
    """
    return token.islower() and len(token) > 4 and token.endswith("ed")


def candidate_phrases(text: str) -> list[list[str]]:
    """Runs of content words between stop words and punctuation, at most ``MAX_PHRASE_WORDS`` long."""
    phrases: list[list[str]] = []
    current: list[str] = []
    for raw in _TOKEN.findall(text):
        token = _clean(raw)
        possessive = token != raw
        if not _is_word(token) or token.lower() in STOP_WORDS or len(token) < 2 or _past_tense(token):
            if current:
                phrases.append(current)
            current = []
            continue
        current.append(token)
        if possessive:  # "China's foreign ministry": the owner and the thing are separate phrases
            phrases.append(current)
            current = []
    if current:
        phrases.append(current)
    return [part for phrase in phrases for part in _split_long(phrase)]


def _split_long(phrase: list[str]) -> list[list[str]]:
    """A run longer than ``MAX_PHRASE_WORDS`` (a headline, a list without commas) is cut where the
    capitalisation changes, so that "Ad sales boost Time Warner profit" yields "Time Warner"."""
    if len(phrase) <= MAX_PHRASE_WORDS:
        return [phrase]
    parts: list[list[str]] = [[phrase[0]]]
    for word in phrase[1:]:
        if word[:1].isupper() == parts[-1][-1][:1].isupper():
            parts[-1].append(word)
        else:
            parts.append([word])
    return [part[:MAX_PHRASE_WORDS] for part in parts]


def extract_keywords(title: str, body: str, limit: int = MAX_KEYWORDS) -> list[str]:
    """Up to ``limit`` key phrases of an English text, best first, each in its most frequent spelling."""
    phrases = [(phrase, True) for phrase in candidate_phrases(title)]
    phrases += [(phrase, False) for phrase in candidate_phrases(body)]
    word_weight: defaultdict[str, float] = defaultdict(float)
    for phrase, in_title in phrases:
        for word in phrase:
            word_weight[word.lower()] += TITLE_WEIGHT if in_title else 1.0
    candidates: dict[tuple[str, ...], _Candidate] = {}
    for position, (phrase, _) in enumerate(phrases):
        # A part of a longer run counts half: "container terminal" recurs inside "new container terminal".
        for start in range(len(phrase)):
            for end in range(start + 1, len(phrase) + 1):
                part = phrase[start:end]
                key = tuple(word.lower() for word in part)
                candidate = candidates.setdefault(key, _Candidate(key, position))
                whole = end - start == len(phrase)
                candidate.count += 1.0 if whole else PART_WEIGHT
                candidate.forms[" ".join(part)] += 1
    if not candidates:
        return []
    total = len(phrases)

    def score(candidate: _Candidate) -> float:
        importance = sum(word_weight[word] for word in candidate.words) / len(candidate.words)
        length_bonus = 1.0 + 0.8 * (len(candidate.words) - 1)
        # A phrase in the opening third of the text counts up to twice as much as one at the end.
        earliness = 2.0 - candidate.first_position / max(total, 1)
        proper = 1.2 if _looks_proper(candidate) else 1.0
        return math.sqrt(candidate.count) * importance * length_bonus * earliness * proper

    ranked = sorted(candidates.values(), key=lambda c: (-score(c), c.first_position, " ".join(c.words)))
    chosen: list[_Candidate] = []
    best = score(ranked[0])
    for candidate in ranked:
        if len(chosen) >= limit:
            break
        if len(chosen) >= MIN_KEYWORDS and score(candidate) < RELATIVE_CUTOFF * best:
            break
        if len(candidate.words) == 1 and len(candidate.words[0]) < 3:
            continue
        # Higher-ranked phrases already say it: no part of one, nor one of them inside a longer phrase.
        if any(
            _covers(other.words, candidate.words) or _covers(candidate.words, other.words) for other in chosen
        ):
            continue
        chosen.append(candidate)
    return [_display(candidate) for candidate in chosen]


def _covers(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    """Whether the words of ``shorter`` appear in ``longer`` as a contiguous run."""
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def _looks_proper(candidate: _Candidate) -> bool:
    form = candidate.forms.most_common(1)[0][0]
    return all(word[:1].isupper() for word in form.split())


def _display(candidate: _Candidate) -> str:
    # Most frequent spelling; ties go to the capitalised one ("Astana" over "astana" in a headline).
    return min(candidate.forms.items(), key=lambda item: (-item[1], item[0]))[0]


@enricher("keywords", "1")
def keywords(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Key phrases of English articles (the stop words are English); none for other languages."""
    if fields.get("language") not in (None, "en"):
        return {"keywords": []}
    return {"keywords": extract_keywords(article.title, article.body)}
