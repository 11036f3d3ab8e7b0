from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from schemas.articles import Article
from services.enrich import readme
from services.enrich.enrichers import enricher
from services.enrich.pipeline import ENRICHERS


@enricher("sentiment", "7")
def sentiment(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """How positive the story sounds.

    Not a real enricher: it only shows that the generated lists follow the registry.
    """
    return {}


def test_readme_lists_the_pipelines_enrichers() -> None:
    text = readme.README.read_text(encoding="utf-8")
    assert text == readme.with_enrichers_table(text), "run: python3 -m services.enrich.readme"


def test_the_enrich_package_docstring_lists_the_pipelines_enrichers() -> None:
    source = readme.PACKAGE_INIT.read_text(encoding="utf-8")
    assert source == readme.with_enrichers_paragraph(source), "run: python3 -m services.enrich.readme"
    import services.enrich

    assert services.enrich.__doc__ is not None
    for step in ENRICHERS:
        assert f"``{step.name}``" in services.enrich.__doc__


def test_the_table_follows_the_registry() -> None:
    table = readme.enrichers_markdown((*ENRICHERS, sentiment))
    assert table.splitlines()[-1] == (
        "| `sentiment` | 7 | the first 200,000 characters | How positive the story sounds. |"
    )
    assert len(table.splitlines()) == 2 + len(ENRICHERS) + 1
    current = readme.README.read_text(encoding="utf-8")
    assert readme.with_enrichers_table(current, (*ENRICHERS, sentiment)) != current


def test_the_docstring_paragraph_follows_the_registry_and_keeps_the_rest() -> None:
    source = '"""Title.\n\nEnrichers, in run order: ``old``.\n\nAfter.\n"""\n'
    regenerated = readme.with_enrichers_paragraph(source, (sentiment,))
    assert regenerated == (
        '"""Title.\n\nEnrichers, in run order (:data:`services.enrich.pipeline.ENRICHERS`, listed by '
        ':mod:`.readme`): ``sentiment``.\n\nAfter.\n"""\n'
    )
    last = '"""Title.\n\nEnrichers, in run order: ``old``.\n"""\n'
    assert readme.with_enrichers_paragraph(last, (sentiment,)).endswith('``sentiment``.\n"""\n')


def test_a_document_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="enrichers:start"):
        readme.with_enrichers_table("# README without the block\n")
    with pytest.raises(ValueError, match="Enrichers, in run order"):
        readme.with_enrichers_paragraph('"""No list here."""\n')


def test_check_passes_on_this_tree() -> None:
    assert readme.main(["--check"]) == 0
