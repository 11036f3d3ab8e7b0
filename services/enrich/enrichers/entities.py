"""People, organisations and places named in the article, each under one canonical name.

A backend (``NEWSWIRE_ENRICH_ENTITIES_BACKEND``: ``rules`` by default, or ``spacy``) finds the
mentions in the title, caption and body; :mod:`services.enrich.nlp.resolve` merges them into
entities ("Putin", "President Putin" -> "Vladimir Putin"; "SCO" -> "Shanghai Cooperation
Organization"), counts mentions and records where each is first named in the body.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import Any

from schemas.articles import Article, Entity, EntityType
from services.enrich.enrichers import enricher
from services.enrich.lexicon import places as place_lexicon
from services.enrich.lexicon.entity_lists import gazetteers
from services.enrich.nlp import datelines
from services.enrich.nlp.datelines import find_dateline
from services.enrich.nlp.mentions import Mention, Recognizer
from services.enrich.nlp.resolve import Section, resolve
from services.enrich.nlp.rules import RuleRecognizer

BACKENDS = ("rules", "spacy")

_lock = threading.Lock()
_recognizers: dict[str, Recognizer] = {}


def recognizer(backend: str) -> Recognizer:
    """The process-wide recognizer of ``backend``, created on first use."""
    found = _recognizers.get(backend)
    if found is not None:
        return found
    with _lock:
        if backend not in _recognizers:
            _recognizers[backend] = _create(backend)
        return _recognizers[backend]


def _create(backend: str) -> Recognizer:
    if backend == "rules":
        return RuleRecognizer()
    if backend == "spacy":
        from services.enrich.nlp.spacy_backend import SpacyRecognizer

        return SpacyRecognizer()
    raise ValueError(f"unknown entities backend {backend!r}; expected one of {BACKENDS}")


@cache
def configured_backend() -> str:
    from services.enrich.settings import Settings

    return Settings().entities_backend


def warm_up(backend: str | None = None) -> None:
    """Load gazetteers, the datelines' city index and model now (about two seconds), not on first use."""
    chosen = recognizer(backend or configured_backend())
    chosen.mentions("Warm-up: Vladimir Putin met officials of the United Nations in Astana.")
    gazetteers()
    datelines.warm_up()  # _outside_dateline reads every article's dateline: cities, regions, places
    place_lexicon.warm_up()


def extract_entities(article: Article, backend: str | None = None) -> list[Entity]:
    """The article's entities, most mentioned first."""
    chosen = recognizer(backend or configured_backend())
    body = article.body
    sections = [Section(article.title, chosen.mentions(article.title))]
    if article.caption:
        sections.append(Section(article.caption, chosen.mentions(article.caption)))
    sections.append(Section(body, _outside_dateline(chosen.mentions(body), article), is_body=True))
    return resolve(sections, is_demonym=gazetteers().is_demonym)


def _outside_dateline(mentions: list[Mention], article: Article) -> list[Mention]:
    """The body's mentions without the dateline's people and organisations: its places stay.

    "MARTINSVILLE, Va., Feb 26 -" names where the story was filed; a rule that sees a capitalised
    run there must not make the town (or "Va.") a person or a company, but the town and its state
    ("YORK, England") are places the story names; an abbreviated state ("Va.") is left to the
    dateline itself. The agency after the place ("(Reuters)") is outside and stays. The first
    paragraph starts the body, so the dateline's offsets are body offsets.
    """
    dateline = find_dateline(article.paragraphs[0])
    if dateline is None:
        return mentions
    return [
        mention
        for mention in mentions
        if mention.end <= dateline.city_start
        or mention.start >= dateline.place_end
        or (mention.type is EntityType.LOCATION and not mention.text.endswith("."))
    ]


#: The backends' rules and models are for English; other languages get no entities rather than noise.
LANGUAGES = frozenset({"en"})


@enricher("entities", "3")
def entities(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Named people, organisations and places with canonical names, aliases and mention counts.

    Runs on English articles and on articles whose language is unknown (None).
    """
    language = fields.get("language")
    if language is not None and language not in LANGUAGES:
        return {"entities": []}
    return {"entities": extract_entities(article)}
