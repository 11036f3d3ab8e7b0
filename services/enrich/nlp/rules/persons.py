"""Person rules: cues before and after a name, titles and the shape of a personal name."""

from __future__ import annotations

import re

from services.enrich.lexicon.entity_lists import Gazetteers
from services.enrich.lexicon.names import PERSON_CUES, PERSON_TITLES, STRONG_TITLES
from services.enrich.lexicon.organisations import ORG_LAST_WORDS
from services.enrich.lexicon.place_names import LOC_LAST_WORDS
from services.enrich.lexicon.words import FUNCTION_WORDS, OTHER_LAST_WORDS
from services.enrich.nlp.rules.context import TextContext
from services.enrich.nlp.rules.tokens import PARTICLES, PREFIXED_NAME, Token

#: Arabic and Urdu compound names: "Inzamam-ul-Haq", "Ata-ur-Rehman", "Abdul-Karim", "Nasr-el-Din".
COMPOUND_NAME = re.compile(
    r"^(?:[A-Z][a-z]+-(?:ul|ur|ud|us|al|el|ad|ar|as|bin|ibn)-[A-Z][a-z]+|Abd[ua]l?-[A-Z][a-z]+)$"
)


class PersonRules(TextContext):
    """Context that makes a name a person's."""

    def _is_portfolio_word(self, token: Token) -> bool:
        lower = token.text.lower()
        return (
            self.lists.is_common_word(token.text)
            and lower not in ORG_LAST_WORDS
            and token.text not in self.lists.surnames
            and not self.lists.is_place(token.text)
        )

    def _person_cue(self, span: list[Token]) -> bool:
        position = self.index.get(id(span[0]))
        if position is None:
            return False
        previous = self.tokens[position - 1] if position > 0 else None
        if previous is not None and previous.text.lower().rstrip(".") in PERSON_CUES:
            return True
        if previous is not None and previous.sentence_start and previous.text.lower() in STRONG_TITLES:
            return True  # "King Birendra left": a title opening the sentence, also seen in lower case
        end = self.index.get(id(span[-1]))
        if end is not None and end + 3 < len(self.tokens):
            comma, age, closing = self.tokens[end + 1 : end + 4]
            if comma.text == "," and age.kind == "number" and age.text.isdigit() and closing.text == ",":
                return 15 <= int(age.text) <= 110
        return False

    def _has_name_words(self, span: list[Token]) -> bool:
        """Words that make a capitalised sequence something other than a person's name.

        A surname may be a small town's name ("Duffy Waldorf"), but a big city's at the end
        makes a club or company ("Dynamo Moscow", "Bayern Munich").
        """
        lists = self.lists
        if lists.is_major_place(span[-1].text) or lists.is_place(span[0].text):
            return True
        for token in span:
            lower = token.text.lower()
            if (
                lower in ORG_LAST_WORDS
                or lower in LOC_LAST_WORDS
                or lower in OTHER_LAST_WORDS
                or lower in FUNCTION_WORDS
                or lists.is_demonym(token.text)
            ):
                return True
        return False


def is_title(token: Token) -> bool:
    return token.kind != "initial" and token.text.lower().rstrip(".") in PERSON_TITLES


def strip_demonyms(span: list[Token], lists: Gazetteers, keep: bool) -> list[Token]:
    """Leading nationality words ('Russian President', 'Chinese Xi'); kept in 'Chinese Communist Party'."""
    if keep:
        return span
    if _given_name_like_demonym(span, lists):
        return span  # "Christian Ziege": a given name that also names a faith or a people
    position = 0
    while position < len(span) and (
        lists.is_demonym(span[position].text)
        or (span[position].text.lower() in FUNCTION_WORDS and not span[position].text.isupper())
    ):
        position += 1
    return span[position:]


def _given_name_like_demonym(span: list[Token], lists: Gazetteers) -> bool:
    """A demonym that is also a given name before one unknown name word: 'Christian Ziege'."""
    if len(span) != 2 or span[0].text not in lists.first_names or not lists.is_demonym(span[0].text):
        return False
    word = span[1].text
    return (
        word[:1].isupper()
        and not word.isupper()
        and not lists.is_common_word(word)
        and not lists.is_place(word)
        and not lists.is_demonym(word)
    )


def looks_like_name_part(token: Token) -> bool:
    """'Jinping', 'McCague', "O'Gorman", 'de', 'Anne-Gaelle' - not 'NATO' or 'Nations' plural of a word."""
    word = token.text
    return (
        (word[:1].isupper() and not word.isupper())
        or word in PARTICLES
        or token.kind in ("initial", "abbr")
        or bool(PREFIXED_NAME.match(word))
    )
