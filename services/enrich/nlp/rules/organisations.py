"""Organisation rules: what a name is called, how it is linked and what it ends with."""

from __future__ import annotations

import itertools

from services.enrich.lexicon.entity_lists import Gazetteers
from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.organisations import ORG_HEADS, ORG_LAST_WORDS
from services.enrich.nlp.rules.context import TextContext
from services.enrich.nlp.rules.tokens import OF_WORDS, Token

#: Lower-case nouns right before a name that make it an organisation ("the carmaker Zorbex").
ORGANISATION_NOUNS = word_set(
    """
    company firm group cooperative co-operative bank lender insurer carrier airline carmaker maker
    manufacturer retailer chain broadcaster newspaper daily agency party club team charity
    organisation organization union regulator ministry network operator developer startup start-up
    conglomerate producer supplier distributor publisher studio label brand
    """
)
#: A score, a run total, a count in a standings table or a race time: "2", "67", "128-4", "1.",
#: Links inside organisation names: "Securities and Exchange Commission", "Moody's Investors Service".
ORGANISATION_LINKS = frozenset({"and", "'s", "’s"})
#: Lower-case nouns right after a name that make it a newspaper or agency ("the Xinhua news agency").
MEDIA_NOUNS = word_set("agency newspaper daily tabloid broadsheet magazine")
SINGLE_ORG_WORDS = word_set(
    "parliament congress senate cabinet bundestag knesset duma commission treasury navy army"
)
#: Bodies of a state: a nationality before them says whose they are ("the Turkish Foreign Ministry",
#: "the Brazilian Senate"), while in "Chinese Communist Party" or "Irish Navy" it is part of the name.
STATE_BODIES = word_set("ministry senate police coalition")


class OrganisationRules(TextContext):
    """Context that makes a name an organisation."""

    def _links_organisation_name(self, line: list[Token], position: int, current: list[Token]) -> bool:
        """'and' or a possessive between a word and a name ending in an organisation word.

        Only after one or two ordinary words or a name that is no place or given name, so that
        "Britain's Labour Party" and "Ford and General Motors Corp" stay apart.
        """
        token = line[position]
        if token.text not in ORGANISATION_LINKS or len(current) > 2:
            return False
        lists = self.lists
        if token.text == "and":
            words = current[1:] if current[0].text in ("U.S.", "U.K.") and len(current) > 1 else current
            if not all(lists.is_common_word(word.text) for word in words) or any(
                word.text in lists.surnames for word in words
            ):
                return False  # "U.S. Securities and Exchange Commission" joins; "Ford and General Motors" not
        elif any(
            lists.is_place(word.text) or word.text in lists.first_names or word.text.lower() in ORG_LAST_WORDS
            for word in current
        ):
            return False
        following: list[Token] = []
        for candidate in line[position + 1 : position + 5]:
            if not (candidate.kind == "word" and candidate.text[:1].isupper()):
                break
            following.append(candidate)
        if not following or following[-1].text.lower() not in ORG_LAST_WORDS:
            return False
        # "McDonald's Corp", "Moody's Investors Service"; not "Lebed's Security Council"
        return token.text == "and" or len(following) == 1 or following[0].text.endswith("s")

    def _named_as_organisation(self, span: list[Token]) -> bool:
        """'the energy cooperative Lenning Power', 'carmaker Zorbex': a noun saying what kind of body."""
        before, _ = self._neighbours(span)
        return bool(before) and before[-1].text in ORGANISATION_NOUNS

    def _ends_like_business(self, span: list[Token]) -> bool:
        """'China Daily', 'Johnson Controls', 'Crystal Palace': an ordinary word last that is no surname."""
        last = span[-1].text
        return last not in self.lists.surnames and self.lists.is_common_word(last)

    def _names_media(self, span: list[Token]) -> bool:
        """'the official Xinhua news agency', 'the Izvestia daily': a name followed by what it is."""
        _, after = self._neighbours(span)
        words = [token.text for token in after[:2]]
        return bool(words) and (words[0] in MEDIA_NOUNS or (words[0] == "news" and words[1:] == ["agency"]))


def is_organisation_of(span: list[Token]) -> bool:
    """'Organisation for Security', 'Corporation for Assigned Names': an organisation word, then of/for."""
    return any(
        left.text.lower() in ORG_HEADS or left.text.lower() in ORG_LAST_WORDS
        for left, right in itertools.pairwise(span)
        if right.text in OF_WORDS
    )


def is_press_review_title(text: str, line: list[Token], next_line: list[Token], lists: Gazetteers) -> bool:
    """A newspaper's name on a line of its own in a press review, its stories below as '- ...' items.

    "THE TIMES" / "- Visitors slam bus drivers": one to four words in capitals, no figures, no known
    place ("IRAQ" heads a country's items), and the next line opens with a single dash ("-- ..." items
    follow section headings such as "FRONT PAGE").
    """
    words = [token for token in line if token.kind in ("word", "abbr", "hyphenated")]
    if not 1 <= len(words) <= 4 or len(words) != len(line) or len(next_line) < 2:
        return False
    surface = text[line[0].start : line[-1].end]
    return (
        surface.isupper()
        and not lists.is_place(surface.title())
        and not lists.is_place(surface)
        and next_line[0].text == "-"
        and next_line[1].text != "-"
    )
