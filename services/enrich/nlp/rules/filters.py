"""Clean-up filters: ordinary words, field and row labels, codes and currencies that name nothing."""

from __future__ import annotations

from functools import cache

from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.organisations import ORG_HEADS, ORG_LAST_WORDS
from services.enrich.nlp.rules.sports import SportsRules
from services.enrich.nlp.rules.tokens import Token

#: Codes after a name in tables and bylines ("Gencor YR EPS", "Mexico GDP", "Sabourin CFO", "Newsroom Tel").
TRAILING_CODES = frozenset(
    {"EPS", "DIV", "YR", "NAV", "GDP", "GNP", "CPI", "PPI", "CEO", "CFO", "COO", "RBI", "Tel", "Fax"}
)
#: Days in capitals opening a row of a table of company dates ("MON Gencor YR EPS 93.12").
WEEKDAY_CODES = frozenset({"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"})
#: Carmakers whose name before a model's names a car, not a company ("a Toyota Celica", "Ford Escort").
CAR_MAKERS = word_set(
    """
    Toyota Nissan Honda Mitsubishi Subaru Mazda Suzuki Daihatsu Isuzu Lexus Ford Opel Vauxhall
    Volkswagen VW Audi BMW Peugeot Renault Citroen Fiat Seat Skoda Volvo Saab Porsche Lancia Hyundai
    Kia Daewoo Chevrolet Chrysler Dodge Jeep Cadillac Buick Pontiac Lada Proton
    """
)
#: Words after a carmaker that make a company or a team, not a model ("Toyota Motor", "Ford Credit").
_MAKER_BUSINESS = frozenset(
    {"motor", "motors", "credit", "finance", "team", "racing", "sport", "sports", "dealers", "workers"}
)
#: Verbs after a sentence's first word that make an unknown word its subject ("Reuters has").
AUXILIARIES = word_set("has have had is was are were will would could can may might did does do")
SPEECH_VERBS = word_set("said says reported reports told tells added announced denied")


class CleanUpFilters(SportsRules):
    """Capitalised words that are labels or ordinary words, not names."""

    #: Acronyms of lower-case terms in this text, found on first use.
    lower_case_terms: set[str] | None = None

    def _without_table_codes(self, span: list[Token]) -> list[Token]:
        """'MON Gencor YR EPS N / A' -> 'Gencor': a row's day, figure codes and a 'N/A' after a name."""
        if len(span) > 1 and span[0].text in WEEKDAY_CODES and not span[1].text.isupper():
            span = span[1:]
        end = self.index.get(id(span[-1]))
        if (
            len(span) > 1
            and len(span[-1].text) == 1
            and end is not None
            and end + 1 < len(self.tokens)
            and self.tokens[end + 1].text == "/"
        ):
            span = span[:-1]  # "N / A": not available
        while len(span) > 1 and span[-1].text in TRAILING_CODES and not span[0].text.isupper():
            span = span[:-1]  # "Gencor YR EPS": figure codes after a name in a table
        return span

    def _abbreviates_lower_case_words(self, token: Token) -> bool:
        """An acronym the text spells out in lower-case words: 'mad cow disease (MCD)', then 'MCD'."""
        if self.lower_case_terms is None:
            self.lower_case_terms = {
                candidate.text for candidate in self.tokens if self._defined_by_lower_case_words(candidate)
            }
        return token.text in self.lower_case_terms

    def _defined_by_lower_case_words(self, token: Token) -> bool:
        position = self.index[id(token)]
        letters = token.text.rstrip("s")
        if not (2 <= len(letters) <= 6 and letters.isupper()) or position < len(letters) + 1:
            return False
        if position + 1 >= len(self.tokens) or self.tokens[position - 1].text != "(":
            return False
        words = self.tokens[position - 1 - len(letters) : position - 1]
        return (
            self.tokens[position + 1].text == ")"
            and all(word.kind == "word" and word.text.islower() for word in words)
            and "".join(word.text[0] for word in words) == letters.lower()
        )

    def _is_car_model(self, span: list[Token]) -> bool:
        """'Toyota Celica', 'Ford Escort': a carmaker and a model name, which is a product."""
        if len(span) != 2 or span[0].text not in CAR_MAKERS:
            return False
        model = span[1].text
        lower = model.lower()
        _, after = self._neighbours(span)
        return (
            lower not in _MAKER_BUSINESS
            and lower not in ORG_LAST_WORDS
            and not self.lists.is_place(model)
            and not self.lists.is_demonym(model)
            and not (after and after[0].text == "(")  # "Nissan Kapeta (26th)": a scorer in results
        )

    def _is_field_label(self, span: list[Token]) -> bool:
        """Ordinary words opening a line and followed by a colon: the label of a field, not a name."""
        end = self.index.get(id(span[-1]))
        if end is None or end + 1 >= len(self.tokens):
            return False
        return (
            self._opens_line(span)
            and self.tokens[end + 1].text == ":"
            and all(self.lists.is_common_word(token.text) for token in span)
        )

    def _is_row_label(self, span: list[Token]) -> bool:
        """Ordinary words labelling a row of figures ('Operating Income', 'Cash Equivalents'), no team."""
        numbers, lowercase = self.line_stats.get(span[-1].line, (0, 0))
        return (
            numbers >= 2
            and lowercase <= 4
            and not self._is_team(span)
            and not (len(span) > 1 and span[0].text in self.lists.first_names)  # "Barry Lane 68 70"
            and all(self.lists.is_common_word(token.text) for token in span)
            and not self.lists.is_place(self._surface(span))
        )

    def _opens_with_ordinary_word(self, span: list[Token]) -> bool:
        lists = self.lists
        word = span[0].text
        return (
            len(span) == 2
            and lists.is_common_word(word)
            and not lists.is_common_word(span[1].text)
            and not word.isupper()
            and word not in lists.first_names
            and word not in lists.surnames
            and not lists.is_place(self._surface(span[:2]))
            and not lists.is_place(word)
            and word.lower() not in ORG_HEADS
        )

    def _unknown_subject(self, token: Token) -> bool:
        """'Reuters has ...' opening a sentence: no English word, and a verb follows."""
        word = token.text
        if word.isupper() or "'" in word or "’" in word or self.lists.is_common_word(word):
            return False  # "NOTE", "I'm", "Sales"
        _, after = self._neighbours([token])
        if not after or after[0].kind != "word" or not after[0].text.islower():
            return False  # "Councillors in the town": a plural the word list lacks
        following = after[0].text
        return following in AUXILIARIES or following.endswith("ed") or following in SPEECH_VERBS

    def _inside_longer_name(self, token: Token) -> bool:
        """'the Belt and Road', 'the Arts and Crafts': capitalised words joined by 'and' after 'the'."""
        if not self._after_article(token):
            return False
        _, after = self._neighbours([token])
        return len(after) >= 2 and after[0].text in ("and", "&") and after[1].capitalised


@cache
def currency_codes() -> frozenset[str]:
    """ISO 4217 codes ('HUF', 'DEM' is gone): a currency in capitals is no organisation."""
    import pycountry

    return frozenset(currency.alpha_3 for currency in pycountry.currencies)
