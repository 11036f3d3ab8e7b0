"""Tokens of a text: words, initials, abbreviations, numbers, punctuation; lines and headlines."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.place_names import US_STATE_ABBREVIATIONS
from services.enrich.lexicon.words import FUNCTION_WORDS

_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Gen|Col|Lt|Sgt|Capt|Sen|Rep|Gov|Prof|St|Jr|Sr|Rev|Maj|Adm|Inc|Corp|Co|Ltd|Bros|Mt|"
    + "|".join(abbreviation.rstrip(".") for abbreviation in US_STATE_ABBREVIATIONS)
)
_TOKEN = re.compile(
    rf"""
    (?P<abbr>(?:[A-Z]\.){{2,}}|(?:{_ABBREVIATIONS})\.)
    |(?P<initial>[A-Z]\.)
    |(?P<word>[^\W\d_](?:\w|&(?=\w)|['’](?=[^\W\d_])|[-.](?=[^\W_]))*)
    |(?P<number>\d[\d.,:/-]*)
    |(?P<other>\S)
    """,
    re.VERBOSE,
)
_SENTENCE_END = frozenset(".!?;:")
_OPENERS = frozenset("\"“‘'([•")
#: Lower-case words allowed inside a name ("Bank of England", "Ludwig van Beethoven", "Bashar al-Assad").
PARTICLES = word_set("de da van von der den del di du le la bin ibn al el y dos das do")
OF_WORDS = frozenset({"of", "for"})
_NAME_PREFIXES = frozenset({"al", "el", "bin", "ibn", "abu", "ben", "d", "o"})
_DROP_PREFIXES = frozenset({"ex", "pro", "anti", "non", "post", "pre", "mid", "neo", "sub", "trans", "pan"})
PREFIXED_NAME = re.compile(r"^(?:al|el|bin|ibn|abu|ben)-[A-Z]")


@dataclass(slots=True)
class Token:
    """A word, initial, abbreviation, number or punctuation mark with its offsets and position."""

    text: str
    start: int
    end: int
    kind: str
    sentence_start: bool = False
    line: int = 0

    @property
    def capitalised(self) -> bool:
        return self.kind in ("word", "abbr", "initial") and self.text[:1].isupper()


def tokenize(text: str) -> list[Token]:
    """Words, initials, abbreviations, numbers and punctuation, with possessives and hyphens split."""
    tokens: list[Token] = []
    line = 0
    previous_end = 0
    sentence_start = True
    for match in _TOKEN.finditer(text):
        gap = text[previous_end : match.start()]
        if "\n" in gap:
            line += gap.count("\n")
            sentence_start = True
        previous_end = match.end()
        kind = match.lastgroup or "other"
        for token in _split_word(match.group(), match.start(), kind):
            token.line = line
            token.sentence_start = sentence_start
            tokens.append(token)
            if token.kind == "other" and token.text in _OPENERS:
                sentence_start = True  # "(Photo by ...)", quotes: capitalised as at a sentence start
                continue
            sentence_start = token.kind == "other" and token.text in _SENTENCE_END
    return tokens


def _split_word(text: str, start: int, kind: str) -> list[Token]:
    if kind != "word":
        return [Token(text, start, start + len(text), kind)]
    pieces: list[Token] = []
    if len(text) > 2 and text[-2] in "'’" and text[-1] in "sS":
        pieces.append(Token(text[-2:], start + len(text) - 2, start + len(text), "other"))
        text = text[:-2]
    if "-" in text:
        pieces[:0] = _split_hyphenated(text, start)
    else:
        pieces.insert(0, Token(text, start, start + len(text), "word"))
    return pieces


def _split_hyphenated(text: str, start: int) -> list[Token]:
    """'US-led' -> 'US'; 'ex-Soviet' -> 'Soviet'; 'al-Assad' stays a word.

    Capitalised parts ('Russia-China', 'Chester-le-Street' is not) make one "hyphenated" token that
    the classifier splits when every part is a place.
    """
    parts = text.split("-")
    first = parts[0]
    if first.lower() in _NAME_PREFIXES and len(parts) > 1 and parts[1][:1].isupper():
        return [Token(text, start, start + len(text), "word")]
    if first.lower() in _DROP_PREFIXES and len(parts) > 1:
        rest = text[len(first) + 1 :]
        return _split_hyphenated(rest, start + len(first) + 1) if rest else []
    if first[:1].isupper() and len(parts) > 1 and all(part[:1].isupper() for part in parts):
        return [Token(text, start, start + len(text), "hyphenated")]
    if first[:1].isupper() and all(part[:1].islower() for part in parts[1:] if part):
        return [Token(first, start, start + len(first), "word")]
    return [Token(text, start, start + len(text), "word")]


def split_lines(tokens: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if current and token.line != current[-1].line:
            lines.append(current)
            current = []
        current.append(token)
    if current:
        lines.append(current)
    return lines


def is_headline(line: list[Token], title_case_counts: bool) -> bool:
    """All capitals, or (for a one-line text: a title) Title Case, so case says nothing about names."""
    words = [token for token in line if token.kind in ("word", "hyphenated") and token.text[:1].isalpha()]
    if not words or (len(words) == 1 and len(words[0].text) < 4):
        return False
    upper = sum(1 for token in words if token.text.isupper() and len(token.text) > 1)
    if upper >= 0.8 * len(words):
        return True
    if not title_case_counts or len(words) < 3:
        return False
    lowercase = [token for token in words if not token.text[:1].isupper()]
    # Title Case leaves only short function words in lower case; prose has lower-case verbs and nouns.
    return len(lowercase) < len(words) / 2 and all(
        token.text in FUNCTION_WORDS and len(token.text) <= 4 for token in lowercase
    )


def adjacent(text: str, tokens: list[Token]) -> bool:
    """Consecutive tokens separated only by spaces (no line break, no punctuation)."""
    return all(text[left.end : right.start].strip(" \t") == "" for left, right in itertools.pairwise(tokens))


def trim_connectors(span: list[Token]) -> list[Token]:
    """Without the lower-case links ('of the', 'and') a split left at either end."""
    while span and not _holds_a_name(span[-1]):
        span = span[:-1]
    while span and not _holds_a_name(span[0]):
        span = span[1:]
    return span


def _holds_a_name(token: Token) -> bool:
    return token.capitalised or token.kind == "hyphenated" or bool(PREFIXED_NAME.match(token.text))
