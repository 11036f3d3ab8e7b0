"""The largest body ingest accepts enriches in bounded time, and says when it was read only in part.

The 2,000,000-character cases are functional checks that enrichment finishes (the timeout marker is
a generous guard against a quadratic step coming back, not a speed claim).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.articles import Article
from services.enrich.pipeline import ENRICHERS, TEXT_BUDGET_CHARS, WHOLE_BODY_ENRICHERS, enrich, within_budget
from tests.unit.enrich.factories import article

LARGEST_BODY = 2_000_000
SAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "samples"


def _news_paragraphs() -> list[str]:
    """Real news prose (the repository's sample articles), quotes and names included."""
    paragraphs: list[str] = []
    for name in ("presstv-putin-xi-sco.txt", "rail-strike-talks.txt"):
        lines = SAMPLES.joinpath(name).read_text(encoding="utf-8").splitlines()
        paragraphs += [line.strip() for line in lines[1:] if len(line.split()) > 3]
    assert paragraphs
    return paragraphs


def _repeat_to(size: int, pieces: list[str], separator: str) -> list[str]:
    out: list[str] = []
    total = 0
    while total < size:
        piece = pieces[len(out) % len(pieces)]
        out.append(piece)
        total += len(piece) + len(separator)
    return out


def realistic() -> list[str]:
    return _repeat_to(LARGEST_BODY, _news_paragraphs(), "\n\n")


def one_giant_paragraph() -> list[str]:
    return [" ".join(_repeat_to(LARGEST_BODY, _news_paragraphs(), " "))[:LARGEST_BODY]]


def short_quoted_lines() -> list[str]:
    lines = [
        f'"We will not give up on talk number {index}," said Mr Person{index % 500} of Group{index % 70}.'
        for index in range(LARGEST_BODY // 60)
    ]
    return lines


def no_punctuation() -> list[str]:
    words = " ".join(_news_paragraphs()).translate({ord(char): " " for char in ".,;:!?\"“”'’()"}).split()
    return [" ".join(_repeat_to(LARGEST_BODY, words, " "))[:LARGEST_BODY]]


def capitalised_run() -> list[str]:
    words = [word.capitalize() for word in " ".join(_news_paragraphs()).split()]
    return [" ".join(_repeat_to(LARGEST_BODY, words, " "))[:LARGEST_BODY]]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "shape", [realistic, one_giant_paragraph, short_quoted_lines, no_punctuation, capitalised_run]
)
def test_the_largest_accepted_body_enriches_and_says_what_was_read(shape: Callable[[], list[str]]) -> None:
    source = article(paragraphs=shape())
    assert len(source.body) >= LARGEST_BODY
    enriched = enrich(source)
    assert TEXT_BUDGET_CHARS is not None
    assert enriched.word_count == len(source.body.split())  # cheap enrichers read everything
    partial = [run for run in enriched.enrichers if run.name not in WHOLE_BODY_ENRICHERS]
    assert partial
    for run, step in zip(enriched.enrichers, ENRICHERS, strict=True):
        if run.name in WHOLE_BODY_ENRICHERS:
            assert run.version == step.version
        else:
            read = len(within_budget(source, TEXT_BUDGET_CHARS).body)  # type: ignore[union-attr]
            assert run.version == f"{step.version} (first {read} of {len(source.body)} characters)"
    assert all(entity.first_offset < TEXT_BUDGET_CHARS for entity in enriched.entities)
    assert all(quote.offset < TEXT_BUDGET_CHARS for quote in enriched.quotes)


def test_the_realistic_large_body_is_still_enriched_from_its_first_part() -> None:
    source = article(paragraphs=realistic())
    enriched = enrich(source, budget_chars=20_000)
    budgeted = within_budget(source, 20_000)
    assert budgeted is not None
    alone = enrich(budgeted, budget_chars=None)
    assert enriched.entities == alone.entities and enriched.entities
    assert enriched.quotes == alone.quotes and enriched.quotes
    assert enriched.places == alone.places and enriched.keywords == alone.keywords
    assert enriched.summary == alone.summary


def test_an_article_within_the_budget_is_enriched_whole_with_plain_versions() -> None:
    source = article(paragraphs=_news_paragraphs())
    assert within_budget(source, TEXT_BUDGET_CHARS) is None
    enriched = enrich(source)
    assert [run.version for run in enriched.enrichers] == [step.version for step in ENRICHERS]
    assert enriched.model_dump(exclude={"enriched_at"}) == enrich(source, budget_chars=None).model_dump(
        exclude={"enriched_at"}
    )


def _cut(paragraphs: list[str], budget: int) -> list[str]:
    budgeted = within_budget(article(paragraphs=paragraphs), budget)
    assert budgeted is not None
    assert len(budgeted.body) <= budget
    assert article(paragraphs=paragraphs).body.startswith(budgeted.body)
    return budgeted.paragraphs


def test_the_budget_keeps_whole_paragraphs_and_cuts_the_last_one_at_a_word() -> None:
    assert _cut(["one two", "three four five", "six"], 12) == ["one two"]
    assert _cut(["one two", "three four five", "six"], 20) == ["one two", "three four"]
    assert _cut(["one two three"], 9) == ["one two"]
    assert _cut(["abcdefghijklmnop"], 5) == ["abcde"]  # no whitespace to cut at: cut mid-word
    assert within_budget(article(paragraphs=["short"]), 5) is None
    assert within_budget(article(paragraphs=["short"]), None) is None


def test_a_budgeted_article_is_still_a_valid_article() -> None:
    budgeted = within_budget(article(paragraphs=["x " * 50]), 10)
    assert budgeted is not None
    assert Article.model_validate(budgeted.model_dump()).paragraphs == budgeted.paragraphs
