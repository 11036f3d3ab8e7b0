"""Quotes of a text with their speakers: spans, attribution and who is being talked about, put together."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.articles import Entity, EntityType
from services.enrich.quotes.attribution import (
    PARTICIPLE,
    SENTENCE_END,
    SPEECH_VERB,
    Context,
    attribution_after,
    attribution_before,
    speaker_before_verb,
)
from services.enrich.quotes.names import NAME_RUN, POSSESSIVE, NameBook, Speaker
from services.enrich.quotes.spans import UTTERANCE_END, Span, is_scare_quote, quote_spans, span_text

MAX_QUOTE_CHARS = 5_000
_PREPOSITION_BEFORE = re.compile(
    r"\b(?:by|of|from|in|at|to|with|for|the|a|an|on|into|against|over|under|about|between|than|like|his|her|their|its)\s+$",
    re.IGNORECASE,
)


def _sentence_topics(body: str, names: NameBook) -> list[tuple[int, Speaker]]:
    """Who each sentence is about, in text order: the subject of its speech verb, else its subject.

    A sentence subject counts only when it is surely a person ("Kerr applauded the move"); a
    possessive ("Mr Bush's first task") or a name after a preposition is not the subject.
    """
    context = Context(body, names)
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


def _speech_subject(sentence: str, start: int, context: Context) -> tuple[int, Speaker] | None:
    for verb in SPEECH_VERB.finditer(sentence):
        before = sentence[: verb.start()]
        if re.search(r"[\"“”]", before) or PARTICIPLE.match(verb.group()):
            return None
        attributed, speaker = speaker_before_verb(before, context, start + verb.start())
        if attributed:
            return (start + verb.start(), speaker) if speaker is not None else None
    return None


def _sentence_subject(sentence: str, start: int, names: NameBook) -> tuple[int, Speaker] | None:
    opening = " ".join(sentence.split()[:10])
    for run in NAME_RUN.finditer(opening):
        if POSSESSIVE.search(run.group()) or (
            run.start() > 0 and _PREPOSITION_BEFORE.search(opening[: run.start()])
        ):
            continue
        speaker = names.resolve(run.group(), strict=True)
        if speaker is not None and names.is_person(speaker):
            return start + run.start(), speaker
    return None


@dataclass(frozen=True)
class FoundQuote:
    span: Span
    text: str
    speaker: Speaker | None
    attributed: bool


def find_quotes(body: str, entities: Sequence[Entity] = (), extra_text: str = "") -> list[FoundQuote]:
    """Quotes of ``body`` with their speakers; ``extra_text`` (title, caption) only helps naming."""
    names = NameBook(f"{extra_text}\n\n{body}", entities)
    context = Context(body, names, topics=_sentence_topics(body, names))
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
            if len(SENTENCE_END.findall(gap.strip())) == 0 and "\n\n" not in gap.strip():
                speaker = previous.speaker if _continues(gap, previous.speaker, names) else None
        if speaker is None and not attributed and span.open_mark == paragraph_start:
            speaker = context.topic_before(span.open_mark)
        if is_scare_quote(text) and not (attributed and UTTERANCE_END.search(text.rstrip())):
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
