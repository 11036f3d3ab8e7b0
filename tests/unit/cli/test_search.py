"""How ``newswire search`` presents hits."""

from __future__ import annotations

from typing import ClassVar

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.cli.search import highlighted, hit_summary

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def test_highlighted_makes_em_bold_and_keeps_other_text_literal() -> None:
    text = highlighted("the <em>Shanghai Cooperation</em> summit [SCO] in <em>Astana</em>")

    assert text.plain == "the Shanghai Cooperation summit [SCO] in Astana"
    bold = [text.plain[span.start : span.end] for span in text.spans if span.style == "bold"]
    assert bold == ["Shanghai Cooperation", "Astana"]


def test_highlighted_without_marks_is_plain() -> None:
    text = highlighted("no marks here")

    assert text.plain == "no marks here" and text.spans == []


def test_hit_summary_takes_fields_from_source_and_keeps_em_tags() -> None:
    hit = {
        "_id": "a" * 32,
        "_score": 12.5,
        "_source": {
            "id": "a" * 32,
            "title": "Putin, Xi meet at Central Asian summit",
            "section": "Russia",
            "source": "Press TV",
            "canonical_url": "https://www.presstv.ir/Detail/2024/07/03/1",
            "published_at": "2024-07-03T10:00:00Z",
        },
        "highlight": {"body": ["<em>Putin</em> and <em>Xi</em> convened in the capital"]},
    }

    summary = hit_summary(hit)

    assert summary == {
        "id": "a" * 32,
        "score": 12.5,
        "title": "Putin, Xi meet at Central Asian summit",
        "section": "Russia",
        "source": "Press TV",
        "url": "https://www.presstv.ir/Detail/2024/07/03/1",
        "published_at": "2024-07-03T10:00:00Z",
        "summary": None,
        "duplicate_of": None,
        "dateline": None,
        "highlights": {"body": ["<em>Putin</em> and <em>Xi</em> convened in the capital"]},
        "quotes": [],
    }


def test_hit_summary_tolerates_missing_fields() -> None:
    summary = hit_summary({"_id": "b" * 32, "_score": 1.0, "_source": {}})

    assert summary["id"] == "b" * 32
    assert summary["title"] is None and summary["highlights"] == {}


@pytest.mark.parametrize("as_json", [False, True])
def test_unreachable_elasticsearch_is_a_one_line_error_with_exit_code_2(as_json: bool) -> None:
    # Port 9 (discard) has no listener here: the connection is refused at once.
    args = ["--es-url", "http://127.0.0.1:9", "search", "Astana", *(["--json"] if as_json else [])]

    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Elasticsearch is not reachable at http://127.0.0.1:9")


class FakeElasticsearch:
    """Stands in for the client: records the request and answers with the given hits."""

    hits: ClassVar[list[dict]] = []
    aggregations: ClassVar[dict] = {}
    calls: ClassVar[list[dict]] = []

    def __init__(self, **kwargs: object) -> None:
        self.calls.append({"client": kwargs})

    def search(self, index: str, body: dict) -> dict:
        self.calls[-1].update(index=index, body=body)
        self.calls[-1].setdefault("bodies", []).append(body)
        return {
            "hits": {"total": {"value": len(self.hits), "relation": "eq"}, "hits": self.hits},
            "aggregations": self.aggregations,
        }

    def close(self) -> None:
        self.calls[-1]["closed"] = True


@pytest.fixture
def fake_es(monkeypatch: pytest.MonkeyPatch) -> type[FakeElasticsearch]:
    monkeypatch.setattr(FakeElasticsearch, "hits", [])
    monkeypatch.setattr(FakeElasticsearch, "aggregations", {})
    monkeypatch.setattr(FakeElasticsearch, "calls", [])
    monkeypatch.setattr("elasticsearch.Elasticsearch", FakeElasticsearch)
    return FakeElasticsearch


def test_json_output_and_request(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [{"_id": "c" * 32, "_score": 3.0, "_source": {"id": "c" * 32, "title": "T"}}]

    result = runner.invoke(
        app, ["--es-url", "http://es.example:9200", "search", "Astana", "--json", "--source", "Press TV"]
    )

    assert result.exit_code == 0, result.output
    output = orjson.loads(result.stdout)
    assert output["total"] == 1
    assert [(hit["id"], hit["title"]) for hit in output["hits"]] == [("c" * 32, "T")]
    [call] = fake_es.calls
    assert call["index"] == "articles"
    # One word: no phrase to multiply, so the query is the bool itself.
    assert {"term": {"source": "Press TV"}} in call["body"]["query"]["bool"]["filter"]
    assert call["client"]["hosts"] == ["http://es.example:9200"]
    assert call["closed"] is True


def test_zero_hits_is_a_message_not_an_error(fake_es: type[FakeElasticsearch]) -> None:
    result = runner.invoke(app, ["search", "no such words"])

    assert result.exit_code == 0, result.output
    assert "no articles match" in result.stdout
    # The strict request found nothing, so it was sent again needing any one word.
    [call] = fake_es.calls
    strict, relaxed = (body["query"]["function_score"]["query"] for body in call["bodies"])
    assert strict != relaxed
    assert '"minimum_should_match": "1"' in orjson.dumps(relaxed).decode().replace(":", ": ")


def test_one_word_that_found_nothing_is_not_sent_again(fake_es: type[FakeElasticsearch]) -> None:
    runner.invoke(app, ["search", "Kathmandu"])

    [call] = fake_es.calls
    assert len(call["bodies"]) == 1


def test_hits_are_printed_ranked_with_snippets(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [
        {
            "_id": "a" * 32,
            "_score": 9.0,
            "_source": {"id": "a" * 32, "title": "Putin, Xi meet", "source": "Press TV", "section": "Russia"},
            "highlight": {"body": ["summit of the <em>Shanghai Cooperation Organization</em> in Astana"]},
        },
        {"_id": "b" * 32, "_score": 2.0, "_source": {"id": "b" * 32, "title": "Other"}},
    ]

    result = runner.invoke(app, ["search", "Shanghai Cooperation Organization"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if "1. Putin, Xi meet" in line)
    second = next(i for i, line in enumerate(lines) if "2. Other" in line)
    assert first < second
    assert any("Press TV · Russia" in line and "a" * 32 in line for line in lines)
    assert any("summit of the Shanghai Cooperation Organization in Astana" in line for line in lines)
    assert "<em>" not in result.stdout


QUOTE_HIT = {
    "_id": "d" * 32,
    "_score": 4.0,
    "_source": {"id": "d" * 32, "title": "Putin, Xi meet", "summary": "The leaders met in Astana."},
    "inner_hits": {
        "quotes": {
            "hits": {
                "hits": [
                    {
                        "_source": {"text": "uphold the aspiration of friendship", "speaker": "Xi Jinping"},
                        "highlight": {"quotes.text": ["uphold the aspiration of <em>friendship</em>"]},
                    }
                ]
            }
        }
    },
}
AGGREGATIONS = {
    "people": {"buckets": [{"key": "Xi Jinping", "doc_count": 1}, {"key": "Vladimir Putin", "doc_count": 1}]},
    "countries": {"buckets": [{"key": "KZ", "doc_count": 1}]},
    "sections": {"buckets": []},
}


def test_hit_summary_lists_the_matching_quotes_with_speaker() -> None:
    [quote] = hit_summary(QUOTE_HIT)["quotes"]

    assert quote == {
        "text": "uphold the aspiration of friendship",
        "speaker": "Xi Jinping",
        "highlight": "uphold the aspiration of <em>friendship</em>",
    }


def test_quotes_by_speaker_without_query_words(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [QUOTE_HIT]
    fake_es.aggregations = AGGREGATIONS

    result = runner.invoke(app, ["search", "--quotes", "friendship", "--speaker", "Xi Jinping"])

    assert result.exit_code == 0, result.output
    assert "“uphold the aspiration of friendship” — Xi Jinping" in result.stdout
    assert "Xi Jinping (1) · Vladimir Putin (1)" in result.stdout
    assert "KZ (1)" in result.stdout
    [call] = fake_es.calls
    nested = call["body"]["query"]["bool"]["must"][0]["nested"]
    assert nested["path"] == "quotes"
    assert {"term": {"quotes.speaker": "Xi Jinping"}} in nested["query"]["bool"]["must"]


def test_json_output_has_facets_quotes_and_the_new_filters(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [QUOTE_HIT]
    fake_es.aggregations = AGGREGATIONS

    result = runner.invoke(
        app,
        [
            "search",
            "summit",
            "--json",
            "--person",
            "Xi Jinping",
            "--person",
            "Vladimir Putin",
            "--country",
            "kz",
        ],
    )

    assert result.exit_code == 0, result.output
    output = orjson.loads(result.stdout)
    assert output["facets"]["people"] == [
        {"value": "Xi Jinping", "count": 1},
        {"value": "Vladimir Putin", "count": 1},
    ]
    assert output["facets"]["organizations"] == []
    assert output["hits"][0]["quotes"][0]["speaker"] == "Xi Jinping"
    query = fake_es.calls[0]["body"]["query"]
    clauses = (query["function_score"]["query"] if "function_score" in query else query)["bool"]["filter"]
    assert {"term": {"people": "Xi Jinping"}} in clauses
    assert {"term": {"people": "Vladimir Putin"}} in clauses
    assert {"term": {"countries": "KZ"}} in clauses


def test_duplicates_are_hidden_unless_asked_for(fake_es: type[FakeElasticsearch]) -> None:
    runner.invoke(app, ["search", "summit"])
    runner.invoke(app, ["search", "summit", "--include-duplicates"])

    default, including = (call["body"]["query"]["bool"] for call in fake_es.calls)
    assert default["must_not"] == [{"exists": {"field": "duplicate_of"}}]
    assert "must_not" not in including


def test_nothing_to_search_for_is_a_usage_error(fake_es: type[FakeElasticsearch]) -> None:
    result = runner.invoke(app, ["search"])

    assert result.exit_code == 2
    assert not fake_es.calls


MARTINSVILLE = {
    "name": "Martinsville",
    "region": "Virginia",
    "country": "US",
    "location": {"lat": 36.69, "lon": -79.87},
    "text": "MARTINSVILLE, Va., Feb 26",
}
FILED_HIT = {
    "_id": "e" * 32,
    "_score": None,
    "_source": {
        "id": "e" * 32,
        "title": "Tultex sees higher earnings",
        "source": "Reuters",
        "published_at": "1987-02-26T00:00:00Z",
        "dateline": MARTINSVILLE,
    },
}


def dateline_clauses(call: dict) -> list[dict]:
    return [
        clause
        for clause in call["body"]["query"]["bool"]["filter"]
        if next(iter(clause["term"])).startswith("dateline.")
    ]


def test_dateline_filters_alone_are_enough_to_search(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [FILED_HIT]
    fake_es.aggregations = {"datelines": {"buckets": [{"key": "Martinsville", "doc_count": 1}]}}

    result = runner.invoke(app, ["search", "--dateline", "martinsville", "--dateline-country", "us"])

    assert result.exit_code == 0, result.output
    [call] = fake_es.calls
    assert dateline_clauses(call) == [
        {"term": {"dateline.name": {"value": "martinsville", "case_insensitive": True}}},
        {"term": {"dateline.country": "US"}},
    ]
    lines = result.stdout.splitlines()
    assert any("Reuters · 1987-02-26 · filed in Martinsville, Virginia, US" in line for line in lines), lines
    assert any(line.split() == ["datelines", "Martinsville", "(1)"] for line in lines), lines


def test_json_hits_carry_the_dateline(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [FILED_HIT, {"_id": "f" * 32, "_score": 1.0, "_source": {"id": "f" * 32}}]

    result = runner.invoke(app, ["search", "earnings", "--json", "--dateline-country", "US"])

    assert result.exit_code == 0, result.output
    filed, unfiled = orjson.loads(result.stdout)["hits"]
    assert filed["dateline"] == MARTINSVILLE
    assert unfiled["dateline"] is None
    assert dateline_clauses(fake_es.calls[0]) == [{"term": {"dateline.country": "US"}}]


def test_a_hit_without_region_or_country_shows_the_city_alone(fake_es: type[FakeElasticsearch]) -> None:
    fake_es.hits = [
        {
            "_id": "f" * 32,
            "_score": 1.0,
            "_source": {
                "id": "f" * 32,
                "title": "T",
                "dateline": {
                    "name": "Atlantis",
                    "region": None,
                    "country": None,
                    "location": None,
                    "text": "ATLANTIS, May 1",
                },
            },
        }
    ]

    result = runner.invoke(app, ["search", "T", "--dateline", "Atlantis"])

    assert result.exit_code == 0, result.output
    assert "filed in Atlantis" in result.stdout and "Atlantis," not in result.stdout


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["Astana", "--country", "China"], "--country", "'China'"),
        (["Astana", "--dateline-country", "USA"], "--dateline-country", "'USA'"),
        (["Astana", "--since", "last week"], "--since", "must be a date"),
        (["Astana", "--until", "2024-13-40"], "--until", "must be a date"),
        (["Astana", "--sort", "oldest"], "--sort", "'relevance' or 'date'"),
        (["x" * 501], "QUERY", "at most 500 characters"),
    ],
)
def test_a_value_the_search_api_refuses_is_a_usage_error_naming_the_option(
    fake_es: type[FakeElasticsearch], args: list[str], option: str, words: str
) -> None:
    result = runner.invoke(app, ["search", *args])

    assert result.exit_code == 2, result.output
    assert option in result.stderr and words in " ".join(result.stderr.split())
    assert not fake_es.calls


def test_the_cli_sends_the_request_the_api_builds_for_the_same_parameters(
    fake_es: type[FakeElasticsearch],
) -> None:
    from services.search.archive import request_for
    from services.search.models import SearchParams

    args = ["summit", "--person", "Xi Jinping", "--country", "kz", "--since", "2024-07-01"]
    args += ["--quotes", "friendship", "--speaker", "Xi Jinping", "--sort", "date", "-n", "5"]

    result = runner.invoke(app, ["search", *args])

    assert result.exit_code == 0, result.output
    expected = SearchParams(
        q="summit",
        person=["Xi Jinping"],
        country=["kz"],
        since="2024-07-01",
        quote="friendship",
        speaker="Xi Jinping",
        sort="date",
        size=5,
    )
    assert fake_es.calls[0]["body"] == request_for(expected)
