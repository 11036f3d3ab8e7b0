from __future__ import annotations

from services.enrich.lexicon.loader import census_names, packaged_text, packaged_texts, word_set


def test_word_set_splits_a_block_of_text() -> None:
    assert word_set("""
        alpha beta
        gamma alpha
    """) == {"alpha", "beta", "gamma"}


def test_packaged_data_of_a_missing_package_is_none_or_empty() -> None:
    assert packaged_text("no_such_package_for_newswire", "data.txt") is None
    assert packaged_texts("no_such_package_for_newswire", "datasets", "person.json") == []


def test_packaged_texts_reads_one_file_per_subfolder() -> None:
    texts = packaged_texts("mimesis", "datasets", "person.json")
    assert len(texts) >= 30  # one a locale
    assert all(text.lstrip().startswith("{") for text in texts)


def test_census_names_are_title_cased_most_frequent_first() -> None:
    top = census_names("dist.male.first", limit=3)
    assert top == {"James", "John", "Robert"}
    assert "McDonald" in census_names("dist.all.last", limit=2_000)
