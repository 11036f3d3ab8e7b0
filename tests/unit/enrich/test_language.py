from __future__ import annotations

from pathlib import Path

import pytest

from services.enrich.enrichers.language import detect_language, language, normalize_code
from tests.unit.enrich.factories import ENGLISH_PARAGRAPHS, FRENCH_PARAGRAPH, GERMAN_PARAGRAPH, article


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" ".join(ENGLISH_PARAGRAPHS), "en"), (FRENCH_PARAGRAPH, "fr"), (GERMAN_PARAGRAPH, "de")],
)
def test_detects_the_language_of_a_paragraph(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_detects_english_in_the_sample_article(seed_path: Path) -> None:
    if not seed_path.exists():
        pytest.skip(f"sample article not present at {seed_path}")
    assert detect_language(seed_path.read_text(encoding="utf-8")) == "en"


@pytest.mark.parametrize("text", ["", "ok", "Putin meets Xi", "12345 678 — 2024", "!!! ???"])
def test_too_short_or_letterless_text_has_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_hint_is_used_when_the_text_is_too_short() -> None:
    assert detect_language("Putin meets Xi", hint="en-GB") == "en"


def test_a_confident_detection_beats_the_hint() -> None:
    assert detect_language(GERMAN_PARAGRAPH, hint="en") == "de"


def test_detection_is_deterministic() -> None:
    mixed = "Hello and welcome. Bonjour et bienvenue. Hallo und willkommen. " * 3
    assert len({detect_language(mixed) for _ in range(20)}) == 1


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-US", "en"),
        ("pt_BR", "pt"),
        ("zh-cn", "zh"),
        ("", None),
        (None, None),
        ("english", None),
        ("e", None),
        ("12", None),
    ],
)
def test_normalize_code_keeps_iso_639_1_primary_subtag(tag: str | None, code: str | None) -> None:
    assert normalize_code(tag) == code


def test_language_enricher_reads_title_and_body_and_falls_back_to_the_hint() -> None:
    assert language(article(paragraphs=[FRENCH_PARAGRAPH], title="Sommet régional"), {}) == {"language": "fr"}
    short = article(title="Xi", paragraphs=["Putin."], language_hint="ru")
    assert language(short, {}) == {"language": "ru"}
    assert language(article(title="Xi", paragraphs=["Putin."]), {}) == {"language": None}
    assert language.name == "language" and language.version
