"""Candidate spans: capitalised words with the lower-case links that join them into one name."""

from __future__ import annotations

from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.names import STRONG_TITLES
from services.enrich.lexicon.organisations import ORG_HEADS, ORG_LAST_WORDS
from services.enrich.lexicon.place_names import LOC_HEADS
from services.enrich.lexicon.words import FUNCTION_WORDS
from services.enrich.nlp.rules.organisations import OrganisationRules, is_organisation_of
from services.enrich.nlp.rules.tokens import (
    OF_WORDS,
    PARTICLES,
    PREFIXED_NAME,
    Token,
    adjacent,
    trim_connectors,
)

CALENDAR = word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri
    """
)


class CandidateSpans(OrganisationRules):
    """Runs of name words in a prose line, joined by particles, 'of', '&' and organisation links."""

    def _is_name_word(self, token: Token) -> bool:
        if token.kind == "hyphenated":
            return token.text[:1].isupper()
        if token.kind == "word" and PREFIXED_NAME.match(token.text):
            return True  # "al-Kabariti", "bin-Laden": a name after a lower-case particle
        if not token.capitalised:
            return False
        if token.kind == "word" and any(char.isdigit() for char in token.text):
            return False  # "W145", "Q2", "H1": codes and periods end a name
        lower = token.text.lower()
        if token.sentence_start:
            if self._opens_players_name(token):
                return True  # "Jan Siemerink (Netherlands) beat ...": a given name, not a month
            if lower in FUNCTION_WORDS or lower in self.lowercase_words:
                return False
            return not lower.endswith("ly") or self.lists.is_place(token.text)
        return lower not in CALENDAR and not (lower == "i" or lower.startswith(("i'", "i’")))

    def _opens_players_name(self, token: Token) -> bool:
        """A line's first word before a surname and a country in brackets, as results list players."""
        position = self.index.get(id(token))
        if position is None or position + 1 >= len(self.tokens):
            return False
        surname = self.tokens[position + 1]
        return (
            surname.kind == "word"
            and surname.text[:1].isupper()
            and not surname.text.isupper()
            and adjacent(self.text, [token, surname])
            and self._nationality_follows([surname])
        )

    def _spans(self, line: list[Token]) -> list[list[Token]]:
        spans: list[list[Token]] = []
        current: list[Token] = []
        position = 0
        while position < len(line):
            token = line[position]
            if self._is_name_word(token) and (not current or adjacent(self.text, [current[-1], token])):
                current.append(token)
                position += 1
                continue
            joined = self._connector_run(line, position, current)
            if joined:
                current.extend(joined)
                position += len(joined)
                continue
            if current:
                spans.append(current)
                current = []
            if self._is_name_word(token):
                current.append(token)
            position += 1
        if current:
            spans.append(current)
        return [trimmed for trimmed in (trim_connectors(span) for span in spans) if trimmed]

    def _connector_run(self, line: list[Token], position: int, current: list[Token]) -> list[Token]:
        """Lower-case links inside a name: 'of (the)', particles, '&', followed by a capitalised word."""
        if not current:
            return []
        token = line[position]
        lower = token.text.lower()
        run: list[Token] = []
        if token.text == "&" or (token.kind == "word" and lower in PARTICLES and token.text.islower()):
            run = [token]
            following = line[position + 1] if position + 1 < len(line) else None
            if following is not None and following.kind == "word" and following.text in PARTICLES:
                run.append(following)  # "Edwin van der Sar", "Luis de la Fuente"
        elif token.kind == "word" and lower in ("and", "in") and is_organisation_of(current):
            run = [token]  # "Organisation for Security and Cooperation in Europe"
        elif self._links_organisation_name(line, position, current):
            run = [token]  # "Securities and Exchange Commission", "Moody's Investors Service"
        elif token.kind == "word" and lower in OF_WORDS and token.text.islower():
            head = current[-1].text.lower()
            if head in ORG_HEADS or head in LOC_HEADS or head in ORG_LAST_WORDS or head in STRONG_TITLES:
                run = [token]
                following = line[position + 1] if position + 1 < len(line) else None
                if following is not None and following.text == "the":
                    run.append(following)
        if not run:
            return []
        after = position + len(run)
        if (
            after < len(line)
            and line[after].capitalised
            and line[after].text.lower() not in FUNCTION_WORDS
            and adjacent(self.text, [current[-1], *run, line[after]])
        ):
            return run
        return []
