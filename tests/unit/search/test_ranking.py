"""How the words of a search score an article (services/search/ranking.py), as request clauses."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.search.query import build_query
from services.search.ranking import RANKING, can_relax, quoted_phrases, words_of


def bool_query(body: dict) -> dict:
    query = body["query"]
    return query["function_score"]["query"]["bool"] if "function_score" in query else query["bool"]


def test_words_match_in_caption_and_body_or_all_of_them_in_the_headline() -> None:
    body = build_query("Shanghai Cooperation Organization")

    assert "filter" not in bool_query(body)
    [matching] = bool_query(body)["must"]
    core, headline = matching["bool"]["should"]
    assert matching["bool"]["minimum_should_match"] == 1
    assert core["combined_fields"]["query"] == "Shanghai Cooperation Organization"
    assert core["combined_fields"]["fields"] == ["caption", "body"]
    assert headline["combined_fields"]["fields"] == ["title", "lead"]
    assert headline["combined_fields"]["operator"] == "and"
    # Words in the opening count a little more than the same words deep in the body.
    [lead] = bool_query(body)["should"]
    assert lead == {
        "match": {"lead": {"query": "Shanghai Cooperation Organization", "boost": RANKING.lead_boost}}
    }


def test_exact_phrase_multiplies_the_score() -> None:
    body = build_query("Putin Xi")

    function_score = body["query"]["function_score"]
    [multiplier] = function_score["functions"]
    assert multiplier["filter"]["multi_match"]["type"] == "phrase"
    assert multiplier["filter"]["multi_match"]["query"] == "Putin Xi"
    assert multiplier["filter"]["multi_match"]["fields"] == ["title", "caption", "body"]
    assert multiplier["weight"] == RANKING.phrase_multiplier > 1
    assert function_score["boost_mode"] == "multiply"
    # One word is its own phrase: nothing to multiply.
    assert "function_score" not in build_query("Astana")["query"]


@pytest.mark.parametrize(
    ("text", "required"),
    [
        # One or two words: one is enough (news names people by surname).
        ("Glazer", 1),
        ("Malcolm Glazer", 1),
        # Three to eight: two, so a stemmed fragment ("Cooper") alone brings nothing in.
        ("Shanghai Cooperation Organization", 2),
        ("Putin Xi Astana summit", 2),
        ("one two three four five six seven eight", 2),
        # Long questions: a tenth of the words.
        (" ".join(f"w{n}" for n in range(30)), 3),
    ],
)
def test_words_required_scale_with_the_query_length(text: str, required: int) -> None:
    """Evaluates Elasticsearch's minimum_should_match syntax as its docs define it, for the spec we send."""
    spec = RANKING.minimum_should_match
    terms = len(text.split())
    need = terms
    for condition in spec.split():
        above, _, value = condition.partition("<")
        if terms > int(above):
            if value.endswith("%"):
                need = int(terms * int(value[:-1]) / 100)
            elif value.startswith("-"):
                need = terms + int(value)
            else:
                need = int(value)
    assert max(need, 1) == required


def test_a_search_that_found_nothing_can_be_relaxed_to_any_word() -> None:
    assert can_relax("Shanghai Cooperation Organization")
    assert not can_relax("Kathmandu")

    relaxed = build_query("Shanghai Cooperation Organization", relaxed=True)

    [matching] = bool_query(relaxed)["must"]
    assert matching["bool"]["should"][0]["combined_fields"]["minimum_should_match"] == "1"


def test_quoted_phrases_are_boosts_not_filters_and_quote_marks_leave_the_words() -> None:
    assert quoted_phrases('"digital music" Apple "  "') == ["digital music"]
    assert words_of('"digital music" Apple') == "digital music Apple"

    body = build_query('"digital music" Apple')

    [matching] = bool_query(body)["must"]
    assert matching["bool"]["should"][0]["combined_fields"]["query"] == "digital music Apple"
    strict = build_query('"digital music" Apple', ranking=replace(RANKING, quoted_phrases_required=True))
    assert {
        "multi_match": {"query": "digital music", "fields": ["title", "caption", "body"], "type": "phrase"}
    } in (bool_query(strict)["must"])


def test_exact_forms_rule_filters_on_the_unstemmed_fields_without_scoring() -> None:
    strict = build_query(
        "Shanghai Cooperation Organization", ranking=replace(RANKING, exact_forms_required=True)
    )

    [exact] = [clause for clause in bool_query(strict)["filter"] if "multi_match" in clause]
    assert exact["multi_match"]["fields"] == ["title.exact", "body.exact"]
    assert exact["multi_match"]["minimum_should_match"] == RANKING.minimum_should_match
    assert "filter" not in bool_query(build_query("Shanghai Cooperation Organization"))
    relaxed = build_query(
        "Shanghai Cooperation Organization", relaxed=True, ranking=replace(RANKING, exact_forms_required=True)
    )
    assert "filter" not in bool_query(relaxed)
