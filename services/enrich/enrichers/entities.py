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

from schemas.articles import Article, Entity
from services.enrich.enrichers import enricher
from services.enrich.nlp.gazetteers import gazetteers
from services.enrich.nlp.mentions import Recognizer
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
    """Load gazetteers and model now (about a second) rather than on the first article."""
    chosen = recognizer(backend or configured_backend())
    chosen.mentions("Warm-up: Vladimir Putin met officials of the United Nations in Astana.")
    gazetteers()


def extract_entities(article: Article, backend: str | None = None) -> list[Entity]:
    """The article's entities, most mentioned first."""
    chosen = recognizer(backend or configured_backend())
    body = article.body
    sections = [Section(article.title, chosen.mentions(article.title))]
    if article.caption:
        sections.append(Section(article.caption, chosen.mentions(article.caption)))
    sections.append(Section(body, chosen.mentions(body), is_body=True))
    return resolve(sections, is_demonym=gazetteers().is_demonym)


#: The backends' rules and models are for English; other languages get no entities rather than noise.
LANGUAGES = frozenset({"en"})


@enricher("entities", "1")
def entities(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Named people, organisations and places with canonical names, aliases and mention counts.

    Runs on English articles and on articles whose language is unknown (None).
    """
    language = fields.get("language")
    if language is not None and language not in LANGUAGES:
        return {"entities": []}
    return {"entities": extract_entities(article)}
