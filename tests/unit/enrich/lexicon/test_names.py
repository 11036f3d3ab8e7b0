from __future__ import annotations

import pytest

from services.enrich.lexicon import names
from services.enrich.lexicon.names import EAST_ASIAN_FAMILY_NAMES, NEVER_NAMES, given_names


def test_given_names_come_from_census_mimesis_and_east_asian_family_names() -> None:
    known = given_names()
    assert {"John", "Mary", "Xi", "Nguyen"} <= known
    assert "Ilse" in names._mimesis_names()  # German, not in the US census lists


def test_function_words_titles_and_ordinary_words_are_no_given_names() -> None:
    known = given_names()
    assert not NEVER_NAMES & known
    assert "Sales" not in names._mimesis_names()  # a Spanish name, but "Sales 12 11" is a table row
    assert all(names._LATIN_NAME.match(name) for name in names._mimesis_names())  # no other scripts


def test_without_gender_guesser_the_list_still_has_the_other_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default install has no gender-guesser (GPL-3.0): it is the optional extra names-intl."""
    real = names.packaged_text

    def without_gender_guesser(package: str, *path: str, encoding: str = "utf-8") -> str | None:
        return None if package == "gender_guesser" else real(package, *path, encoding=encoding)

    monkeypatch.setattr(names, "packaged_text", without_gender_guesser)
    assert names._gender_guesser_names() == set()
    found = names._given_names()
    assert {"John", "Ilse", "Xi"} <= found
    assert found >= EAST_ASIAN_FAMILY_NAMES
