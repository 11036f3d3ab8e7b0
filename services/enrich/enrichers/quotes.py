"""Direct quotes in the body and who said them.

A quote is text in double quotes (straight or curly) that is a sentence or at least five words;
shorter quoted phrases ("hegemony", "no limits") are scare quotes unless they are a whole attributed
utterance ("I resign," he said). Journalistic conventions handled:

* attribution after the quote (``"…," said Mr Brown`` / ``"…," the Russian president said``) or
  before it (``Mr Brown said: "…"`` / ``Xi told Putin "…"`` / ``According to X, "…"``);
* a quote running over several paragraphs, each opening with a quote mark and only the last one
  closed, is one quote;
* a quote without its own attribution continues the previous speaker (``"…," he said. "…"``), and
  a paragraph that is only a quote belongs to whoever was speaking or being talked about just before;
* pronouns and role phrases ("the Russian president", "the Chelsea striker") resolve to a person
  named in the article: through the aliases of the entities enricher's output when it ran, else
  through the titles and names seen in the text itself.

Speakers are canonical names: the entity's name when the entities enricher knows the person or
organisation, else the fullest form of the name in the article ("Ms Hewitt" -> "Patricia Hewitt").
A quote whose speaker cannot be resolved is kept with ``speaker=None`` only when an attribution verb
shows it is a quote at all.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from schemas.articles import Article, Entity, EntityType, Quote
from services.enrich.enrichers import enricher
from services.enrich.enrichers.places import entities_of
from services.enrich.lexicon.names import FEMALE_HONORIFICS, HONORIFICS, TITLE_WORDS, given_names
from services.enrich.lexicon.organisations import ORG_NAME_WORDS
from services.enrich.lexicon.place_tables import DEMONYMS
from services.enrich.lexicon.places import gazetteer, name_key
from services.enrich.lexicon.words import CLAUSE_OPENERS

#: Fewer words than this inside quote marks is a scare quote or a quoted term, not a quote...
MIN_QUOTE_WORDS = 5
#: ...unless it is a whole utterance: it ends with punctuation inside the marks and is attributed.
_UTTERANCE_END = re.compile(r"[,.!?]$")
#: An attribution after a full-sentence quote sits within this many words of the quote.
MAX_ATTRIBUTION_WORDS = 14
MAX_QUOTE_CHARS = 5_000

_SPEECH_VERBS = (
    "said|says|say|told|tells|added|adds|asked|asks|explained|explains|insisted|insists|argued|argues|"
    "warned|warns|claimed|claims|stated|declared|declares|noted|notes|commented|comments|continued|"
    "replied|replies|responded|wrote|writes|admitted|admits|acknowledged|acknowledges|conceded|"
    "suggested|suggests|urged|urges|stressed|stresses|emphasised|emphasized|recalled|recalls|announced|"
    "confirmed|predicted|predicts|maintained|maintains|complained|complains|joked|jokes|remarked|"
    "remarks|observed|concluded|cautioned|revealed|vowed|promised|pledged|boasted|countered|"
    "described|called|branded|dubbed|hailed|labelled|labeled|agreed|reported|reports|quipped|"
    "saying|adding|insisting|warning|explaining|telling|arguing|claiming|stressing|noting|"
    "pointed out|points out|went on|goes on|quoted as saying"
)
SPEECH_VERB = re.compile(rf"\b(?:{_SPEECH_VERBS})\b")
_PARTICIPLE = re.compile(
    r"^(?:saying|adding|insisting|warning|explaining|telling|arguing|claiming|stressing|noting)$"
)
_ACCORDING_TO = re.compile(r"\b[Aa]ccording to\s+(?P<subject>[^,;:.!?\"“”]{2,80}?)\s*(?:,|$)")

_NAME_TOKEN = r"[A-Z][\w'’&-]*"
_CONNECTOR = r"(?:de|da|dal|del|der|den|van|von|bin|ibn|al|el|la|le|di|du|dos|&)"
NAME_RUN = re.compile(rf"{_NAME_TOKEN}(?: +(?:{_CONNECTOR} +)?{_NAME_TOKEN})*")
_PRONOUN = re.compile(r"(?:^|\s)(?P<pronoun>he|she|they|it|we|I|He|She|They|It|We)\s*$")
_DETERMINED = re.compile(
    r"(?:^|\s)(?P<phrase>(?:[Tt]he|[Aa]n?|[Hh]is|[Hh]er|[Tt]heir|[Ii]ts|[Oo]ur|[Oo]ne)\s+[^,;:!?\"“”]{1,80}?)\s*$"
)
_POSSESSIVE = re.compile(r"['’]s$")

_LEADING_WORDS = TITLE_WORDS | CLAUSE_OPENERS
#: "the Kok report said", "his statement said": a document speaks for its author.
_DOCUMENT_HEADS = frozenset(
    {
        "report",
        "statement",
        "letter",
        "book",
        "blog",
        "website",
        "article",
        "column",
        "manifesto",
        "speech",
        "memo",
        "paper",
        "review",
    }
)
#: "a spokesman for the LSE", "a Fox spokesman": the organisation speaks.
_MOUTHPIECE_HEADS = frozenset(
    {
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "representative",
        "statement",
        "spokespeople",
        "source",
        "official",
    }
)
_PREPOSITION_BEFORE = re.compile(
    r"\b(?:by|of|from|in|at|to|with|for|the|a|an|on|into|against|over|under|about|between|than|like|his|her|their|its)\s+$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<![A-Z])[.!?](?=\s+[A-Z\"“])")


@dataclass(frozen=True)
class Speaker:
    name: str
    type: EntityType | None
    female: bool | None = None


@dataclass(frozen=True)
class Span:
    """A quote's text segments in body offsets; several when it runs over a paragraph break."""

    segments: tuple[tuple[int, int], ...]
    open_mark: int
    close_mark: int | None

    @property
    def start(self) -> int:
        return self.segments[0][0]

    @property
    def end(self) -> int:
        return self.segments[-1][1]


@dataclass
class _Context:
    body: str
    names: NameBook
    #: Who spoke or was talked about last, by body offset; the newest last.
    topics: list[tuple[int, Speaker]] = field(default_factory=list)
    _sentence_ends: SentenceEnds | None = None

    def topic_before(self, offset: int, female: bool | None = None) -> Speaker | None:
        # Topics are kept sorted by offset: start at the last one before ``offset``, not at the end.
        for index in range(bisect_left(self.topics, offset, key=_topic_offset) - 1, -1, -1):
            speaker = self.topics[index][1]
            same_gender = female is None or speaker.female is None or speaker.female == female
            if self.names.is_person(speaker) and same_gender:
                return speaker
        return None

    def sentence_ends(self) -> SentenceEnds:
        if self._sentence_ends is None:
            self._sentence_ends = SentenceEnds(self.body)
        return self._sentence_ends

    def add_topic(self, offset: int, speaker: Speaker) -> None:
        """Insert in offset order, after topics at the same offset (as a stable sort would)."""
        insort(self.topics, (offset, speaker), key=_topic_offset)


def _topic_offset(topic: tuple[int, Speaker]) -> int:
    return topic[0]


class SentenceEnds:
    """Where ``_SENTENCE_END`` matches in any stretch of a text, from one scan of the whole text.

    Scanning the stretch before every quote again would be quadratic in a long paragraph.
    """

    _END = re.compile(r"[.!?](?=(\s+)([A-Z\"“])?)")
    _NEXT_SENTENCE = re.compile(r"\s+[A-Z\"“]")

    def __init__(self, text: str) -> None:
        self._text = text
        #: Each end mark not preceded by a capital, and where the capital or quote after it is.
        self._marks: list[int] = []
        self._nexts: list[int] = []
        for match in self._END.finditer(text):
            if match.group(2) is not None and not self._after_capital(match.start()):
                self._marks.append(match.start())
                self._nexts.append(match.start(2))

    def _after_capital(self, position: int) -> bool:
        return position > 0 and "A" <= self._text[position - 1] <= "Z"

    def last_before(self, start: int, end: int) -> int:
        """Where the last sentence of ``text[start:end]`` begins: just after its last sentence end
        (``_SENTENCE_END`` on that stretch alone), else ``start``."""
        index = bisect_left(self._marks, end) - 1
        while index >= 0 and self._marks[index] >= start:
            if self._nexts[index] < end:
                return self._marks[index] + 1
            index -= 1
        # At the very start of the stretch nothing is seen before the mark.
        opens_on_end = start < end and self._text[start] in ".!?"
        if opens_on_end and self._NEXT_SENTENCE.match(self._text, start + 1, end):
            return start + 1
        return start


# ---------------------------------------------------------------- finding quote spans


def quote_spans(body: str) -> list[Span]:
    """Quoted stretches of ``body``, following the multi-paragraph convention (re-opened, not closed)."""
    spans: list[Span] = []
    open_mark: int | None = None
    segments: list[tuple[int, int]] = []
    segment_start = 0
    paragraph_ends = [match.start() for match in re.finditer(r"\n\n", body)] + [len(body)]
    marks = [(match.start(), match.group()) for match in re.finditer(r"[\"“”]", body)]
    mark_index = 0
    for paragraph_end in paragraph_ends:
        while mark_index < len(marks) and marks[mark_index][0] < paragraph_end:
            position, mark = marks[mark_index]
            mark_index += 1
            kind = _mark_kind(body, position, mark, open_mark is not None)
            if kind == "open":
                if open_mark is None:
                    open_mark = position
                else:  # re-opened without closing: the same quote goes on
                    segments.append((segment_start, _rstrip(body, segment_start, position)))
                segment_start = position + 1
            elif kind == "close" and open_mark is not None:
                segments.append((segment_start, position))
                spans.append(Span(tuple(segments), open_mark, position))
                open_mark, segments = None, []
        if open_mark is not None:
            segments.append((segment_start, _rstrip(body, segment_start, paragraph_end)))
            following = paragraph_end + 2
            if not (following < len(body) and body[following] in '"“'):
                spans.append(Span(tuple(segments), open_mark, None))
                open_mark, segments = None, []
    return [span for span in spans if span.end > span.start]


def _mark_kind(body: str, position: int, mark: str, is_open: bool) -> str:
    if mark == "“":
        return "open"
    if mark == "”":
        return "close"
    before = body[position - 1] if position > 0 else "\n"
    after = body[position + 1] if position + 1 < len(body) else "\n"
    opens = (before.isspace() or before in "([{-—–/") and not after.isspace()
    closes = not before.isspace() and (after.isspace() or not after.isalnum())
    if opens and not closes:
        return "open"
    if closes and not opens:
        return "close"
    return "close" if is_open else "open"


def _rstrip(body: str, start: int, end: int) -> int:
    while end > start and body[end - 1].isspace():
        end -= 1
    return end


def span_text(body: str, span: Span) -> str:
    return " ".join(body[start:end].strip() for start, end in span.segments)


def is_scare_quote(text: str) -> bool:
    """A quoted term or title rather than something someone said."""
    words = text.split()
    if len(words) < MIN_QUOTE_WORDS:
        return True
    capitalised = sum(word[0].isupper() for word in words if word[0].isalpha())
    return len(words) <= 12 and not _UTTERANCE_END.search(text) and capitalised >= 0.7 * len(words)


# ---------------------------------------------------------------- names


@dataclass(frozen=True)
class _FullName:
    name: str
    female: bool | None
    #: A given name we know, an honorific before the surname somewhere, or a PER entity: surely a person.
    confident: bool


class NameBook:
    """The people and organisations of one article, for turning a mention into a canonical name."""

    def __init__(self, text: str, entities: Sequence[Entity]) -> None:
        self.entities = [entity for entity in entities if entity.type is not EntityType.LOCATION]
        self.places = {entity.name for entity in entities if entity.type is EntityType.LOCATION}
        self.acronyms = {
            match.group("acronym"): match.group("full")
            for match in re.finditer(
                r"(?P<full>(?:[A-Z][\w&'’-]*\s+){1,6}?[A-Z][\w&'’-]*)\s+\((?P<acronym>[A-Z]{2,6})\)", text
            )
        }
        honoured = {
            match.group(2)
            for match in re.finditer(r"\b(Mr|Mrs|Ms|Miss|Dr|Sir|Lady|Lord|Dame)\.? ([A-Z][\w'’-]+)", text)
        }
        person_entities = {entity.name for entity in self.entities if entity.type is EntityType.PERSON}
        stands_alone = _StandAlone(text)
        self.full_names: list[_FullName] = []
        seen: set[str] = set()
        for match in NAME_RUN.finditer(text):
            tokens = _strip_titles(_POSSESSIVE.sub("", match.group()).split())
            if (
                2 <= len(tokens) <= 4
                and not self._is_place_or_org(tokens)
                and not CLAUSE_OPENERS & set(tokens)
                and all(any(char.islower() for char in token) for token in tokens)
            ):
                name = " ".join(tokens)
                if name not in seen:
                    seen.add(name)
                    confident = (
                        tokens[0] in given_names()
                        or tokens[-1] in honoured
                        or name in person_entities
                        or stands_alone(tokens)
                    )
                    self.full_names.append(_FullName(name, _female(match.group().split()), confident))
        self._index_names()
        self._resolved: dict[tuple[str, bool | None, bool], Speaker | None] = {}
        self._role_titles: dict[str, _RoleTitles] = {}

    def _index_names(self) -> None:
        """Lookup tables, so that resolving a mention does not walk every name and entity of the text."""
        self._confident_names = {full.name for full in self.full_names if full.confident}
        #: Full names by their (first, last) token and by either of those alone, in text order.
        self._full_by_ends: dict[tuple[str, str], list[int]] = {}
        self._full_by_token: dict[str, list[int]] = {}
        for index, full in enumerate(self.full_names):
            parts = full.name.split()
            self._full_by_ends.setdefault((parts[0], parts[-1]), []).append(index)
            for token in {parts[0], parts[-1]}:
                self._full_by_token.setdefault(token, []).append(index)
        #: Entities by casefolded form (3), by form without titles (2), a person's lone first or
        #: last name (1); each entity's core token count and the country words of person aliases.
        self._entity_forms: dict[str, list[int]] = {}
        self._entity_cores: dict[str, list[int]] = {}
        self._entity_tokens: dict[str, list[int]] = {}
        self._entity_core_length: list[int] = []
        self._person_aliases: list[tuple[Entity, list[tuple[set[str], set[str]]]]] = []
        for index, entity in enumerate(self.entities):
            forms = (entity.name, *entity.aliases)
            core = _strip_titles(entity.name.split())
            self._entity_core_length.append(len(core))
            for form in {form.casefold() for form in forms}:
                self._entity_forms.setdefault(form, []).append(index)
            for form in {" ".join(_strip_titles(form.split())).casefold() for form in forms}:
                self._entity_cores.setdefault(form, []).append(index)
            if entity.type is EntityType.PERSON and core:
                for token in {core[0], core[-1]}:
                    self._entity_tokens.setdefault(token, []).append(index)
                self._person_aliases.append(
                    (
                        entity,
                        [
                            (
                                {word.casefold() for word in alias.split()},
                                {code for code in map(_country_of, alias.split()) if code is not None},
                            )
                            for alias in entity.aliases
                        ],
                    )
                )

    def _is_place_or_org(self, tokens: Sequence[str]) -> bool:
        if any(token in ORG_NAME_WORDS for token in tokens) or " ".join(tokens) in self.places:
            return True
        return bool(gazetteer().scanned.get(name_key(" ".join(tokens))))

    def resolve(self, mention: str, female: bool | None = None, strict: bool = False) -> Speaker | None:
        """Canonical speaker for a name as written ("Mr Brown", "Xi", "LSE", "Q Magazine").

        ``strict`` is for names seen anywhere in a sentence rather than next to a speech verb:
        then an unknown capitalised phrase ("Consumer Electronics Show") is no one.
        """
        # The same few names come up again and again in one article: resolve each once.
        key = (mention, female, strict)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(mention, female, strict)
        return self._resolved[key]

    def _resolve(self, mention: str, female: bool | None, strict: bool) -> Speaker | None:
        raw = mention.split()
        female = female if female is not None else _female(raw)
        tokens = _strip_titles([_POSSESSIVE.sub("", token) for token in raw])
        if not tokens:
            return None
        name = " ".join(tokens)
        name = self.acronyms.get(name, name)
        entity = self._entity(name)
        if entity is not None:
            if len(_strip_titles(entity.name.split())) == 1 and not entity.name.isupper():
                fuller = self._full_name(entity.name.split()[-1:], strict)
                if fuller is not None:
                    return Speaker(
                        fuller.name, EntityType.PERSON, female if female is not None else fuller.female
                    )
            canonical = (
                " ".join(_strip_titles(entity.name.split()))
                if entity.type is EntityType.PERSON
                else entity.name
            )
            if entity.type is not EntityType.PERSON:
                core = " ".join(_strip_titles(entity.name.split()))
                if core in self._confident_names:
                    return Speaker(
                        core, EntityType.PERSON, female
                    )  # "US Attorney Roslynn Mauskopf" typed ORG
            return Speaker(canonical or entity.name, entity.type, female)
        if any(token in ORG_NAME_WORDS for token in tokens) or (len(tokens) == 1 and tokens[0].isupper()):
            return None if strict else Speaker(name, EntityType.ORGANIZATION)
        full = self._full_name(tokens, strict)
        if full is not None:
            return Speaker(full.name, EntityType.PERSON, female if female is not None else full.female)
        if raw[0] in HONORIFICS:
            return Speaker(name, EntityType.PERSON, female)
        if gazetteer().scanned.get(name_key(name)) or CLAUSE_OPENERS & set(tokens):
            return None  # "Russia said" is a government speaking, not a person: left unresolved
        if strict and tokens[0] not in given_names():
            return None
        return Speaker(name, EntityType.PERSON, female) if 2 <= len(tokens) <= 4 else None

    def organisation(self, mention: str) -> Speaker:
        """An organisation as written, expanded from its acronym or matched to an entity when known."""
        name = " ".join(token for token in mention.split() if token.casefold() != "the")
        name = self.acronyms.get(name, name)
        entity = self._entity(name)
        return Speaker(entity.name if entity is not None else name, EntityType.ORGANIZATION)

    def is_person(self, speaker: Speaker) -> bool:
        """A person, even when the entities enricher typed the name ORG ("Cat Deeley")."""
        if speaker.type is EntityType.PERSON or looks_like_person(speaker.name):
            return True
        return speaker.name in self._confident_names

    def _full_name(self, tokens: Sequence[str], strict: bool) -> _FullName | None:
        """The first full name in the text that ``tokens`` name: the same first and last token, or
        one of those alone."""
        if not tokens:
            return None
        if len(tokens) == 1:
            candidates = self._full_by_token.get(tokens[0], [])
        else:
            candidates = self._full_by_ends.get((tokens[0], tokens[-1]), [])
        for index in candidates:
            full = self.full_names[index]
            if not strict or full.confident:
                return full
        return None

    def _entity(self, name: str) -> Entity | None:
        """The entity a name stands for: exact name or alias first, then a lone first or last name.

        Among several, the one with the fullest name wins ("Keane" -> "Robbie Keane", not a
        "Matchwinner Keane" that a rule backend took for a name).
        """
        folded = name.casefold()
        tokens = name.split()
        strengths: dict[int, int] = {}
        if len(tokens) == 1:
            for index in self._entity_tokens.get(tokens[0], []):
                strengths[index] = 1
        for index in self._entity_cores.get(folded, []):
            strengths[index] = 2
        for index in self._entity_forms.get(folded, []):
            strengths[index] = 3
        ranked: list[tuple[int, int, int, Entity]] = []
        for index in sorted(strengths):  # entity order, so that ties rank as they always did
            entity = self.entities[index]
            core_length = min(self._entity_core_length[index], 3)
            ranked.append((core_length, strengths[index], entity.mentions, entity))
        if not ranked:
            return None
        ranked.sort(key=lambda item: item[:3], reverse=True)
        if len(ranked) > 1 and ranked[0][:2] == ranked[1][:2] and ranked[0][1] == 1:
            return None  # two people share that surname
        return ranked[0][3]

    def role_holder(self, phrase: str, before: int, text: str) -> Speaker | None:
        """The person a role phrase refers to ("the Russian president" -> Vladimir Putin).

        Looks for the role's head noun written as a title before a name ("Russian President
        Vladimir Putin") or in an alias of a person entity; a country or demonym in the phrase must
        match the one next to the title.
        """
        words = re.findall(r"[\w'’-]+", phrase)
        if len(words) < 2:
            return None
        head = words[-1].casefold()
        modifiers = {_country_of(word) for word in words[1:-1]} - {None}
        for entity, aliases in self._person_aliases:
            for alias_words, alias_countries in aliases:
                if head in alias_words and (not modifiers or modifiers & alias_countries):
                    return Speaker(entity.name, EntityType.PERSON)
        if text not in self._role_titles:  # one scan of the text for all role heads
            self._role_titles[text] = _RoleTitles(text, self.resolve)
        titles = self._role_titles[text].of(head)
        # The last one before ``before`` whose country fits: titles are in text order.
        for _end, context, candidate in reversed(titles[: bisect_left(titles, before + 1, key=_first)]):
            if not modifiers or modifiers & context:
                return candidate
        return None


def warm_up() -> None:
    """Load the gazetteer and the given-name list now rather than on the first article."""
    gazetteer()
    given_names()


def looks_like_person(name: str) -> bool:
    """A known given name and one to three more capitalised words: a person even if typed ORG."""
    tokens = name.split()
    return (
        2 <= len(tokens) <= 4
        and tokens[0] in given_names()
        and all(
            token[:1].isupper() and token not in ORG_NAME_WORDS and token not in CLAUSE_OPENERS
            for token in tokens
        )
    )


class _RoleTitles:
    """Every "<role head> <Name>" of a text ("Russian President Vladimir Putin") that names someone.

    One scan of the text finds each word (and each part of a hyphenated word: "vice-president")
    followed by a name; the titles of one head are then read off that index, in text order.
    """

    _TITLED = re.compile(rf"(?<![\w'’-])(?P<word>[\w'’-]+)(?=\s+(?P<name>{NAME_RUN.pattern}))")
    _PART_START = re.compile(r"(?<=[-'’])(?=[\w'’-])")
    _BEFORE = re.compile(r"(?:\S+\s+){0,2}$")
    #: How far back the two words before a title are looked for.
    _BEFORE_CHARS = 200

    def __init__(self, text: str, resolve: Callable[[str], Speaker | None]) -> None:
        self._text = text
        self._resolve = resolve
        #: Casefolded head -> (head start, word start, name end, name), in text order.
        self._index: dict[str, list[tuple[int, int, int, str]]] = {}
        self._titles: dict[str, list[tuple[int, frozenset[str], Speaker]]] = {}
        for match in self._TITLED.finditer(text):
            word, start = match.group("word"), match.start()
            for offset in [0, *(part.start() for part in self._PART_START.finditer(word))]:
                self._index.setdefault(word[offset:].casefold(), []).append(
                    (start + offset, start, match.end("name"), match.group("name"))
                )

    def of(self, head: str) -> list[tuple[int, frozenset[str], Speaker]]:
        """(end offset, the countries of the two words before the head, the person), in text order."""
        if head not in self._titles:
            self._titles[head] = self._find(head)
        return self._titles[head]

    def _find(self, head: str) -> list[tuple[int, frozenset[str], Speaker]]:
        titles: list[tuple[int, frozenset[str], Speaker]] = []
        taken = 0  # one title does not start inside the one before
        for head_start, word_start, end, name in self._index.get(head, []):
            if head_start < taken:
                continue
            before = ""
            if head_start == word_start:
                window = self._text[max(taken, word_start - self._BEFORE_CHARS) : word_start]
                before = self._BEFORE.search(window).group()  # type: ignore[union-attr]
            taken = end
            name_tokens = _strip_titles(name.split())
            if not name_tokens or not name_tokens[0][0].isupper():
                continue
            candidate = self._resolve(" ".join(name_tokens))
            if candidate is not None:
                countries = {_country_of(word) for word in re.findall(r"[\w'’-]+", before)}
                titles.append((end, frozenset(code for code in countries if code is not None), candidate))
        return titles


def _first(item: tuple[int, Any, Any]) -> int:
    return item[0]


class _StandAlone:
    """Whether a surname also names its bearer on its own, as a sentence's subject ("Deeley will
    host"), and not right after the given name: one scan of the text for all names."""

    _SUBJECT = re.compile(r"[\w'’&-]+(?= (?:[a-z]+ed|will|has|had|is|was|said|says)\b)")

    def __init__(self, text: str) -> None:
        self._text = text
        #: Every capitalised tail of a word that stands before such a verb -> where that tail starts.
        self._starts: dict[str, list[int]] = {}
        for match in self._SUBJECT.finditer(text):
            word = match.group()
            for index, char in enumerate(word):
                if char.isupper():
                    self._starts.setdefault(word[index:], []).append(match.start() + index)

    def __call__(self, tokens: Sequence[str]) -> bool:
        before = tokens[-2] + " "
        return any(not self._text.endswith(before, 0, start) for start in self._starts.get(tokens[-1], []))


def _strip_titles(tokens: Sequence[str]) -> list[str]:
    return list(_stripped(tuple(tokens)))


@lru_cache(maxsize=65_536)
def _stripped(name: tuple[str, ...]) -> tuple[str, ...]:
    """Name tokens without leading titles, function words and places ("Hong Kong Elena Dementieva").

    An owner before a possessive goes too ("Fabian Society's Sundar Katwala"), and so does whatever
    stands before a known given name in a long run ("New Yorker Dick Morris").
    """
    tokens = list(name)
    owners = [index for index, token in enumerate(tokens[:-1]) if re.search(r"['’]s?$", token)]
    if owners:
        tokens = tokens[owners[-1] + 1 :]
    if len(tokens) >= 3 and tokens[0] not in given_names():
        for index in range(1, len(tokens) - 1):
            if tokens[index] in given_names() and tokens[index - 1] not in given_names():
                tokens = tokens[index:]
                break
    while len(tokens) > 1 and (tokens[0].rstrip(".") in _LEADING_WORDS or _country_of(tokens[0]) is not None):
        tokens.pop(0)
    if tokens and (tokens[0].rstrip(".") in _LEADING_WORDS and len(tokens) == 1):
        return ()
    for size in (3, 2, 1):
        if len(tokens) >= size + 2 and gazetteer().scanned.get(name_key(" ".join(tokens[:size]))):
            return tuple(tokens[size:])
    return tuple(tokens)


def _female(tokens: Sequence[str]) -> bool | None:
    if tokens and tokens[0] in HONORIFICS:
        return tokens[0] in FEMALE_HONORIFICS
    return None


@lru_cache(maxsize=65_536)
def _country_of(word: str) -> str | None:
    word = _POSSESSIVE.sub("", word)
    if word in DEMONYMS:
        return DEMONYMS[word][0]
    entries = gazetteer().scanned.get(name_key(word)) if word[:1].isupper() else None
    if entries and entries[0].kind == "country":
        return entries[0].country_codes[0]
    return None


# ---------------------------------------------------------------- attribution


def speaker_before_verb(subject: str, context: _Context, at: int) -> tuple[bool, Speaker | None]:
    """Who a clause ending just before a speech verb names as the speaker.

    Returns (attributed, speaker): attributed is False when the clause names no one at all.
    """
    subject = subject.rstrip()
    # An appositive between subject and verb: "David Frost, director general of X, warned".
    appositive = re.search(r",\s*(?P<inner>[^,]{1,90}),$", subject)
    if appositive:
        inner = appositive.group("inner").strip()
        if NAME_RUN.fullmatch(inner):
            speaker = context.names.resolve(inner)
            if speaker is not None:
                return True, speaker
        subject = subject[: appositive.start()].rstrip()
    subject = subject.rstrip(",").rstrip()
    # "The 28-year-old host who also presents Stars In Their Eyes": the subject is before "who".
    relative = re.search(r"\s(?:who|which|whose)\s", subject)
    if relative and relative.start() > 0 and "," not in subject[relative.end() :]:
        subject = subject[: relative.start()]
    pronoun = _PRONOUN.search(subject)
    if pronoun:
        return True, _pronoun_speaker(pronoun.group("pronoun"), context, at)
    # "Kirsten Pfeifer from the Consumer Electronics Association", "Nick Bubb of Evolution Securities"
    subject = re.sub(rf"\s+(?:of|from|at|with)\s+(?:the\s+)?{NAME_RUN.pattern}$", "", subject)
    tail = re.search(rf"(?P<name>{NAME_RUN.pattern})$", subject)
    if tail:
        speaker = context.names.resolve(tail.group("name"))
        if speaker is None:
            return True, _phrase_speaker(subject, tail.start(), context, at)
        return True, speaker
    determined = _DETERMINED.search(subject)
    if determined:
        return True, _role_speaker(determined.group("phrase"), context, at)
    owner = re.search(
        rf"(?P<owner>{NAME_RUN.pattern})['’]s\s+(?P<thing>(?:[a-z-]+\s+){{0,3}}[a-z-]+)$", subject
    )
    if owner:
        return True, _owned_speaker(owner.group("owner"), owner.group("thing"), context)
    return False, None


def _phrase_speaker(subject: str, name_start: int, context: _Context, at: int) -> Speaker | None:
    """A capitalised name that is no known person: an organisation or a country's government."""
    before = subject[:name_start].rstrip()
    name = subject[name_start:]
    if re.search(r"(?:^|\s)(?:a|an|the)$", before, re.IGNORECASE):
        return _role_speaker(f"{before.split()[-1]} {name}", context, at)
    return None


def _owned_speaker(owner: str, thing: str, context: _Context) -> Speaker | None:
    head = thing.split()[-1]
    if _country_of(owner.split()[-1]) is not None and owner.split()[-1] == _POSSESSIVE.sub(
        "", owner.split()[-1]
    ):
        # "China's foreign ministry": the body itself speaks; kept as written.
        return Speaker(f"{owner}'s {thing}", EntityType.ORGANIZATION)
    speaker = context.names.resolve(owner)
    if speaker is not None and (head in _DOCUMENT_HEADS or speaker.type is EntityType.ORGANIZATION):
        return speaker if head in _DOCUMENT_HEADS else Speaker(speaker.name, EntityType.ORGANIZATION)
    return None


def _pronoun_speaker(pronoun: str, context: _Context, at: int) -> Speaker | None:
    folded = pronoun.casefold()
    if folded in ("he", "she"):
        return context.topic_before(at, female=folded == "she")
    if folded == "i":
        return context.topic_before(at)
    return None


def _role_speaker(phrase: str, context: _Context, at: int) -> Speaker | None:
    """ "the Russian president", "a spokesman for the LSE", "a Fox spokesman", "the Kok report"."""
    phrase = phrase.strip()
    mouthpiece = re.search(
        rf"\b(?:{'|'.join(_MOUTHPIECE_HEADS)})\s+(?:for|of|at)\s+(?:the\s+)?(?P<org>{NAME_RUN.pattern})",
        phrase,
    )
    if mouthpiece:
        return context.names.organisation(mouthpiece.group("org"))
    words = phrase.split()
    head = re.sub(r"[^\w-]", "", words[-1]).casefold()
    capitalised = [word for word in words[1:-1] if word[:1].isupper() and _country_of(word) is None]
    if capitalised and head in _MOUTHPIECE_HEADS:
        return context.names.organisation(" ".join(capitalised))
    if capitalised and head in _DOCUMENT_HEADS:
        return context.names.resolve(" ".join(capitalised))
    if head in _DOCUMENT_HEADS and words[0].casefold() in ("his", "her"):
        return _pronoun_speaker("he" if words[0].casefold() == "his" else "she", context, at)
    if head in _DOCUMENT_HEADS | _MOUTHPIECE_HEADS or head in {
        "company",
        "firm",
        "group",
        "government",
        "ministry",
    }:
        return None
    holder = context.names.role_holder(phrase, at, context.body)
    if holder is not None:
        return holder
    if words[0].casefold() in ("the", "our") and len(words) <= 4:
        return context.topic_before(at)
    return None


def attribution_after(body: str, span: Span, limit: int, context: _Context) -> tuple[bool, Speaker | None]:
    """``"…," said Mr Brown`` / ``"…," he said`` / ``"…" Xi told Putin``."""
    if span.close_mark is None or body[span.close_mark - 1] == ".":
        return False, None  # a quote closed on a full stop has ended its sentence
    rest = body[span.close_mark + 1 : limit]
    clause = _SENTENCE_END.split(rest, maxsplit=1)[0]
    inverted = re.match(rf"^[\s,]*(?P<verb>{_SPEECH_VERBS})\s+(?P<subject>[^.;:!?\"“”(]+)", clause)
    if inverted:
        subject = re.split(
            r",|\s+(?:of|from|at|in|on|to|for|during|after|before|when|while|as)\s", inverted.group("subject")
        )[0].strip()
        attributed, speaker = _inverted_subject(subject, context, span.start)
        if attributed:
            return True, speaker
    verb = SPEECH_VERB.search(clause)
    if verb is None or not re.match(r"^[\s,]*\S", clause):
        return False, None
    subject = clause[: verb.start()]
    if len(subject.split()) > MAX_ATTRIBUTION_WORDS or re.search(r"[\"“”;:]", subject) or not subject.strip():
        return False, None
    if not re.match(r"^[\s,]*[\w(]", subject) or (
        subject.lstrip(" ,")[:1].islower()
        and not _PRONOUN.search(subject.strip())
        and not _DETERMINED.search(subject.strip())
    ):
        return False, None
    return speaker_before_verb(
        subject.strip(" ,") + ("," if subject.rstrip().endswith(",") else ""), context, span.start
    )


def _inverted_subject(subject: str, context: _Context, at: int) -> tuple[bool, Speaker | None]:
    """The subject after the verb: "chief executive Alan Lovell",
    "the Tottenham striker", "a Fox spokesman"."""
    if _PRONOUN.fullmatch(" " + subject) or subject in ("he", "she"):
        return True, _pronoun_speaker(subject, context, at)
    names = list(NAME_RUN.finditer(subject))
    if names:
        last = names[-1]
        trailing = subject[last.end() :].strip()
        if not trailing:
            return True, context.names.resolve(last.group())
    determined = re.match(r"^(?:the|a|an|his|her|their|its|our|one)\s", subject, re.IGNORECASE)
    if determined:
        return True, _role_speaker(subject, context, at)
    if names:
        return True, _role_speaker("the " + subject, context, at)
    return False, None


def attribution_before(
    body: str, span: Span, floor: int, text: str, context: _Context
) -> tuple[bool, Speaker | None]:
    """``Mr Brown said: "…"`` / ``Xi told Putin "…"`` / ``According to X, "…"``."""
    if body is context.body:
        offset = context.sentence_ends().last_before(floor, span.open_mark)
    else:
        boundaries = [boundary.end() for boundary in _SENTENCE_END.finditer(body[floor : span.open_mark])]
        offset = floor + (boundaries[-1] if boundaries else 0)
    clause = body[offset : span.open_mark]
    according = _ACCORDING_TO.search(clause)
    if according:
        return True, _according_speaker(according.group("subject"), context, span.start)
    verbs = list(SPEECH_VERB.finditer(clause))
    if not verbs:
        return False, None
    verb = verbs[-1]
    between = clause[verb.end() :]
    partial = text[:1].islower()
    if not partial and (
        len(between.split()) > MAX_ATTRIBUTION_WORDS or not re.search(r"(?:[:;,]|\bthat|^)\s*$", between)
    ):
        return False, None
    if _PARTICIPLE.match(verb.group()):
        subject = clause[: verb.start()].strip(" ,")
        return True, _main_subject(subject, context, offset + verb.start())
    return speaker_before_verb(clause[: verb.start()], context, offset + verb.start())


def _according_speaker(subject: str, context: _Context, at: int) -> Speaker | None:
    _, speaker = speaker_before_verb(subject, context, at)
    return speaker


def _main_subject(clause: str, context: _Context, at: int) -> Speaker | None:
    """The subject of "But he is not envious, insisting: …" or "Mr Blair paid tribute, saying …"."""
    pronoun = re.match(r"^(?:\w+,?\s+){0,2}?(?P<pronoun>he|she|He|She)\b", clause.strip())
    if pronoun:
        return _pronoun_speaker(pronoun.group("pronoun"), context, at)
    for run in NAME_RUN.finditer(clause):
        speaker = context.names.resolve(run.group())
        if speaker is not None:
            return speaker
    return None


# ---------------------------------------------------------------- topics (who is being talked about)


def _sentence_topics(body: str, names: NameBook) -> list[tuple[int, Speaker]]:
    """Who each sentence is about, in text order: the subject of its speech verb, else its subject.

    A sentence subject counts only when it is surely a person ("Kerr applauded the move"); a
    possessive ("Mr Bush's first task") or a name after a preposition is not the subject.
    """
    context = _Context(body, names)
    chars = list(body)  # blanked in place: rebuilding the string per quote would be quadratic
    for span in quote_spans(body):
        for start, end in span.segments:  # what people say is not what the article is about
            stop = "." if "".join(chars[start:end]).rstrip().endswith((".", "!", "?")) else " "
            chars[start:end] = " " * (end - start - 1) + stop
    body = "".join(chars)
    for match in re.finditer(r"[^.!?\n\"“”\s][^.!?\n]*", body):
        sentence, start = match.group(), match.start()
        found = _speech_subject(sentence, start, context)
        if found is None:
            found = _sentence_subject(sentence, start, names)
        if found is not None:
            context.add_topic(*found)
    return context.topics


def _speech_subject(sentence: str, start: int, context: _Context) -> tuple[int, Speaker] | None:
    for verb in SPEECH_VERB.finditer(sentence):
        before = sentence[: verb.start()]
        if re.search(r"[\"“”]", before) or _PARTICIPLE.match(verb.group()):
            return None
        attributed, speaker = speaker_before_verb(before, context, start + verb.start())
        if attributed:
            return (start + verb.start(), speaker) if speaker is not None else None
    return None


def _sentence_subject(sentence: str, start: int, names: NameBook) -> tuple[int, Speaker] | None:
    opening = " ".join(sentence.split()[:10])
    for run in NAME_RUN.finditer(opening):
        if _POSSESSIVE.search(run.group()) or (
            run.start() > 0 and _PREPOSITION_BEFORE.search(opening[: run.start()])
        ):
            continue
        speaker = names.resolve(run.group(), strict=True)
        if speaker is not None and names.is_person(speaker):
            return start + run.start(), speaker
    return None


# ---------------------------------------------------------------- putting it together


@dataclass(frozen=True)
class FoundQuote:
    span: Span
    text: str
    speaker: Speaker | None
    attributed: bool


def find_quotes(body: str, entities: Sequence[Entity] = (), extra_text: str = "") -> list[FoundQuote]:
    """Quotes of ``body`` with their speakers; ``extra_text`` (title, caption) only helps naming."""
    names = NameBook(f"{extra_text}\n\n{body}", entities)
    context = _Context(body, names, topics=_sentence_topics(body, names))
    spans = quote_spans(body)
    breaks = [match.start() for match in re.finditer(r"\n(?=\n)", body)]  # every "\n\n", overlaps too
    found: list[FoundQuote] = []
    previous: FoundQuote | None = None
    for index, span in enumerate(spans):
        text = span_text(body, span)
        next_open = spans[index + 1].open_mark if index + 1 < len(spans) else len(body)
        following = bisect_left(breaks, span.end)
        paragraph_end = breaks[following] if following < len(breaks) else len(body)
        limit = min(next_open, paragraph_end)
        previous_close = (previous.span.close_mark or previous.span.end) + 1 if previous else 0
        preceding = bisect_left(breaks, span.open_mark - 1)  # a "\n\n" that ends by the open mark
        paragraph_start = breaks[preceding - 1] + 2 if preceding > 0 else 0
        floor = max(previous_close, paragraph_start)
        attributed, speaker = attribution_after(body, span, limit, context)
        if not attributed:
            attributed, speaker = attribution_before(body, span, floor, text, context)
        if not attributed and previous is not None and previous.speaker is not None:
            # "…," he said. "…" — or a new paragraph carrying on the same person's words.
            gap = body[(previous.span.close_mark or previous.span.end) + 1 : span.open_mark]
            if len(_SENTENCE_END.findall(gap.strip())) == 0 and "\n\n" not in gap.strip():
                speaker = previous.speaker if _continues(gap, previous.speaker, names) else None
        if speaker is None and not attributed and span.open_mark == paragraph_start:
            speaker = context.topic_before(span.open_mark)
        if is_scare_quote(text) and not (attributed and _UTTERANCE_END.search(text.rstrip())):
            continue
        if speaker is None and not attributed:
            continue
        quote = FoundQuote(span, text[:MAX_QUOTE_CHARS], speaker, attributed)
        found.append(quote)
        if speaker is not None:
            context.add_topic(span.start, speaker)
        previous = quote
    return found


def _continues(gap: str, speaker: Speaker, names: NameBook) -> bool:
    """Whether the text between two quotes leaves the first speaker talking (no one else is named)."""
    for run in NAME_RUN.finditer(gap):
        other = names.resolve(run.group(), strict=True)
        if other is not None and other.type is EntityType.PERSON and other.name != speaker.name:
            return False
    return True


@enricher("quotes", "1")
def quotes(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Direct quotes in the body, each with its speaker's canonical name when it can be resolved."""
    found = find_quotes(article.body, entities_of(fields), article.caption or "")
    return {
        "quotes": [
            Quote(
                text=quote.text,
                speaker=quote.speaker.name if quote.speaker else None,
                speaker_type=quote.speaker.type if quote.speaker else None,
                offset=quote.span.start,
            )
            for quote in found
        ]
    }
