"""Extractive summary: whole sentences from the lead, short, never the caption."""

from __future__ import annotations

import pytest

from services.enrich.enrichers.summary import MAX_WORDS, split_sentences, summarize, summary
from tests.unit.enrich.factories import article

TITLE = "Harbour Authority approves container terminal"
LEAD = (
    "The Harbour Authority of Port Elwood approved a new container terminal on Tuesday, ending a "
    "two-year dispute with fishing crews."
)
PARAGRAPHS = [
    LEAD + " The vote was close.",
    "The container terminal will double the capacity of the port and is expected to open in 2027.",
    "“We listened to everyone,” the chair of the authority said after the vote on the terminal.",
    "Fishing crews had argued that dredging would damage the breakwater and the spawning grounds.",
    "The authority will also pay for a new fishing harbour on the southern shore of the bay.",
]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("One sentence. Another one!", ["One sentence.", "Another one!"]),
        (
            "Mr. Smith met Dr. J. Doe in the U.S. on Monday. He left.",
            ["Mr. Smith met Dr. J. Doe in the U.S. on Monday.", "He left."],
        ),
        ("Prices rose 2.5% to $11.1bn. Shares fell.", ["Prices rose 2.5% to $11.1bn.", "Shares fell."]),
        ("He said: “It is over.” Then he left.", ["He said: “It is over.”", "Then he left."]),
        ("No closing punctuation", ["No closing punctuation"]),
    ],
)
def test_split_sentences(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected


def test_summary_starts_with_the_lead_and_keeps_whole_sentences_in_order() -> None:
    text = summarize(TITLE, PARAGRAPHS)
    assert text is not None and text.startswith(LEAD)
    sentences = [s for p in PARAGRAPHS for s in split_sentences(p)]
    chosen = split_sentences(text)
    assert 1 <= len(chosen) <= 2
    assert all(sentence in sentences for sentence in chosen)
    assert [sentences.index(s) for s in chosen] == sorted(sentences.index(s) for s in chosen)
    assert len(text.split()) <= MAX_WORDS


def test_quotes_short_sentences_and_the_caption_are_never_chosen() -> None:
    caption = "Fishing boats in the harbour of Port Elwood on Monday, before the vote of the authority."
    paragraphs = [
        caption,
        "Short one.",
        "“We listened to everyone in the town,” the chair of the authority said.",
        *PARAGRAPHS[1:],
    ]
    text = summarize(TITLE, paragraphs, caption=caption)
    assert text is not None
    assert caption not in text and "Short one." not in text and "“" not in text


def test_a_long_lead_is_kept_whole_rather_than_cut() -> None:
    long_sentence = "The authority " + " ".join(["approved the plan"] * 30) + " on Tuesday."
    text = summarize(TITLE, [long_sentence])
    assert text == long_sentence


def test_nothing_usable_gives_no_summary() -> None:
    assert summarize(TITLE, ["Too short.", "no closing punctuation at all in this fragment"]) is None


def test_enricher_uses_the_body_not_the_caption() -> None:
    source = article(title=TITLE, paragraphs=PARAGRAPHS, caption="A caption that must never appear in it.")
    result = summary(source, {"language": "en"})["summary"]
    assert result is not None and result.startswith(LEAD)
    assert summary.name == "summary" and summary.version
