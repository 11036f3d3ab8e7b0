"""``newswire search`` on the enrichment fields, against a throwaway index made from the real template.

The documents are built with :func:`schemas.search_index.document_from` from hand-made enriched
articles, so the mapping, the document shape and the CLI's queries are exercised together. The
index has a unique name and is deleted afterwards; the archive's alias is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch

from schemas.articles import EnrichedArticle, Entity, EntityType, GeoPoint, Place, Quote
from tests.integration.search_server import throwaway_index
from tests.unit.index.factories import enriched_article

pytestmark = pytest.mark.integration

SUMMIT = "summit"
XI, PUTIN = "Xi Jinping", "Vladimir Putin"
SCO = "Shanghai Cooperation Organization"


def person(name: str) -> Entity:
    return Entity(name=name, type=EntityType.PERSON, mentions=2, first_offset=0)


def enriched(**fields: Any) -> EnrichedArticle:
    """An enriched article of the World section, published 3 July 2024 by Example News."""
    defaults = {
        "section": "World",
        "source": "Example News",
        "published_at": datetime(2024, 7, 3, 9, 30, tzinfo=UTC),
    }
    return enriched_article(**{**defaults, **fields})


SUMMIT_ARTICLE = enriched(
    title="Putin, Xi meet at Central Asian summit",
    paragraphs=[
        "Vladimir Putin and Xi Jinping met at the summit of the Shanghai Cooperation Organization in Astana.",
        "Xi told Putin the two sides should uphold the original aspiration of friendship for generations.",
    ],
    section="Russia",
    entities=[
        person(PUTIN),
        person(XI),
        Entity(name=SCO, type=EntityType.ORGANIZATION, mentions=1, first_offset=60),
    ],
    places=[Place(name="Astana", kind="city", country_codes=["KZ"], location=GeoPoint(lat=51.17, lon=71.45))],
    countries=["KZ", "CN", "RU"],
    primary_country="KZ",
    quotes=[
        Quote(
            text="the two sides should uphold the original aspiration of friendship for generations to come",
            speaker=XI,
            speaker_type=EntityType.PERSON,
            offset=120,
        ),
        Quote(text="relations are at their best period in history", speaker=PUTIN, offset=10),
    ],
)
# The same story republished elsewhere: found only with --include-duplicates.
SUMMIT_COPY = enriched(
    title="Putin and Xi hold talks at summit",
    paragraphs=list(SUMMIT_ARTICLE.paragraphs),
    entities=list(SUMMIT_ARTICLE.entities),
    countries=["KZ"],
    quotes=list(SUMMIT_ARTICLE.quotes),
    duplicate_of=SUMMIT_ARTICLE.id,
)
# Putin speaks of friendship and Xi is quoted too, but not saying it: the nested query must not
# match words of one quote with the speaker of another.
OTHER_SUMMIT = enriched(
    title="Leaders praise friendship at a summit on trade",
    paragraphs=[
        "Vladimir Putin spoke of friendship at the summit; Xi Jinping spoke about trade and tariffs."
    ],
    entities=[person(PUTIN), person(XI)],
    countries=["RU"],
    quotes=[
        Quote(text="our friendship has no limits", speaker=PUTIN, offset=0),
        Quote(text="trade must stay open to everyone", speaker=XI, offset=40),
    ],
)
TRADE_ARTICLE = enriched(
    title="Trade body warns of slower growth",
    paragraphs=["The World Trade Organization said growth in goods trade would slow next year."],
    section="Business",
    entities=[
        Entity(name="World Trade Organization", type=EntityType.ORGANIZATION, mentions=1, first_offset=4)
    ],
    countries=["US"],
)
ARTICLES = (SUMMIT_ARTICLE, SUMMIT_COPY, OTHER_SUMMIT, TRADE_ARTICLE)


@pytest.fixture(scope="module")
def search_index(es: Elasticsearch) -> Iterator[str]:
    with throwaway_index(es, ARTICLES, "newswire-test-search-fields") as name:
        yield name


def search(index: str, *args: str) -> dict[str, Any]:
    script = shutil.which("newswire")
    command = [script] if script else [sys.executable, "-m", "services.cli"]
    result = subprocess.run(
        [*command, "search", "--index", index, "--json", *args],
        capture_output=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr.decode()
    output: dict[str, Any] = orjson.loads(result.stdout)
    return output


def ids(output: dict[str, Any]) -> set[str]:
    return {hit["id"] for hit in output["hits"]}


def test_what_did_xi_say_about_friendship(search_index: str) -> None:
    output = search(search_index, "--quotes", "friendship", "--speaker", XI)

    assert ids(output) == {SUMMIT_ARTICLE.id}
    [quote] = output["hits"][0]["quotes"]
    assert quote["speaker"] == XI
    assert "<em>friendship</em>" in quote["highlight"]


def test_quotes_by_text_alone_find_every_speaker(search_index: str) -> None:
    output = search(search_index, "--quotes", "friendship")

    assert ids(output) == {SUMMIT_ARTICLE.id, OTHER_SUMMIT.id}
    speakers = {quote["speaker"] for hit in output["hits"] for quote in hit["quotes"]}
    assert speakers == {XI, PUTIN}


def test_person_filters_and_duplicates(search_index: str) -> None:
    both = search(search_index, SUMMIT, "--person", XI, "--person", PUTIN)
    assert ids(both) == {SUMMIT_ARTICLE.id, OTHER_SUMMIT.id}
    with_copies = search(search_index, SUMMIT, "--person", XI, "--include-duplicates")
    assert ids(with_copies) == {SUMMIT_ARTICLE.id, OTHER_SUMMIT.id, SUMMIT_COPY.id}
    [copy_hit] = [hit for hit in with_copies["hits"] if hit["id"] == SUMMIT_COPY.id]
    assert copy_hit["duplicate_of"] == SUMMIT_ARTICLE.id


def test_org_place_country_and_section_filters(search_index: str) -> None:
    assert ids(search(search_index, "--org", SCO)) == {SUMMIT_ARTICLE.id}
    assert ids(search(search_index, "--place", "Astana")) == {SUMMIT_ARTICLE.id}
    assert ids(search(search_index, "--country", "ru")) == {SUMMIT_ARTICLE.id, OTHER_SUMMIT.id}
    assert ids(search(search_index, "growth", "--section", "Business")) == {TRADE_ARTICLE.id}


def test_facets_count_the_results(search_index: str) -> None:
    output = search(search_index, SUMMIT)

    assert ids(output) == {SUMMIT_ARTICLE.id, OTHER_SUMMIT.id}
    people = {bucket["value"]: bucket["count"] for bucket in output["facets"]["people"]}
    assert people == {XI: 2, PUTIN: 2}
    assert {bucket["value"] for bucket in output["facets"]["countries"]} == {"KZ", "CN", "RU"}
    assert output["facets"]["organizations"] == [{"value": SCO, "count": 1}]
    assert output["facets"]["places"] == [{"value": "Astana", "count": 1}]
    assert {bucket["value"] for bucket in output["facets"]["sections"]} == {"Russia", "World"}
