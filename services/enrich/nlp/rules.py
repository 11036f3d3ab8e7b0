"""Rule-based recognition: capitalised word sequences typed by gazetteers and context.

Fast (a few milliseconds per article) and dependency-light. A capitalised sequence (with links
such as "of", "van", "&") is a candidate; it is split at person titles ("Russian President
Vladimir Putin" -> "Vladimir Putin") and typed by, in order: place gazetteers, event/law words
(dropped), organisation and place words ("... Bank", "Ministry of ...", "... Road"), acronyms,
person cues (titles, initials, given names), sports context (a city followed by a score or "beat"
is a club), place context ("in X", "X, Ontario"), the shape of a personal name and finally a
default of organisation. Ordinary English words and sentence-initial words need evidence.
Lines in capitals or Title Case carry no case information; only gazetteer names are taken from them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

from schemas.articles import EntityType
from services.enrich.lexicon.entity_lists import Gazetteers, gazetteers
from services.enrich.lexicon.loader import word_set
from services.enrich.lexicon.names import PERSON_CUES, PERSON_TITLES, STRONG_TITLES
from services.enrich.lexicon.organisations import NON_ORG_ACRONYMS, ORG_HEADS, ORG_LAST_WORDS
from services.enrich.lexicon.place_names import (
    IRREGULAR_DEMONYMS,
    LOC_HEADS,
    LOC_LAST_WORDS,
    US_STATE_ABBREVIATIONS,
)
from services.enrich.lexicon.words import FUNCTION_WORDS, OTHER_LAST_WORDS
from services.enrich.nlp.mentions import Mention

PER, ORG, LOC = EntityType.PERSON, EntityType.ORGANIZATION, EntityType.LOCATION

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
_PARTICLES = word_set("de da van von der den del di du le la bin ibn al el y dos das do")
_OF_WORDS = frozenset({"of", "for"})
_NAME_PREFIXES = frozenset({"al", "el", "bin", "ibn", "abu", "ben", "d", "o"})
_DROP_PREFIXES = frozenset({"ex", "pro", "anti", "non", "post", "pre", "mid", "neo", "sub", "trans", "pan"})
_ACRONYM = re.compile(r"^(?:[A-Z]\.){2,}$|^[A-Z][A-Z&]{1,6}s?$|^[A-Z]{2,}-?\d*$")
_CALENDAR = word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri
    """
)
#: Titles of players and staff: a place before them names the club ("Surrey captain Chris Lewis").
_SPORTS_ROLES = word_set(
    "captain skipper coach manager striker midfielder defender goalkeeper keeper batsman bowler"
)
#: Words between two teams: "Essex beat Kent", "Leeds v Everton".
_MATCH_WORDS = word_set(
    """
    beat beats defeated thrashed edged routed crushed trounced outclassed outplayed overcame hammered
    downed v v. vs vs.
    """
)
_COMPASS_POINTS = frozenset({"North", "South", "East", "West", "Western", "Eastern", "Northern", "Southern"})
_SPORTS_WORDS = word_set(
    """
    goals scorer scorers striker strikers midfielder defender goalkeeper league innings wicket wickets
    batting bowled homer inning pitcher halftime half-time unbeaten standings playoff playoffs
    semifinal quarterfinal fixtures relegation soccer football cricket rugby baseball basketball hockey
    """
)
_PREFIXED_NAME = re.compile(r"^(?:al|el|bin|ibn|abu|ben)-[A-Z]")
#: Arabic and Urdu compound names: "Inzamam-ul-Haq", "Ata-ur-Rehman", "Abdul-Karim", "Nasr-el-Din".
_COMPOUND_NAME = re.compile(
    r"^(?:[A-Z][a-z]+-(?:ul|ur|ud|us|al|el|ad|ar|as|bin|ibn)-[A-Z][a-z]+|Abd[ua]l?-[A-Z][a-z]+)$"
)
#: Codes after a name in tables and bylines ("Gencor YR EPS", "Mexico GDP", "Sabourin CFO").
_TRAILING_CODES = frozenset(
    {"EPS", "DIV", "YR", "NAV", "GDP", "GNP", "CPI", "PPI", "CEO", "CFO", "COO", "RBI"}
)
#: First words of club names in many languages ("FC Barcelona", "A.S. Bacau", "SV Werder", "VfB Stuttgart").
_CLUB_PREFIXES = frozenset(
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
_COMPETITIONS = frozenset({"league", "leagues", "division", "conference"})
#: A place taking a plural verb is a side (British usage: "Marseille are seventh", "Essex have won").
_PLURAL_VERBS = word_set("are were have")
#: Nouns after a place that make it a club ("the Marseille club", "the Leeds soccer team").
_TEAM_NOUNS = word_set("club team side squad outfit eleven")
_SPORTS = word_set("soccer football rugby cricket baseball basketball hockey ice")
#: Words before a place that make it a club ("champions Marseille", "visitors Leeds").
_TEAM_TITLES = word_set("champions holders leaders hosts visitors newcomers runners-up")
#: "the town of X" names a place.
_PLACE_NOUNS = word_set("town city village province region state island capital port district county suburb")
#: First words of place names ("Port Lenning", "Lake Chad", "Mount Kenya").
_PLACE_FIRST_WORDS = word_set("port fort mount mt lake cape san santa")
#: Lower-case nouns right before a name that make it an organisation ("the carmaker Zorbex").
_ORGANISATION_NOUNS = word_set(
    """
    company firm group cooperative co-operative bank lender insurer carrier airline carmaker maker
    manufacturer retailer chain broadcaster newspaper daily agency party club team charity
    organisation organization union regulator ministry network operator developer startup start-up
    conglomerate producer supplier distributor publisher studio label brand
    """
)
#: A score, a run total, a count in a standings table or a race time: "2", "67", "128-4", "1.",
#: "1:54.342", never "1,234.5" or "3.4" (rows of financial tables).
_SCORE = re.compile(r"^(?:\d{1,3}(?:-\d{1,3})?[.,]?|\d{1,2}:\d{2}(?:[.:]\d+)?)$")
#: Links inside organisation names: "Securities and Exchange Commission", "Moody's Investors Service".
_ORGANISATION_LINKS = frozenset({"and", "'s", "’s"})
#: The minute of a goal ("Nilis 42nd") and the ways a batsman is out ("c Stewart b Mullally").
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_DISMISSALS = frozenset({"b", "c", "lbw", "st", "c&b"})
#: Verbs after a sentence's first word that make an unknown word its subject ("Reuters has").
_AUXILIARIES = word_set("has have had is was are were will would could can may might did does do")
_SPEECH_VERBS = word_set("said says reported reports told tells added announced denied")
#: Lower-case nouns right after a name that make it a place ("Stansted airport", "the Salang tunnel").
_PLACE_KINDS = word_set(
    """
    airport airbase river valley mountains mountain island islands peninsula province region district
    county village town township tunnel pass dam lake bay gulf strait straits canal coast desert
    plateau basin oblast prefecture border crossing stadium racecourse circuit
    """
)
#: Lower-case nouns right after a name that make it a newspaper or agency ("the Xinhua news agency").
_MEDIA_NOUNS = word_set("agency newspaper daily tabloid broadsheet magazine")
_PLACE_PREPOSITIONS = frozenset({"in", "at", "near", "outside", "around", "across"})
_SINGLE_ORG_WORDS = word_set(
    "parliament congress senate cabinet bundestag knesset duma commission treasury navy army"
)


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


class RuleRecognizer:
    """Capitalisation + gazetteers + generic context rules."""

    name = "rules"

    def __init__(self, lists: Gazetteers | None = None) -> None:
        self._lists = lists

    @property
    def lists(self) -> Gazetteers:
        if self._lists is None:
            self._lists = gazetteers()
        return self._lists

    def mentions(self, text: str) -> list[Mention]:
        tokens = tokenize(text)
        if not tokens:
            return []
        found: list[Mention] = []
        context = _TextContext(text, tokens, self.lists)
        single_line = "\n" not in text.strip()
        for line_tokens in _lines(tokens):
            if _is_headline(line_tokens, title_case_counts=single_line):
                found.extend(context.gazetteer_mentions(line_tokens))
            else:
                found.extend(context.prose_mentions(line_tokens))
        return _teams_everywhere(found, context.teams)


def _teams_everywhere(found: list[Mention], teams: set[str]) -> list[Mention]:
    """A place that plays in a results line of this text is the club in its other mentions too."""
    if not teams:
        return found
    return [
        Mention(mention.start, mention.end, mention.text, ORG)
        if mention.type is LOC and mention.text in teams
        else mention
        for mention in found
    ]


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


def _lines(tokens: list[Token]) -> list[list[Token]]:
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


def _is_headline(line: list[Token], title_case_counts: bool) -> bool:
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


class _TextContext:
    """One text's tokens and what they say about each other (which words occur in lower case)."""

    def __init__(self, text: str, tokens: list[Token], lists: Gazetteers) -> None:
        self.text = text
        self.tokens = tokens
        self.lists = lists
        self.index = {id(token): position for position, token in enumerate(tokens)}
        self.lowercase_words = {
            token.text for token in tokens if token.kind == "word" and token.text.islower()
        }
        self.teams: set[str] = set()
        #: A sports story (three or more distinct sports words): its towns that play are clubs.
        self.sports = len({token.text.lower() for token in tokens} & _SPORTS_WORDS) >= 3
        self.line_stats: dict[int, tuple[int, int]] = {}  # line -> (numbers, long lower-case words)
        for token in tokens:
            numbers, lowercase = self.line_stats.get(token.line, (0, 0))
            if token.kind == "number":
                numbers += 1
            elif token.kind == "word" and token.text.islower() and len(token.text) > 3:
                lowercase += 1
            self.line_stats[token.line] = (numbers, lowercase)
        self.mid_sentence_caps = {
            token.text for token in tokens if token.capitalised and not token.sentence_start
        }

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
                if len(chunk) < size or not _adjacent(self.text, chunk):
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
                    _adjacent(self.text, [first, second])
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

    def _is_name_word(self, token: Token) -> bool:
        if token.kind == "hyphenated":
            return token.text[:1].isupper()
        if token.kind == "word" and _PREFIXED_NAME.match(token.text):
            return True  # "al-Kabariti", "bin-Laden": a name after a lower-case particle
        if not token.capitalised:
            return False
        if token.kind == "word" and any(char.isdigit() for char in token.text):
            return False  # "W145", "Q2", "H1": codes and periods end a name
        lower = token.text.lower()
        if token.sentence_start:
            if lower in FUNCTION_WORDS or lower in self.lowercase_words:
                return False
            return not lower.endswith("ly") or self.lists.is_place(token.text)
        return lower not in _CALENDAR and not (lower == "i" or lower.startswith(("i'", "i’")))

    def _spans(self, line: list[Token]) -> list[list[Token]]:
        spans: list[list[Token]] = []
        current: list[Token] = []
        position = 0
        while position < len(line):
            token = line[position]
            if self._is_name_word(token) and (not current or _adjacent(self.text, [current[-1], token])):
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
        return [trimmed for trimmed in (_trim_connectors(span) for span in spans) if trimmed]

    def _connector_run(self, line: list[Token], position: int, current: list[Token]) -> list[Token]:
        """Lower-case links inside a name: 'of (the)', particles, '&', followed by a capitalised word."""
        if not current:
            return []
        token = line[position]
        lower = token.text.lower()
        run: list[Token] = []
        if token.text == "&" or (token.kind == "word" and lower in _PARTICLES and token.text.islower()):
            run = [token]
            following = line[position + 1] if position + 1 < len(line) else None
            if following is not None and following.kind == "word" and following.text in _PARTICLES:
                run.append(following)  # "Edwin van der Sar", "Luis de la Fuente"
        elif token.kind == "word" and lower in ("and", "in") and _is_organisation_of(current):
            run = [token]  # "Organisation for Security and Cooperation in Europe"
        elif self._links_organisation_name(line, position, current):
            run = [token]  # "Securities and Exchange Commission", "Moody's Investors Service"
        elif token.kind == "word" and lower in _OF_WORDS and token.text.islower():
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
            and _adjacent(self.text, [current[-1], *run, line[after]])
        ):
            return run
        return []

    def _links_organisation_name(self, line: list[Token], position: int, current: list[Token]) -> bool:
        """'and' or a possessive between a word and a name ending in an organisation word.

        Only after one or two ordinary words or a name that is no place or given name, so that
        "Britain's Labour Party" and "Ford and General Motors Corp" stay apart.
        """
        token = line[position]
        if token.text not in _ORGANISATION_LINKS or len(current) > 2:
            return False
        lists = self.lists
        if token.text == "and":
            if not all(lists.is_common_word(word.text) for word in current) or any(
                word.text in lists.surnames for word in current
            ):
                return False
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

    def _classify(self, span: list[Token]) -> list[Mention]:
        lists = self.lists
        while len(span) > 1 and span[-1].text in _TRAILING_CODES and not span[0].text.isupper():
            span = span[:-1]  # "Gencor YR EPS": figure codes after a name in a table
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
        ):
            span = span[1:]  # "Rival Sony", "Shares of ...": an ordinary word capitalised by the sentence
        if span[-1].text.lower() in _COMPETITIONS and self.sports:
            return []  # "the American League", "Premier League" in a sports story: a competition
        if span[-1].text.lower() in ORG_LAST_WORDS and len(span) > 1:
            return [self._mention(_strip_demonyms(span, lists, keep=True), ORG)]
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
        span = _strip_demonyms(span, lists, keep=False)
        if not span:
            return []
        return self._classify_core(span, person_cue=self._person_cue(span))

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
                lists.is_common_word(token.text) or token.text in _COMPASS_POINTS for token in head
            ):
                return self._classify_core(person, person_cue=True)
            return None
        return None

    def _is_nicknamed_team(self, span: list[Token]) -> bool:
        """'New York Yankees', 'Atlanta Braves', 'Western Suburbs': a place or a point, a plural nickname."""
        if len(span) < 2:
            return False
        last = span[-1].text
        lower = last.lower()
        head = self._surface(span[:-1])
        return (
            (self.lists.is_place(head) or head in _COMPASS_POINTS)
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
        if (len(span) > 1 and last in LOC_LAST_WORDS) or self._named_as_place(span):
            return [self._mention(span, self._place_or_team(span))]  # "Port Vale 1", "Notts County 2"
        if len(span) > 2 and _is_organisation_of(span):
            return [self._mention(span, ORG)]
        if len(span) > 2 and span[1].text in _OF_WORDS and first.lower() in LOC_HEADS:
            return [self._mention(span, LOC)]
        if len(span) == 1:
            return self._classify_single(span[0], person_cue)
        if first in ("F.C.", "A.F.C.") or (
            "." not in first
            and first.upper() in _CLUB_PREFIXES
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
        name_shaped = all(_looks_like_name_part(token) for token in span)
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
        if _ACRONYM.match(word):
            if word.rstrip("s") in NON_ORG_ACRONYMS or word in NON_ORG_ACRONYMS or word in _currency_codes():
                return []  # "EPS", "BBB", "HUF": figures, ratings and currencies
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
        if word.lower() in _SINGLE_ORG_WORDS:
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
        if _COMPOUND_NAME.match(word):
            return [self._mention([token], PER)]  # "Inzamam-ul-Haq", "Abdul-Karim"
        return [self._mention([token], ORG)]

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

    def _classify_hyphenated(self, token: Token) -> list[Mention]:
        """'Russia-China' -> two places; 'Bre-X' and 'Chester-le-Street' stay one name."""
        parts = token.text.split("-")
        if all(part.lower() in _CALENDAR for part in parts):
            return []  # "January-June", "Jan-April": a period
        offset = token.start
        pieces: list[Token] = []
        for part in parts:
            pieces.append(Token(part, offset, offset + len(part), "word", line=token.line))
            offset += len(part) + 1
        if all(self.lists.is_place(piece.text) or self.lists.is_demonym(piece.text) for piece in pieces):
            return [self._mention([piece], LOC) for piece in pieces if self.lists.is_place(piece.text)]
        whole = Token(token.text, token.start, token.end, "word", token.sentence_start, token.line)
        return self._classify_core([whole], person_cue=self._person_cue([whole]))

    def _split_at_titles(self, span: list[Token]) -> list[Mention] | None:
        """'US President Joe Biden' -> LOC 'US' + PER 'Joe Biden'; 'Defence Secretary' -> nothing.

        The first run of title words holding a core title ("Prime Minister", "Foreign Minister")
        splits the span: what precedes is typed on its own, what follows is a person.
        """
        position = 0
        while position < len(span):
            if not _is_title(span[position]):
                position += 1
                continue
            run_end = position
            while run_end < len(span) and (_is_title(span[run_end]) or span[run_end].text in _OF_WORDS):
                run_end += 1
            run = span[position:run_end]
            if any(token.text.lower().rstrip(".") in STRONG_TITLES for token in run):
                sports_role = any(token.text.lower() in _SPORTS_ROLES for token in run)
                return self._around_title(span[:position], span[run_end:], sports_role)
            position = run_end
        return None

    def _around_title(self, before: list[Token], after: list[Token], sports_role: bool) -> list[Mention]:
        found: list[Mention] = []
        before = _trim_connectors(_strip_demonyms(before, self.lists, keep=False))
        while len(before) > 1 and self._is_portfolio_word(before[-1]):
            before = before[:-1]  # "EU Farm Commissioner": the portfolio is no part of "EU"
        after = _trim_connectors(after)
        surface = self._surface(before) if before else ""
        if before and sports_role and self.lists.is_place(surface) and not self.lists.is_country(surface):
            self.teams.add(surface)  # "Chelsea manager Jose Mourinho": the club
            found.append(self._mention(before, ORG))
        elif before:
            found.extend(self._classify_core(before, person_cue=False))
        if after:
            found.extend(self._classify_core(after, person_cue=True))
        return found

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
        end = self.index.get(id(span[-1]))
        if end is not None and end + 3 < len(self.tokens):
            comma, age, closing = self.tokens[end + 1 : end + 4]
            if comma.text == "," and age.kind == "number" and age.text.isdigit() and closing.text == ",":
                return 15 <= int(age.text) <= 110
        return False

    def _neighbours(self, span: list[Token]) -> tuple[list[Token], list[Token]]:
        """Up to three tokens before and after the span, on the same line."""
        first = self.index.get(id(span[0]))
        last = self.index.get(id(span[-1]))
        if first is None or last is None:
            return [], []
        line = span[0].line
        before = [token for token in self.tokens[max(first - 3, 0) : first] if token.line == line]
        after = [token for token in self.tokens[last + 1 : last + 4] if token.line == line]
        return before, after

    def _nationality_follows(self, span: list[Token]) -> bool:
        """'Ato Boldon (Trinidad)': results give a person's country after the name."""
        _, after = self._neighbours(span)
        return (
            len(after) >= 3
            and after[0].text == "("
            and after[2].text == ")"
            and (self.lists.is_country(after[1].text) or after[1].text in ("U.S.", "US", "USA"))
        )

    def _named_as_place(self, span: list[Token]) -> bool:
        """'the town of Port Lenning', 'Lake Zorb', 'Mount Kenya': the name of a place, known or not."""
        before, _ = self._neighbours(span)
        if len(before) >= 2 and before[-1].text == "of" and before[-2].text.lower() in _PLACE_NOUNS:
            return True
        return len(span) > 1 and span[0].text.lower().rstrip(".") in _PLACE_FIRST_WORDS

    def _named_as_organisation(self, span: list[Token]) -> bool:
        """'the energy cooperative Lenning Power', 'carmaker Zorbex': a noun saying what kind of body."""
        before, _ = self._neighbours(span)
        return bool(before) and before[-1].text in _ORGANISATION_NOUNS

    def _place_context(self, span: list[Token]) -> bool:
        """'in Arbil', 'at Headingley', 'Markham, Ontario': an unknown name used as a place."""
        before, after = self._neighbours(span)
        if before and before[-1].text in _PLACE_PREPOSITIONS:
            return True
        if (
            len(span) == 1
            and len(before) >= 2
            and before[-1].text == "the"
            and before[-2].text in _PLACE_PREPOSITIONS
        ):
            return True  # "at the Oval"
        return len(after) >= 2 and after[0].text == "," and self.lists.is_major_place(after[1].text)

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

    def _ends_like_business(self, span: list[Token]) -> bool:
        """'China Daily', 'Johnson Controls', 'Crystal Palace': an ordinary word last that is no surname."""
        last = span[-1].text
        return last not in self.lists.surnames and self.lists.is_common_word(last)

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

    def _unknown_subject(self, token: Token) -> bool:
        """'Reuters has ...' opening a sentence: no English word, and a verb follows."""
        word = token.text
        if word.isupper() or "'" in word or "’" in word or self.lists.is_common_word(word):
            return False  # "NOTE", "I'm", "Sales"
        _, after = self._neighbours([token])
        if not after or after[0].kind != "word" or not after[0].text.islower():
            return False  # "Councillors in the town": a plural the word list lacks
        following = after[0].text
        return following in _AUXILIARIES or following.endswith("ed") or following in _SPEECH_VERBS

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

    def _inside_longer_name(self, token: Token) -> bool:
        """'the Belt and Road', 'the Arts and Crafts': capitalised words joined by 'and' after 'the'."""
        if not self._after_article(token):
            return False
        _, after = self._neighbours([token])
        return len(after) >= 2 and after[0].text in ("and", "&") and after[1].capitalised

    def _after_article(self, token: Token) -> bool:
        """'the Belt and Road': a name after 'the' is not a person's."""
        position = self.index.get(id(token), 0)
        return position > 0 and self.tokens[position - 1].text.lower() == "the"

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
        venue_words = _PLACE_PREPOSITIONS | {"from", "to", "of", "the", ","}
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

    def _names_place(self, span: list[Token]) -> bool:
        """'Stansted airport', 'the Salang tunnel', 'Ravi river': a name followed by the kind of place."""
        _, after = self._neighbours(span)
        return bool(after) and after[0].text in _PLACE_KINDS

    def _names_media(self, span: list[Token]) -> bool:
        """'the official Xinhua news agency', 'the Izvestia daily': a name followed by what it is."""
        _, after = self._neighbours(span)
        words = [token.text for token in after[:2]]
        return bool(words) and (words[0] in _MEDIA_NOUNS or (words[0] == "news" and words[1:] == ["agency"]))

    def _plays(self, span: list[Token]) -> bool:
        """'Leicestershire beat Somerset', 'Essex v Kent', 'Surrey captain': a place that plays is a club."""
        before, after = self._neighbours(span)
        following = [token.text for token in after[:2]]
        return bool(
            (after and (after[0].text.lower() in _MATCH_WORDS or after[0].text in _SPORTS_ROLES))
            or (before and before[-1].text.lower() in _MATCH_WORDS | _TEAM_TITLES)
            or (  # "Marseille are seventh": a side, not a town; "Tehran and Moscow have" is two places
                self.sports
                and following
                and following[0] in _PLURAL_VERBS
                and not (before and before[-1].text in ("and", "&", "of", ","))
            )
            or (following and following[0] in _TEAM_NOUNS)  # "the Marseille club"
            or (len(following) == 2 and following[0] in _SPORTS and following[1] in _TEAM_NOUNS)
        )

    def _is_team(self, span: list[Token]) -> bool:
        """In a results line ('Barnsley 1 Bolton 2'), a name directly followed by a score."""
        end = self.index.get(id(span[-1]))
        if end is None or end + 1 >= len(self.tokens):
            return False
        following = self.tokens[end + 1]
        if following.kind != "number" or following.line != span[-1].line:
            return False
        if not _SCORE.match(following.text) or self._scored(span):
            return False  # "Sales 1,234.5": a row of figures, not a score
            return False
        if any(token.text.lower() in self.lowercase_words or not token.text.isalpha() for token in span):
            return False  # "Net 1.2 3.4", "M1 5.5": rows of a financial table
        numbers, lowercase = self.line_stats.get(span[-1].line, (0, 0))
        return (numbers >= 2 and lowercase <= 4) or (lowercase == 0 and self._opens_line(span))  # "Kent 323"

    def _opens_line(self, span: list[Token]) -> bool:
        first = self.index.get(id(span[0]))
        return first is not None and (first == 0 or self.tokens[first - 1].line != span[0].line)

    def _scored(self, span: list[Token]) -> bool:
        """A player in a match report: 'Nilis 42nd', 'Baeron 64th min', 'c Stewart b Mullally 61'."""
        first = self.index.get(id(span[0]))
        end = self.index.get(id(span[-1]))
        if first is None or end is None:
            return False
        previous = self.tokens[first - 1] if first > 0 else None
        if previous is not None and previous.line == span[0].line and previous.text in _DISMISSALS:
            return True  # cricket scorecards: caught (c), bowled (b), leg before (lbw), stumped (st)
        if end + 2 >= len(self.tokens):
            return False
        number, suffix = self.tokens[end + 1], self.tokens[end + 2]
        return (
            number.kind == "number"
            and number.end == suffix.start
            and suffix.text.lower() in _ORDINAL_SUFFIXES
        )

    def _surface(self, span: list[Token]) -> str:
        return self.text[span[0].start : span[-1].end]

    def _mention(self, span: list[Token], kind: EntityType) -> Mention:
        return Mention(span[0].start, span[-1].end, self._surface(span), kind)


@cache
def _currency_codes() -> frozenset[str]:
    """ISO 4217 codes ('HUF', 'DEM' is gone): a currency in capitals is no organisation."""
    import pycountry

    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def _is_organisation_of(span: list[Token]) -> bool:
    """'Organisation for Security', 'Corporation for Assigned Names': an organisation word, then of/for."""
    return any(
        left.text.lower() in ORG_HEADS or left.text.lower() in ORG_LAST_WORDS
        for left, right in itertools.pairwise(span)
        if right.text in _OF_WORDS
    )


def _is_title(token: Token) -> bool:
    return token.kind != "initial" and token.text.lower().rstrip(".") in PERSON_TITLES


def _adjacent(text: str, tokens: list[Token]) -> bool:
    """Consecutive tokens separated only by spaces (no line break, no punctuation)."""
    return all(text[left.end : right.start].strip(" \t") == "" for left, right in itertools.pairwise(tokens))


def _trim_connectors(span: list[Token]) -> list[Token]:
    """Without the lower-case links ('of the', 'and') a split left at either end."""
    while span and not _holds_a_name(span[-1]):
        span = span[:-1]
    while span and not _holds_a_name(span[0]):
        span = span[1:]
    return span


def _holds_a_name(token: Token) -> bool:
    return token.capitalised or token.kind == "hyphenated" or bool(_PREFIXED_NAME.match(token.text))


def _strip_demonyms(span: list[Token], lists: Gazetteers, keep: bool) -> list[Token]:
    """Leading nationality words ('Russian President', 'Chinese Xi'); kept in 'Chinese Communist Party'."""
    if keep:
        return span
    position = 0
    while position < len(span) and (
        lists.is_demonym(span[position].text)
        or (span[position].text.lower() in FUNCTION_WORDS and not span[position].text.isupper())
    ):
        position += 1
    return span[position:]


def _looks_like_name_part(token: Token) -> bool:
    """'Jinping', 'McCague', "O'Gorman", 'de', 'Anne-Gaelle' - not 'NATO' or 'Nations' plural of a word."""
    word = token.text
    return (
        (word[:1].isupper() and not word.isupper())
        or word in _PARTICLES
        or token.kind in ("initial", "abbr")
        or bool(_PREFIXED_NAME.match(word))
    )
