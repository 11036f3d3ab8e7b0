"""The pure parts of the CoNLL entity harness: gold spans, the tune/check split, scoring."""

from __future__ import annotations

from pathlib import Path

from bench.quality.ner_conll import Document, Run, detokenize, read_documents, score
from schemas.articles import Entity, EntityType


def document(*sentences: str) -> Document:
    """Sentences of ``word/TAG`` tokens ("Leeds/B-ORG beat/O")."""
    return Document(
        [[tuple(token.rsplit("/", 1)) for token in sentence.split()] for sentence in sentences]  # type: ignore[misc]
    )


def entity(name: str, kind: EntityType, *aliases: str) -> Entity:
    return Entity(name=name, type=kind, mentions=1, first_offset=0, aliases=list(aliases))


def test_gold_is_the_set_of_names_of_each_type() -> None:
    gold = document(
        "Phil/B-PER Simmons/I-PER of/O Leeds/B-ORG beat/O Kent/B-ORG ./O",
        "Simmons/B-PER flew/O to/O Fresno/B-LOC ,/O Calif/B-LOC ./O Euro/B-MISC",
    ).gold()
    assert gold == {"PER": {"Phil Simmons", "Simmons"}, "ORG": {"Leeds", "Kent"}, "LOC": {"Fresno", "Calif"}}


def test_the_split_depends_on_the_text_alone_and_holds_about_a_fifth() -> None:
    one = document("Leeds/B-ORG beat/O Kent/B-ORG ./O")
    assert one.part == document("Leeds/B-ORG beat/O Kent/B-ORG ./O").part
    parts = [document(f"Story/O number/O {number}/O ./O").part for number in range(2000)]
    assert set(parts) == {"tune", "check"}
    assert 0.15 < parts.count("check") / len(parts) < 0.25


def test_scoring_matches_names_and_aliases_and_ignores_a_final_full_stop() -> None:
    run = Run("rules")
    gold = {"PER": {"Phil Simmons", "Simmons"}, "LOC": {"Calif"}, "ORG": {"Leeds"}}
    predicted = [
        entity("Phil Simmons", EntityType.PERSON, "Simmons"),
        entity("Calif.", EntityType.LOCATION),
        entity("Leeds", EntityType.LOCATION),  # the right name with the wrong type
    ]
    score(run, gold, predicted, show=True)
    per, loc, org = run.tallies["PER"], run.tallies["LOC"], run.tallies["ORG"]
    assert (per.predicted, per.correct, per.gold, per.found) == (1, 1, 2, 2)
    assert (loc.predicted, loc.correct, loc.gold, loc.found) == (2, 1, 1, 1)
    assert (org.predicted, org.correct, org.gold, org.found) == (0, 0, 1, 0)
    assert run.errors[("LOC", "false, gold ORG", "Leeds")] == 1
    assert run.errors[("ORG", "missed, ours LOC", "Leeds")] == 1


def test_documents_are_read_from_conll_columns(tmp_path: Path) -> None:
    corpus = tmp_path / "sample.txt"
    corpus.write_text(
        "-DOCSTART- -X- -X- O\n\nLeeds NNP B-NP B-ORG\nwon VBD B-VP O\n. . O O\n\n"
        '-DOCSTART- -X- -X- O\n\nParis NNP B-NP B-LOC\n" " O O\nwait VB O O\n" " O O\n',
        encoding="utf-8",
    )
    documents = list(read_documents(corpus))
    assert [doc.lines for doc in documents] == [["Leeds won."], ['Paris "wait"']]
    assert detokenize(["It", "'s", "(", "a", ")", "test", "."]) == "It's (a) test."
