"""Typing a candidate span: gazetteers first, then the rules of each concept, then a default."""

from __future__ import annotations

import re

from services.enrich.lexicon.names import PERSON_TITLES, STRONG_TITLES
from services.enrich.lexicon.organisations import NON_ORG_ACRONYMS, ORG_LAST_WORDS
from services.enrich.lexicon.place_names import IRREGULAR_DEMONYMS, LOC_HEADS, LOC_LAST_WORDS
from services.enrich.lexicon.words import FUNCTION_WORDS, OTHER_LAST_WORDS
from services.enrich.nlp.mentions import Mention
from services.enrich.nlp.rules.context import LOC, ORG, PER
from services.enrich.nlp.rules.filters import CleanUpFilters, currency_codes
from services.enrich.nlp.rules.organisations import SINGLE_ORG_WORDS, STATE_BODIES, is_organisation_of
from services.enrich.nlp.rules.persons import (
    COMPOUND_NAME,
    PersonRules,
    is_title,
    looks_like_name_part,
    strip_demonyms,
)
from services.enrich.nlp.rules.places import PlaceRules
from services.enrich.nlp.rules.spans import CALENDAR, CandidateSpans
from services.enrich.nlp.rules.sports import CLUB_PREFIXES, COMPASS_POINTS, COMPETITIONS, SPORTS_ROLES
from services.enrich.nlp.rules.tokens import OF_WORDS, Token, adjacent, trim_connectors

ACRONYM = re.compile(r"^(?:[A-Z]\.){2,}$|^[A-Z][A-Z&]{1,6}s?$|^[A-Z]{2,}-?\d*$")


class NameClassifier(CandidateSpans, PlaceRules, PersonRules, CleanUpFilters):
    """Every rule of a text, in the order that types a span; headline lines take gazetteer names only."""

    # -- headline lines ------------------------------------------------------------------------
    def gazetteer_mentions(self, line: list[Token]) -> list[Mention]:
        """Places and 'Given-name Surname' pairs only; the resolver adds names known from elsewhere."""
        found: list[Mention] = []
        words = [token for token in line if token.kind in ("word", "abbr", "hyphenated")]
        position = 0
        while position < len(words):
            matched = 0
            for size in (4, 3, 2, 1):
                chunk = words[position : position + size]
                if len(chunk) < size or not adjacent(self.text, chunk):
                    continue
                surface = self.text[chunk[0].start : chunk[-1].end]
                if size == 1 and (
                    not self.lists.is_major_place(surface.title()) or surface.lower() in self.lowercase_words
                ):
                    continue  # "SALE", "UNION": towns, but mostly ordinary words in capitals
                if self.lists.is_place(surface) or self.lists.is_place(surface.title()):
                    found.append(Mention(chunk[0].start, chunk[-1].end, surface, self._place_or_team(chunk)))
                    matched = size
                    break
            if not matched and position + 1 < len(words):
                first, second = words[position], words[position + 1]
                if (
                    adjacent(self.text, [first, second])
                    and first.text[:1].isupper()
                    and second.text[:1].isupper()
                    and first.text.title() in self.lists.first_names
                    and not self.lists.is_common_word(first.text)
                    and first.text.lower() not in FUNCTION_WORDS
                    and second.text.title() in self.lists.surnames
                ):
                    surface = self.text[first.start : second.end]
                    found.append(Mention(first.start, second.end, surface, PER))
                    matched = 2
            position += matched or 1
        return found

    # -- prose lines ---------------------------------------------------------------------------
    def prose_mentions(self, line: list[Token]) -> list[Mention]:
        found: list[Mention] = []
        for span in self._spans(line):
            found.extend(self._classify(span))
        return found

    def _classify(self, span: list[Token]) -> list[Mention]:
        lists = self.lists
        row = self._without_table_codes(span)
        if row[0] is not span[0]:
            return [self._mention(row, ORG)]  # "MON Gencor YR EPS": the company of a row of dates
        span = row
        surface = self._surface(span)
        if (
            self._names_media(span)
            and not lists.is_major_place(surface.removeprefix("The "))
            and not lists.is_demonym(span[-1].text)  # "the Polish news agency" names no agency
        ):
            return [self._mention(span, ORG)]
        if self._names_place(span) and not lists.is_place(surface) and not self._is_team(span):
            return [self._mention(span, LOC)]
        if lists.is_place(surface) and not (len(span) == 1 and span[0].kind == "initial"):
            return [self._mention(span, self._place_or_team(span))]
        if span[0].kind == "hyphenated" and len(span) == 1:
            return self._classify_hyphenated(span[0])
        # "The", "A" and friends opening a name that is not itself known ("The Hague" is).
        while (
            len(span) > 1
            and span[0].text.lower() in FUNCTION_WORDS
            and not span[0].text.isupper()
            and span[0].sentence_start  # mid-sentence "The Oval", "First Union" keep their first word
        ):
            span = span[1:]
        if (
            len(span) > 1
            and span[0].sentence_start
            and self._opens_with_ordinary_word(span)
            and not self._is_team(span)  # "Hansa Rostock 0 Hamburg 1", "St Pauli 4": the club's name
            and not self._nationality_follows(span)  # "Mats Wilander (Sweden)": a player in results
        ):
            span = span[1:]  # "Rival Sony", "Shares of ...": an ordinary word capitalised by the sentence
        if self.sports and (
            span[-1].text.lower() in COMPETITIONS
            or (
                any(token.text.lower() in COMPETITIONS for token in span)
                and span[-1].text.lower() not in ORG_LAST_WORDS  # "League Managers Association"
            )
        ):
            return []  # "the American League", "Premier League" in a sports story: a competition
        if span[-1].text.lower() in ORG_LAST_WORDS and len(span) > 1:
            whose = span[-1].text.lower() in STATE_BODIES  # "Turkish Foreign Ministry": the ministry
            return [self._mention(strip_demonyms(span, lists, keep=not whose) or span, ORG)]
        if self._is_nicknamed_team(span):
            return [self._mention(span, ORG)]
        titled = self._split_at_titles(span)
        if titled is not None:
            return titled
        described = self._after_description(span)
        if described is not None:
            return described
        if self._the_place(span):
            return [self._mention(span, LOC)]  # "at The Oval": "The" belongs to the name
        span = strip_demonyms(span, lists, keep=False)
        if not span:
            return []
        return self._classify_core(span, person_cue=self._person_cue(span))

    def _after_description(self, span: list[Token]) -> list[Mention] | None:
        """'Veteran Italian Gianni Bugno', 'South African Amanda Coetzer': a person after a nationality.

        The words before the nationality must be ordinary words or points of the compass.
        """
        lists = self.lists
        for position in range(len(span) - 2, 0, -1):
            if not lists.is_demonym(span[position].text):
                continue
            head, person = span[:position], span[position + 1 :]
            if person[0].text in lists.first_names and all(
                lists.is_common_word(token.text) or token.text in COMPASS_POINTS for token in head
            ):
                return self._classify_core(person, person_cue=True)
            return None
        return None

    def _classify_core(self, span: list[Token], person_cue: bool) -> list[Mention]:
        lists = self.lists
        surface = self._surface(span)
        last = span[-1].text.lower()
        first = span[0].text
        if person_cue and len(span) == 1 and not lists.is_country(surface) and surface[1:].islower():
            return [self._mention(span, PER)]  # "President Clinton" (also a town)
        if lists.is_place(surface):
            return [self._mention(span, self._place_or_team(span))]
        surname_like_demonym = (  # "Ronnie Irani": a surname that reads like a nationality
            len(span) == 2
            and first in lists.first_names
            and not lists.is_place(first)  # "Cleveland Indians"
            and span[-1].text not in IRREGULAR_DEMONYMS
        )
        if last in OTHER_LAST_WORDS or (
            len(span) > 1 and lists.is_demonym(span[-1].text) and not surname_like_demonym
        ):
            return []  # an event or law, or an adjective phrase such as "Central Asian"
        player = first in lists.first_names and self._nationality_follows(span)  # "Domingo Hospital (Spain)"
        if (len(span) > 1 and last in LOC_LAST_WORDS and not player) or self._named_as_place(span):
            return [self._mention(span, self._place_or_team(span))]  # "Port Vale 1", "Notts County 2"
        if len(span) > 2 and is_organisation_of(span):
            return [self._mention(span, ORG)]
        if len(span) > 2 and span[1].text in OF_WORDS and first.lower() in LOC_HEADS:
            return [self._mention(span, LOC)]
        if len(span) == 1:
            return self._classify_single(span[0], person_cue)
        if self._club_in_results(span):
            return [self._mention(span, ORG)]
        if self._is_car_model(span):
            return []  # "a Toyota Celica": a product
        if first in ("F.C.", "A.F.C.") or (
            "." not in first
            and first.upper() in CLUB_PREFIXES
            and (first.isupper() or first in ("VfB", "VfL"))
        ):
            return [self._mention(span, ORG)]  # "F.C. Brasov", "AC Milan", "SV Werder" (not "A.S. Byatt")
        initials = span[0].kind == "initial" or (span[0].kind == "abbr" and len(first) <= 6 and "." in first)
        if initials and not lists.is_place(first):
            return [self._mention(span, PER)]
        if person_cue:
            return [self._mention(span, PER)]
        if all(token.text.isupper() for token in span):
            return []  # "W L PCT GB": column headings, codes
        if all(token.text.lower() in self.lowercase_words for token in span if token.kind == "word"):
            return []  # "Year Amount Coupon Yield": a table heading of ordinary words
        if self._is_field_label(span) or self._is_row_label(span):
            return []  # "Expected Sale Date: Aug 30", "Net Income 1,234.5 1,100.2"
        if self._named_as_organisation(span) or (self._is_team(span) and lists.is_place(span[-1].text)):
            return [self._mention(span, ORG)]  # "Gloria Bistrita 2 Dinamo 1": a club named after its town
        name_shaped = all(looks_like_name_part(token) for token in span)
        starts_with_place = len(span) > 2 and lists.is_place(self._surface(span[:2]))  # "Hong Kong Financial"
        ends_with_city = lists.is_country(span[-1].text) or (  # "Ludvika Sweden": a company
            self.sports
            and lists.is_place(span[-1].text)
            and span[-1].text not in lists.surnames
            and (lists.is_major_place(span[-1].text) or first not in lists.first_names)
        )  # in a sports story "Chemlon Humenne" is a club; "Duffy Waldorf" keeps a given name
        if (
            self.sports
            and len(span) == 2
            and all(lists.is_common_word(token.text) for token in span)
            and self._ends_like_business(span)
        ):
            return [self._mention(span, ORG)]  # "Crystal Palace", "Aston Villa" in a sports story
        if (
            first in lists.first_names
            and len(span) <= 4
            and name_shaped
            and not starts_with_place
            and not (
                ends_with_city  # "Legia Warsaw", "Levski Sofia": a club; "Denzel Washington" stays a person
            )
        ):
            return [self._mention(span, PER)]
        if self._is_team(span):
            return [self._mention(span, ORG)]
        if self._nationality_follows(span) and name_shaped:
            return [self._mention(span, PER)]
        if self._place_context(span):
            return [self._mention(span, LOC)]
        if (
            len(span) <= 3
            and name_shaped
            and not self._has_name_words(span)
            and not self._ends_like_business(span)
            and not ends_with_city
        ):
            return [self._mention(span, PER)]
        return [self._mention(span, ORG)]

    def _classify_single(self, token: Token, person_cue: bool) -> list[Mention]:
        lists = self.lists
        word = token.text
        if token.kind == "initial" or len(word) == 1 or any(char.isdigit() for char in word):
            return []  # "H1", "M3": codes
        plural_people = word.endswith("s") and (lists.is_demonym(word) or lists.is_demonym(word[:-1]))
        plays = self.sports and word.isalpha() and not word.isupper() and self._plays([token])
        if plays and not plural_people:
            return [self._mention([token], ORG)]  # "Celtic beat Hibernian", "United have won"
        if lists.is_demonym(word) or (word.endswith("s") and lists.is_demonym(word[:-1])):
            return []
        if ACRONYM.match(word):
            if word.rstrip("s") in NON_ORG_ACRONYMS or word in NON_ORG_ACRONYMS or word in currency_codes():
                return []  # "EPS", "BBB", "HUF": figures, ratings and currencies
            if self._abbreviates_lower_case_words(token):
                return []  # "bovine spongiform encephalopathy (BSE)": a term, not a body
            if len(word) > 3 and word.isalpha() and lists.is_common_word(word) and not lists.is_place(word):
                return []  # "NOTE", "CAPS": a word in capitals, not an acronym
            if lists.is_place(word):
                return [self._mention([token], LOC)]
            return [self._mention([token], ORG)]
        if word.isupper() and len(word) > 7:
            return []
        if (
            token.sentence_start
            and lists.is_common_word(word)
            and not (lists.is_place(word) or word in lists.surnames or person_cue)
        ):
            return []  # "Sales rose", "Figures:" - an ordinary word opening a sentence or table row
        if token.sentence_start and word not in self.mid_sentence_caps:
            known = (
                (word in lists.first_names and not lists.is_common_word(word))  # not "Sales 12 11", "Will"
                or word in lists.places
                or person_cue
                or self._is_team([token])
                or self._scored([token])  # "(Nilis 42nd, ..."
                or self._unknown_subject(token)  # "Reuters has not verified"
            )
            if not known:
                return []
        if person_cue:
            return [self._mention([token], PER)]
        if word.lower() in SINGLE_ORG_WORDS:
            return [self._mention([token], ORG)]
        if word.lower() in ORG_LAST_WORDS or word.lower() in LOC_LAST_WORDS or word.lower() in PERSON_TITLES:
            return []
        if self._scored([token]):
            return [self._mention([token], PER)]
        if self._is_team([token]):
            return [self._mention([token], ORG)]
        if self._nationality_follows([token]):
            return [self._mention([token], ORG)]  # "Benetton (Italy) 92": a club; people get full names
        if self._place_context([token]):
            return [self._mention([token], LOC)]
        if self._is_plural_nickname(token):
            return [self._mention([token], ORG)]  # "the Orioles", "the Springboks": a team or a band
        if lists.is_common_word(word) and word not in lists.surnames and word not in lists.first_names:
            return []  # "the Test", "Golf", "Figures": a capitalised ordinary word says too little alone
        if lists.is_common_word(word) and self._inside_longer_name(token):
            return []  # "the Belt and Road project": a word of a name, not a name of its own
        if self._named_as_organisation([token]):
            return [self._mention([token], ORG)]
        if (word in lists.first_names or word in lists.surnames) and not self._after_article(token):
            return [self._mention([token], PER)]
        if COMPOUND_NAME.match(word):
            return [self._mention([token], PER)]  # "Inzamam-ul-Haq", "Abdul-Karim"
        return [self._mention([token], ORG)]

    def _classify_hyphenated(self, token: Token) -> list[Mention]:
        """'Russia-China' -> two places; 'Bre-X' and 'Chester-le-Street' stay one name."""
        parts = token.text.split("-")
        if all(part.lower() in CALENDAR for part in parts):
            return []  # "January-June", "Jan-April": a period
        offset = token.start
        pieces: list[Token] = []
        for part in parts:
            pieces.append(Token(part, offset, offset + len(part), "word", line=token.line))
            offset += len(part) + 1
        places = [self.lists.is_place(piece.text) or self.lists.is_demonym(piece.text) for piece in pieces]
        if all(places):
            return [self._mention([piece], LOC) for piece in pieces if self.lists.is_place(piece.text)]
        if any(places) and all(
            place or (ACRONYM.match(piece.text) and piece.text.isupper())
            for place, piece in zip(places, pieces, strict=True)
        ):
            return []  # "the Israel-PLO peace process", "Israeli-PLO crisis": an adjective of two sides
        whole = Token(token.text, token.start, token.end, "word", token.sentence_start, token.line)
        return self._classify_core([whole], person_cue=self._person_cue([whole]))

    def _split_at_titles(self, span: list[Token]) -> list[Mention] | None:
        """'US President Joe Biden' -> LOC 'US' + PER 'Joe Biden'; 'Defence Secretary' -> nothing.

        The first run of title words holding a core title ("Prime Minister", "Foreign Minister")
        splits the span: what precedes is typed on its own, what follows is a person.
        """
        position = 0
        while position < len(span):
            if not is_title(span[position]):
                position += 1
                continue
            run_end = position
            while run_end < len(span) and (is_title(span[run_end]) or span[run_end].text in OF_WORDS):
                run_end += 1
            run = span[position:run_end]
            after = span[run_end:]
            if len(after) == 1 and after[0].text.lower() in LOC_LAST_WORDS:
                return None  # "Zorbia General Hospital": a title word inside the name of a place
            if any(token.text.lower().rstrip(".") in STRONG_TITLES for token in run):
                sports_role = any(token.text.lower() in SPORTS_ROLES for token in run)
                return self._around_title(span[:position], span[run_end:], sports_role)
            position = run_end
        return None

    def _around_title(self, before: list[Token], after: list[Token], sports_role: bool) -> list[Mention]:
        found: list[Mention] = []
        before = trim_connectors(strip_demonyms(before, self.lists, keep=False))
        while len(before) > 1 and self._is_portfolio_word(before[-1]):
            before = before[:-1]  # "EU Farm Commissioner": the portfolio is no part of "EU"
        after = trim_connectors(after)
        surface = self._surface(before) if before else ""
        if before and sports_role and self.lists.is_place(surface) and not self.lists.is_country(surface):
            self.teams.add(surface)  # "Chelsea manager Jose Mourinho": the club
            found.append(self._mention(before, ORG))
        elif before:
            found.extend(self._classify_core(before, person_cue=False))
        if after:
            found.extend(self._classify_core(after, person_cue=True))
        return found
