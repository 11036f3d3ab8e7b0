"""Place rules: an unknown name used as a place ('in Arbil', 'Stansted airport', 'Lake Zorb')."""

from __future__ import annotations

from services.enrich.lexicon.loader import word_set
from services.enrich.nlp.rules.context import TextContext
from services.enrich.nlp.rules.tokens import Token

#: "the town of X" names a place.
PLACE_NOUNS = word_set("town city village province region state island capital port district county suburb")
#: First words of place names ("Port Lenning", "Lake Chad", "Mount Kenya").
PLACE_FIRST_WORDS = word_set("port fort mount mt lake cape san santa")
#: Lower-case nouns right after a name that make it a place ("Stansted airport", "the Salang tunnel").
PLACE_KINDS = word_set(
    """
    airport airbase river valley mountains mountain island islands peninsula province region district
    county village town township tunnel pass dam lake bay gulf strait straits canal coast desert
    plateau basin oblast prefecture border crossing stadium racecourse circuit
    """
)
PLACE_PREPOSITIONS = frozenset({"in", "at", "near", "outside", "around", "across"})


class PlaceRules(TextContext):
    """Context that makes a name a place."""

    def _the_place(self, span: list[Token]) -> bool:
        """'at The Oval', 'near The Hawthorns': a capital 'The' inside a sentence, after 'at' or 'near'.

        Not after 'in': "starred in The Aviator" names a film.
        """
        if len(span) != 2 or span[0].text != "The" or span[0].sentence_start:
            return False
        if self.lists.is_place(span[1].text) or self.lists.is_demonym(span[1].text):
            return False  # "in The Hamburg report": the place is "Hamburg"
        before, _ = self._neighbours(span)
        return bool(before) and before[-1].text in ("at", "near", "outside")

    def _named_as_place(self, span: list[Token]) -> bool:
        """'the town of Port Lenning', 'Lake Zorb', 'Mount Kenya': the name of a place, known or not."""
        before, _ = self._neighbours(span)
        if len(before) >= 2 and before[-1].text == "of" and before[-2].text.lower() in PLACE_NOUNS:
            return True
        return len(span) > 1 and span[0].text.lower().rstrip(".") in PLACE_FIRST_WORDS

    def _place_context(self, span: list[Token]) -> bool:
        """'in Arbil', 'at Headingley', 'Markham, Ontario': an unknown name used as a place."""
        before, after = self._neighbours(span)
        if before and before[-1].text in PLACE_PREPOSITIONS:
            return True
        if (
            len(span) == 1
            and len(before) >= 2
            and before[-1].text == "the"
            and before[-2].text in PLACE_PREPOSITIONS
        ):
            return True  # "at the Oval"
        return len(after) >= 2 and after[0].text == "," and self.lists.is_major_place(after[1].text)

    def _names_place(self, span: list[Token]) -> bool:
        """'Stansted airport', 'the Salang tunnel', 'Ravi river': a name followed by the kind of place."""
        _, after = self._neighbours(span)
        return bool(after) and after[0].text in PLACE_KINDS
