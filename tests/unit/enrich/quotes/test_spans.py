from __future__ import annotations

import pytest

from services.enrich.quotes.spans import is_scare_quote, quote_spans, span_text


def test_reopened_quote_within_one_paragraph_is_one_quote() -> None:
    body = (
        'Ms Jane Holt said: "We have doubled the grant. "We will double it again next year." Then she left.'
    )
    spans = quote_spans(body)
    assert len(spans) == 1
    assert span_text(body, spans[0]) == "We have doubled the grant. We will double it again next year."


def test_a_quote_over_paragraphs_reopens_each_paragraph_and_closes_once() -> None:
    body = 'She said: "First part of it.\n\n"Second part of it."\n\nThe end.'
    [span] = quote_spans(body)
    assert len(span.segments) == 2 and span.close_mark is not None
    assert span_text(body, span) == "First part of it. Second part of it."


def test_an_unclosed_quote_ends_with_its_paragraph() -> None:
    body = 'He said: "We will not give up the fight for the harbour\n\nThe vote is on Monday.'
    [span] = quote_spans(body)
    assert span.close_mark is None
    assert span_text(body, span) == "We will not give up the fight for the harbour"


@pytest.mark.parametrize(
    "phrase", ["hegemony", "special military operation", "no limits", "The Return Of The Silver Lake Monster"]
)
def test_short_phrases_and_titles_are_scare_quotes(phrase: str) -> None:
    assert is_scare_quote(phrase)


def test_a_sentence_is_no_scare_quote() -> None:
    assert not is_scare_quote("We will double the grant again next year.")
