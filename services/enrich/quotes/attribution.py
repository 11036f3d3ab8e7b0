"""Who a quote's clause names as its speaker: before or after the quote, pronouns, roles and mouthpieces."""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from dataclasses import dataclass, field

from schemas.articles import EntityType
from services.enrich.quotes.names import NAME_RUN, POSSESSIVE, NameBook, Speaker, country_of
from services.enrich.quotes.spans import Span

#: An attribution after a full-sentence quote sits within this many words of the quote.
MAX_ATTRIBUTION_WORDS = 14

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
PARTICIPLE = re.compile(
    r"^(?:saying|adding|insisting|warning|explaining|telling|arguing|claiming|stressing|noting)$"
)
_ACCORDING_TO = re.compile(r"\b[Aa]ccording to\s+(?P<subject>[^,;:.!?\"“”]{2,80}?)\s*(?:,|$)")
_PRONOUN = re.compile(r"(?:^|\s)(?P<pronoun>he|she|they|it|we|I|He|She|They|It|We)\s*$")
_DETERMINED = re.compile(
    r"(?:^|\s)(?P<phrase>(?:[Tt]he|[Aa]n?|[Hh]is|[Hh]er|[Tt]heir|[Ii]ts|[Oo]ur|[Oo]ne)\s+[^,;:!?\"“”]{1,80}?)\s*$"
)

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
SENTENCE_END = re.compile(r"(?<![A-Z])[.!?](?=\s+[A-Z\"“])")


@dataclass
class Context:
    """What attribution knows of one article: its body, its names and who was talked about where."""

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
    """Where ``SENTENCE_END`` matches in any stretch of a text, from one scan of the whole text.

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
        (``SENTENCE_END`` on that stretch alone), else ``start``."""
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


def speaker_before_verb(subject: str, context: Context, at: int) -> tuple[bool, Speaker | None]:
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


def _phrase_speaker(subject: str, name_start: int, context: Context, at: int) -> Speaker | None:
    """A capitalised name that is no known person: an organisation or a country's government."""
    before = subject[:name_start].rstrip()
    name = subject[name_start:]
    if re.search(r"(?:^|\s)(?:a|an|the)$", before, re.IGNORECASE):
        return _role_speaker(f"{before.split()[-1]} {name}", context, at)
    return None


def _owned_speaker(owner: str, thing: str, context: Context) -> Speaker | None:
    head = thing.split()[-1]
    if country_of(owner.split()[-1]) is not None and owner.split()[-1] == POSSESSIVE.sub(
        "", owner.split()[-1]
    ):
        # "China's foreign ministry": the body itself speaks; kept as written.
        return Speaker(f"{owner}'s {thing}", EntityType.ORGANIZATION)
    speaker = context.names.resolve(owner)
    if speaker is not None and (head in _DOCUMENT_HEADS or speaker.type is EntityType.ORGANIZATION):
        return speaker if head in _DOCUMENT_HEADS else Speaker(speaker.name, EntityType.ORGANIZATION)
    return None


def _pronoun_speaker(pronoun: str, context: Context, at: int) -> Speaker | None:
    folded = pronoun.casefold()
    if folded in ("he", "she"):
        return context.topic_before(at, female=folded == "she")
    if folded == "i":
        return context.topic_before(at)
    return None


def _role_speaker(phrase: str, context: Context, at: int) -> Speaker | None:
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
    capitalised = [word for word in words[1:-1] if word[:1].isupper() and country_of(word) is None]
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


def attribution_after(body: str, span: Span, limit: int, context: Context) -> tuple[bool, Speaker | None]:
    """``"…," said Mr Brown`` / ``"…," he said`` / ``"…" Xi told Putin``."""
    if span.close_mark is None or body[span.close_mark - 1] == ".":
        return False, None  # a quote closed on a full stop has ended its sentence
    rest = body[span.close_mark + 1 : limit]
    clause = SENTENCE_END.split(rest, maxsplit=1)[0]
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


def _inverted_subject(subject: str, context: Context, at: int) -> tuple[bool, Speaker | None]:
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
    body: str, span: Span, floor: int, text: str, context: Context
) -> tuple[bool, Speaker | None]:
    """``Mr Brown said: "…"`` / ``Xi told Putin "…"`` / ``According to X, "…"``."""
    if body is context.body:
        offset = context.sentence_ends().last_before(floor, span.open_mark)
    else:
        boundaries = [boundary.end() for boundary in SENTENCE_END.finditer(body[floor : span.open_mark])]
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
    if PARTICIPLE.match(verb.group()):
        subject = clause[: verb.start()].strip(" ,")
        return True, _main_subject(subject, context, offset + verb.start())
    return speaker_before_verb(clause[: verb.start()], context, offset + verb.start())


def _according_speaker(subject: str, context: Context, at: int) -> Speaker | None:
    _, speaker = speaker_before_verb(subject, context, at)
    return speaker


def _main_subject(clause: str, context: Context, at: int) -> Speaker | None:
    """The subject of "But he is not envious, insisting: …" or "Mr Blair paid tribute, saying …"."""
    pronoun = re.match(r"^(?:\w+,?\s+){0,2}?(?P<pronoun>he|she|He|She)\b", clause.strip())
    if pronoun:
        return _pronoun_speaker(pronoun.group("pronoun"), context, at)
    for run in NAME_RUN.finditer(clause):
        speaker = context.names.resolve(run.group())
        if speaker is not None:
            return speaker
    return None
