"""How the words of a search score an article: the ranking part of the search request.

:data:`RANKING` was chosen by measurement (``python -m bench.quality.relevance``); :func:`text_clauses`
turns a query's text into the clauses :func:`services.search.query.build_query` puts in the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SEARCH_FIELDS = ("title", "caption", "body")
#: Where a story names what it is about: its headline and its opening (``lead``, the first words of
#: the first paragraph, written by the index service).
HEADLINE_FIELDS = ("title", "lead")
#: The unstemmed twins of the searched fields (the caption has none).
EXACT_FIELDS = ("title.exact", "body.exact")


@dataclass(frozen=True)
class Ranking:
    """How the words of a query score an article. :data:`RANKING`, the default, was chosen by
    measurement on judged queries (``python -m bench.quality.relevance``; the README's table lists
    every variant tried and what it did).

    * **Core**: BM25F over caption and body as one field (Elasticsearch's ``combined_fields``).
      ``minimum_should_match`` scales with the query's length: one or two words need one (news names
      people by surname, so "Malcolm Glazer" must find "Glazer"), three to eight need two (so
      stemming alone, "Cooper" for "Shanghai Cooperation Organization", brings nothing in), long
      questions need a tenth. A search that finds nothing is sent again relaxed (:func:`can_relax`).
    * **Headline**: every word in the headline and opening together adds ``headline_boost``. One
      word of a longer query in a headline says little, all of them say what the story is about;
      weighting the title inside the core instead lost on long queries.
    * **Lead**: words in the opening (``lead``) add ``lead_boost``: news names its subject first.
    * **Phrases**: an article holding the whole query as a phrase (in its title, caption or body)
      has its score multiplied by ``phrase_multiplier``, so it ranks first: an additive
      boost cannot promise that (BM25 scores depend on the archive), and additive phrase boosts
      measured worse. A quoted phrase is a boost too, not a filter, unless
      ``quoted_phrases_required``.
    """

    #: Weight of the title inside the core (0: the title counts through ``headline_boost`` only).
    title_weight: float = 0.0
    caption_weight: float = 1.0
    minimum_should_match: str = "1<-1 3<2 8<10%"
    headline_boost: float = 0.5
    lead_boost: float = 0.1
    phrase_multiplier: float = 10.0
    #: Where the phrase must appear for the multiplier.
    phrase_fields: tuple[str, ...] = SEARCH_FIELDS
    #: Added for the whole query, and each quoted phrase, as a phrase anywhere.
    phrase_boost: float = 0.0
    quoted_phrase_multiplier: float = 1.0
    quoted_phrases_required: bool = False
    #: Words within ``proximity_slop`` positions of each other add ``proximity_boost``.
    proximity_slop: int = 0
    proximity_boost: float = 0.0
    #: The words required must also be there as typed (unstemmed ``.exact`` fields): stemming then
    #: only ranks, so "Cooper" and "Shanghai" do not count as two words of "Shanghai Cooperation
    #: Organization".
    exact_forms_required: bool = False
    #: ``combined_fields`` (BM25F over the fields) or a ``multi_match`` type such as ``best_fields``.
    scoring: str = "combined_fields"

    def fields(self) -> list[str]:
        weights = {"title": self.title_weight, "caption": self.caption_weight, "body": 1.0}
        return [
            name if weights[name] == 1.0 else f"{name}^{weights[name]:g}"
            for name in SEARCH_FIELDS
            if weights[name] > 0
        ]


RANKING = Ranking()
#: A quoted part of the query ("digital music"): those words must appear together, in that order.
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class TextClauses:
    must: list[dict[str, Any]]
    should: list[dict[str, Any]]
    #: Conditions that do not score (the exact-form rule).
    filter: list[dict[str, Any]]


def words_of(text: str) -> str:
    """The query's words with its quote marks taken out (quoted phrases are handled apart)."""
    return " ".join(text.replace('"', " ").split())


def quoted_phrases(text: str) -> list[str]:
    return [" ".join(found.split()) for found in _QUOTED.findall(text) if found.split()]


def phrase_clause(
    phrase: str, boost: float | None = None, slop: int = 0, fields: tuple[str, ...] = SEARCH_FIELDS
) -> dict[str, Any]:
    clause: dict[str, Any] = {"query": phrase, "fields": list(fields), "type": "phrase"}
    if slop:
        clause["slop"] = slop
    if boost is not None:
        clause["boost"] = boost
    return {"multi_match": clause}


def text_clauses(text: str, ranking: Ranking = RANKING, relaxed: bool = False) -> TextClauses:
    """The clauses scoring ``text``.

    An article matches when enough of the words are in its caption and body (the core) or all of
    them are in its headline and opening; both add to the score. Quoted phrases must appear when
    ``ranking.quoted_phrases_required`` (unless ``relaxed``); the rest are boosts.
    """
    words = words_of(text)
    core: dict[str, Any] = {
        "query": words,
        "fields": ranking.fields(),
        "minimum_should_match": "1" if relaxed else ranking.minimum_should_match,
    }
    matching: dict[str, Any] = (
        {"combined_fields": core}
        if ranking.scoring == "combined_fields"
        else {"multi_match": {**core, "type": ranking.scoring}}
    )
    if ranking.headline_boost:
        headline = {
            "query": words,
            "fields": list(HEADLINE_FIELDS),
            "operator": "and",
            "boost": ranking.headline_boost,
        }
        matching = {"bool": {"should": [matching, {"combined_fields": headline}], "minimum_should_match": 1}}
    must: list[dict[str, Any]] = [matching]
    should: list[dict[str, Any]] = []
    for phrase in quoted_phrases(text):
        if ranking.quoted_phrases_required and not relaxed:
            must.append(phrase_clause(phrase))
        elif ranking.phrase_boost:
            should.append(phrase_clause(phrase, boost=ranking.phrase_boost))
    if ranking.lead_boost:
        should.append({"match": {"lead": {"query": words, "boost": ranking.lead_boost}}})
    several_words = len(words.split()) > 1
    if several_words and ranking.phrase_boost:
        should.append(phrase_clause(words, boost=ranking.phrase_boost))
    if several_words and ranking.proximity_slop and ranking.proximity_boost:
        should.append(phrase_clause(words, boost=ranking.proximity_boost, slop=ranking.proximity_slop))
    filters: list[dict[str, Any]] = []
    if ranking.exact_forms_required and not relaxed:
        exact = {
            "query": words,
            "type": "cross_fields",
            "fields": list(EXACT_FIELDS),
            # Built in (no plugin), so it exists on every index: letters, lower case, no stop words.
            "analyzer": "stop",
            "minimum_should_match": ranking.minimum_should_match,
        }
        filters.append({"multi_match": exact})
    return TextClauses(must=must, should=should, filter=filters)


def phrase_multipliers(text: str, ranking: Ranking = RANKING) -> dict[str, float]:
    """Phrase -> factor multiplying the score of articles holding it: the whole query (of several
    words) and each quoted phrase."""
    multipliers: dict[str, float] = {}
    if ranking.quoted_phrase_multiplier != 1.0:
        multipliers.update(dict.fromkeys(quoted_phrases(text), ranking.quoted_phrase_multiplier))
    words = words_of(text)
    if len(words.split()) > 1 and ranking.phrase_multiplier != 1.0:
        multipliers[words] = ranking.phrase_multiplier
    return multipliers


def can_relax(text: str, ranking: Ranking = RANKING) -> bool:
    """Whether ``build_query(..., relaxed=True)`` could find more than the strict request: the query
    has several words or a quoted phrase. Send it when the strict one found nothing."""
    return len(words_of(text).split()) > 1 or (ranking.quoted_phrases_required and bool(quoted_phrases(text)))
