"""Sports context: a town that plays, scores or has players is a club; results lines and nicknames."""

from __future__ import annotations

import re

from schemas.articles import EntityType
from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.names import PERSON_TITLES
from services.enrich.lexicon.organisations import ORG_LAST_WORDS
from services.enrich.lexicon.place_names import LOC_LAST_WORDS
from services.enrich.lexicon.words import OTHER_LAST_WORDS
from services.enrich.nlp.rules.context import LOC, ORG, TextContext
from services.enrich.nlp.rules.places import PLACE_PREPOSITIONS
from services.enrich.nlp.rules.tokens import Token

#: Titles of players and staff: a place before them names the club ("Surrey captain Chris Lewis").
SPORTS_ROLES = word_set(
    "captain skipper coach manager striker midfielder defender goalkeeper keeper batsman bowler"
)
#: Words between two teams: "Essex beat Kent", "Leeds v Everton".
MATCH_WORDS = word_set(
    """
    beat beats defeated thrashed edged routed crushed trounced outclassed outplayed overcame hammered
    downed v v. vs vs.
    """
)
COMPASS_POINTS = frozenset({"North", "South", "East", "West", "Western", "Eastern", "Northern", "Southern"})
#: First words of club names in many languages ("FC Barcelona", "A.S. Bacau", "SV Werder", "VfB Stuttgart").
CLUB_PREFIXES = frozenset(
    {
        "FC",
        "AC",
        "AS",
        "SC",
        "CF",
        "CD",
        "UD",
        "SS",
        "FK",
        "SK",
        "NK",
        "KV",
        "RC",
        "SV",
        "VFB",
        "VFL",
        "TSV",
        "AFC",
        "CSKA",
        "PSV",
        "AIK",
        "IFK",
        "HJK",
        "OFK",
        "KS",
        "GKS",
        "MKS",
        "BK",
    }
)
#: Last words of sports competitions, which are events, not bodies, in a sports story.
COMPETITIONS = frozenset({"league", "leagues", "division", "conference", "cup", "bundesliga"})
#: A place taking a plural verb is a side (British usage: "Marseille are seventh", "Essex have won").
PLURAL_VERBS = word_set("are were have")
#: Nouns after a place that make it a club ("the Marseille club", "the Leeds soccer team").
TEAM_NOUNS = word_set("club team side squad outfit eleven")
SPORTS = word_set("soccer football rugby cricket baseball basketball hockey ice")
#: Words before a place that make it a club ("champions Marseille", "visitors Leeds").
TEAM_TITLES = word_set("champions holders leaders hosts visitors newcomers runners-up")
#: "1:54.342", never "1,234.5" or "3.4" (rows of financial tables).
SCORE = re.compile(r"^(?:\d{1,3}(?:-\d{1,3})?[.,]?|\d{1,2}:\d{2}(?:[.:]\d+)?)$")
#: The minute of a goal ("Nilis 42nd") and the ways a batsman is out ("c Stewart b Mullally").
ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
DISMISSALS = frozenset({"b", "c", "lbw", "st", "c&b"})


class SportsRules(TextContext):
    """Clubs, results lines and players: what makes a town a side."""

    def _is_nicknamed_team(self, span: list[Token]) -> bool:
        """'New York Yankees', 'Atlanta Braves', 'Western Suburbs': a place or a point, a plural nickname."""
        if len(span) < 2:
            return False
        last = span[-1].text
        lower = last.lower()
        head = self._surface(span[:-1])
        return (
            (self.lists.is_place(head) or head in COMPASS_POINTS)
            and not self.lists.is_country(head)
            and (head not in self.lists.first_names or self.lists.is_common_word(last))  # not "David Millns"
            and len(last) > 3
            and last.endswith("s")
            and not last.endswith("ss")
            and not last.isupper()
            and lower not in LOC_LAST_WORDS
            and lower not in OTHER_LAST_WORDS
            and lower not in ORG_LAST_WORDS
            and not self.lists.is_demonym(last)
            and not self.lists.is_place(last)
            and last not in self.lists.surnames
        )

    def _is_plural_nickname(self, token: Token) -> bool:
        """'the Orioles', 'the Springboks': a capitalised plural inside a sentence after 'the'."""
        word = token.text
        return (
            not token.sentence_start
            and self._after_article(token)
            and len(word) > 4
            and word.endswith("s")
            and not word.endswith(("ss", "ics"))
            and not word.isupper()
            and not self.lists.is_demonym(word)
            and not self.lists.is_place(word)
            and word.lower() not in ORG_LAST_WORDS
            and word.lower() not in OTHER_LAST_WORDS
            and word.lower() not in LOC_LAST_WORDS
            and word.lower() not in PERSON_TITLES
        )

    def _club_in_results(self, span: list[Token]) -> bool:
        """'Ruch Chorzow (Poland) 5 Zorbex (Wales) 0', 'x-PAO v Legia Warsaw (Poland)': a club in cup results.

        A player's country is followed by a time, several scores or 'beat' ('Ato Boldon (Trinidad) 10.12').
        """
        if not self._nationality_follows(span):
            return False
        before, _ = self._neighbours(span)
        end = self.index[id(span[-1])] + 3  # the closing bracket
        following = self.tokens[end + 1 : end + 3]
        if (before and before[-1].text == "v") or (following and following[0].text == "v"):
            return True
        if not following or following[0].kind != "number" or following[0].line != span[-1].line:
            return False
        goals = following[0].text
        after_goals = following[1] if len(following) > 1 else None
        return (
            goals.isdigit()
            and int(goals) <= 20
            and after_goals is not None
            and after_goals.line == following[0].line
            and (after_goals.capitalised or after_goals.text == "(")  # the other club, the half-time score
        )

    def _place_or_team(self, span: list[Token]) -> EntityType:
        """A city followed by a score is a club; countries stay places (national teams)."""
        surface = self._surface(span)
        if (
            self._is_team(span) or self._plays(span) or self._club_of_player(span) or self._sports_side(span)
        ) and not self.lists.is_country(surface):
            self.teams.add(surface)
            return ORG
        return LOC

    def _sports_side(self, span: list[Token]) -> bool:
        """In a sports story a town is a club unless the story is in, at or from it (a venue)."""
        surface = self._surface(span)
        if not self.sports or surface.isupper():
            return False  # "BONN 1996-08-22": the dateline is where the story was filed
        before, _ = self._neighbours(span)
        venue_words = PLACE_PREPOSITIONS | {"from", "to", "of", "the", ","}
        return not before or before[-1].text.lower() not in venue_words

    def _club_of_player(self, span: list[Token]) -> bool:
        """'Enzo Scifo (Monaco) 2', 'Xavier Gravelaine (Marseille).': a town after a player is the club.

        Only in a line with figures (scorers, results); "John Smith (London)" in prose stays a place.
        """
        before, after = self._neighbours(span)
        numbers, _ = self.line_stats.get(span[-1].line, (0, 0))
        return (
            len(before) >= 2
            and before[-1].text == "("
            and before[-2].capitalised
            and bool(after)
            and after[0].text == ")"
            and numbers >= 1
        )

    def _plays(self, span: list[Token]) -> bool:
        """'Leicestershire beat Somerset', 'Essex v Kent', 'Surrey captain': a place that plays is a club."""
        before, after = self._neighbours(span)
        following = [token.text for token in after[:2]]
        return bool(
            (after and (after[0].text.lower() in MATCH_WORDS or after[0].text in SPORTS_ROLES))
            or (before and before[-1].text.lower() in MATCH_WORDS | TEAM_TITLES)
            or (  # "Marseille are seventh": a side, not a town; "Tehran and Moscow have" is two places
                self.sports
                and following
                and following[0] in PLURAL_VERBS
                and not (before and before[-1].text in ("and", "&", "of", ","))
            )
            or (following and following[0] in TEAM_NOUNS)  # "the Marseille club"
            or (len(following) == 2 and following[0] in SPORTS and following[1] in TEAM_NOUNS)
        )

    def _is_team(self, span: list[Token]) -> bool:
        """In a results line ('Barnsley 1 Bolton 2'), a name directly followed by a score."""
        end = self.index.get(id(span[-1]))
        if end is None or end + 1 >= len(self.tokens):
            return False
        following = self.tokens[end + 1]
        if following.kind != "number" or following.line != span[-1].line:
            return False
        if not SCORE.match(following.text) or self._scored(span):
            return False  # "Sales 1,234.5": a row of figures, not a score
            return False
        if any(token.text.lower() in self.lowercase_words or not token.text.isalpha() for token in span):
            return False  # "Net 1.2 3.4", "M1 5.5": rows of a financial table
        numbers, lowercase = self.line_stats.get(span[-1].line, (0, 0))
        return (numbers >= 2 and lowercase <= 4) or (lowercase == 0 and self._opens_line(span))  # "Kent 323"

    def _scored(self, span: list[Token]) -> bool:
        """A player in a match report: 'Nilis 42nd', 'Baeron 64th min', 'c Stewart b Mullally 61'."""
        first = self.index.get(id(span[0]))
        end = self.index.get(id(span[-1]))
        if first is None or end is None:
            return False
        previous = self.tokens[first - 1] if first > 0 else None
        if previous is not None and previous.line == span[0].line and previous.text in DISMISSALS:
            return True  # cricket scorecards: caught (c), bowled (b), leg before (lbw), stumped (st)
        if end + 2 >= len(self.tokens):
            return False
        number, suffix = self.tokens[end + 1], self.tokens[end + 2]
        return (
            number.kind == "number" and number.end == suffix.start and suffix.text.lower() in ORDINAL_SUFFIXES
        )
