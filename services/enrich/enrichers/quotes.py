"""The ``quotes`` enricher: direct quotes in the body and who said them (:mod:`services.enrich.quotes`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.articles import Article, Quote
from services.enrich.enrichers import enricher
from services.enrich.enrichers.places import entities_of
from services.enrich.lexicon.names import given_names
from services.enrich.lexicon.places import gazetteer
from services.enrich.quotes.finder import find_quotes


def warm_up() -> None:
    """Load the gazetteer and the given-name list now rather than on the first article."""
    gazetteer()
    given_names()


@enricher("quotes", "2")
def quotes(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Direct quotes in the body, each with its speaker's canonical name when it can be resolved."""
    found = find_quotes(article.body, entities_of(fields), article.caption or "")
    return {
        "quotes": [
            Quote(
                text=quote.text,
                speaker=quote.speaker.name if quote.speaker else None,
                speaker_type=quote.speaker.type if quote.speaker else None,
                offset=quote.span.start,
            )
            for quote in found
        ]
    }
