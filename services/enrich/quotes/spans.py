"""Quoted stretches of a text: quote marks paired, multi-paragraph quotes joined, scare quotes told apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Fewer words than this inside quote marks is a scare quote or a quoted term, not a quote...
MIN_QUOTE_WORDS = 5
#: ...unless it is a whole utterance: it ends with punctuation inside the marks and is attributed.
UTTERANCE_END = re.compile(r"[,.!?]$")


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


def quote_spans(body: str) -> list[Span]:
    """Quoted stretches of ``body``, following the multi-paragraph convention (re-opened, not closed)."""
    spans: list[Span] = []
    open_mark: int | None = None
    segments: list[tuple[int, int]] = []
    segment_start = 0
    # The open quote's text up to a paragraph break is a segment already; the next opening mark goes on.
    carried_over = False
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
                elif not carried_over:  # re-opened without closing: the same quote goes on
                    segments.append((segment_start, _rstrip(body, segment_start, position)))
                carried_over = False
                segment_start = position + 1
            elif kind == "close" and open_mark is not None:
                segments.append((segment_start, position))
                spans.append(Span(tuple(segments), open_mark, position))
                open_mark, segments = None, []
        if open_mark is not None:
            segments.append((segment_start, _rstrip(body, segment_start, paragraph_end)))
            carried_over = True
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
    return len(words) <= 12 and not UTTERANCE_END.search(text) and capitalised >= 0.7 * len(words)
