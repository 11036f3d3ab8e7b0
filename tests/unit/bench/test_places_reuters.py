"""The pure parts of the Reuters country harness: code mapping, scoring arithmetic, held-out split."""

from __future__ import annotations

import pycountry
import pytest

from bench.quality.places_reuters import (
    REUTERS_TO_ISO,
    SUCCESSORS,
    Tally,
    dateline_country,
    false_cause,
    held_out,
    in_split,
    labels_of,
    miss_cause,
    score_story,
    split_dateline,
    submission_text,
)


def test_every_mapped_code_is_a_current_iso_country() -> None:
    for place, code in REUTERS_TO_ISO.items():
        assert pycountry.countries.get(alpha_2=code) is not None, place
    for place, codes in SUCCESSORS.items():
        assert REUTERS_TO_ISO[place] in codes
        assert all(code == "XK" or pycountry.countries.get(alpha_2=code) for code in codes)


@pytest.mark.parametrize(
    ("place", "code"),
    [("usa", "US"), ("uk", "GB"), ("west-germany", "DE"), ("ussr", "RU"), ("hong-kong", "HK"), ("uae", "AE")],
)
def test_wire_codes_map_to_iso(place: str, code: str) -> None:
    assert REUTERS_TO_ISO[place] == code


def test_labels_merge_codes_of_one_country_and_count_unmapped_ones() -> None:
    labels, unmapped = labels_of(["west-germany", "east-germany", "usa", "atlantis", "ussr"])
    assert [label.code for label in labels] == ["DE", "US", "RU"]
    assert unmapped == ["atlantis"]
    assert "UA" in labels[2].accepted and labels[0].accepted == frozenset({"DE"})


def test_score_counts_found_correct_and_primary() -> None:
    labels, _ = labels_of(["usa", "japan", "uk"])
    score = score_story(labels, ["US", "FR", "JP", "US"], "FR")
    assert (score.labels, score.found, score.predicted, score.correct) == (3, 2, 3, 2)
    assert score.missed == ("GB",) and score.false == ("FR",)
    assert score.primary_right is False


def test_a_successor_state_finds_a_split_country() -> None:
    labels, _ = labels_of(["ussr"])
    score = score_story(labels, ["UA"], "UA")
    assert (score.found, score.correct, score.primary_right) == (1, 1, True)


def test_unlabelled_story_has_no_primary_verdict_and_counts_only_its_false_countries() -> None:
    score = score_story([], ["US"], "US")
    assert score.primary_right is None and score.false == ("US",)
    tally = Tally()
    tally.add(score, "US", unmapped=0)
    tally.add(score_story(labels_of(["usa"])[0], [], None), None, unmapped=1)
    figures = tally.figures()
    assert figures["stories"] == 2 and figures["labelled_stories"] == 1
    assert (figures["recall"], figures["precision"], figures["primary_among_labels"]) == (0.0, 0.0, 0.0)
    assert figures["no_primary"] == 1 and figures["unmapped_codes"] == 1


def test_micro_average_weighs_every_label_alike() -> None:
    tally = Tally()
    tally.add(score_story(labels_of(["usa"])[0], ["US"], "US"), "US", 0)
    tally.add(score_story(labels_of(["uk", "france", "italy"])[0], ["GB"], "GB"), "GB", 0)
    figures = tally.figures()
    assert figures["recall"] == 0.5  # 2 of 4 labels, not the mean of 1 and 1/3
    assert figures["precision"] == 1.0 and figures["primary_among_labels"] == 1.0


def test_primary_when_given_leaves_out_stories_without_a_primary() -> None:
    tally = Tally()
    tally.add(score_story(labels_of(["usa"])[0], ["US"], "US"), "US", 0)
    tally.add(score_story(labels_of(["uk"])[0], [], None), None, 0)
    tally.add(score_story(labels_of(["japan"])[0], ["CN"], "CN"), "CN", 0)
    figures = tally.figures()
    assert figures["primary_among_labels"] == round(1 / 3, 4)
    assert figures["primary_among_labels_when_given"] == 0.5


def test_held_out_split_is_stable_and_about_a_quarter() -> None:
    ids = [f"r{number}" for number in range(11000, 15000)]
    chosen = [story_id for story_id in ids if held_out(story_id)]
    assert 0.22 < len(chosen) / len(ids) < 0.28
    # Fixed by the id alone (SHA-256 of a fixed salt and the id): computed once, must never move.
    early = [f"r{number}" for number in range(11001, 11040)]
    assert [story_id for story_id in early if held_out(story_id)] == [
        "r11001", "r11005", "r11009", "r11012", "r11013", "r11015", "r11022", "r11028",
    ]  # fmt: skip
    assert all(in_split(story_id, "held-out") != in_split(story_id, "tune") for story_id in ids)
    assert all(in_split(story_id, "all") for story_id in ids)


def test_submission_puts_the_dateline_at_the_start_of_the_body() -> None:
    story = {"title": "ACME WINS", "dateline": "MARTINSVILLE, Va., Feb 26 -", "body": "Acme said..."}
    assert submission_text(story) == "ACME WINS\n\nMARTINSVILLE, Va., Feb 26 - Acme said..."
    assert split_dateline("MARTINSVILLE, Va., Feb 26 - Acme said...", story["dateline"]) == " Acme said..."


@pytest.mark.parametrize(
    ("dateline", "country", "by_state"),
    [
        ("MARTINSVILLE, Va., Feb 26 -", "US", True),
        ("TULSA, OKLA., March 31 -", "US", True),
        ("VANCOUVER, British Columbia, March 3 -", "CA", True),
        ("LOS ANGELES, March 2 -", "US", False),
        ("NEW YORK, March 30 -", "US", False),
        ("HONG KONG, March 1 -", "HK", False),
        ("TOKYO, March 3 -", "JP", False),
        ("FRANKFURT, April 1 -", "DE", False),
        ("MONTREAL, April 1 -", "CA", False),
        ("ST. PAUL, March 31 -", "US", False),
    ],
)
def test_dateline_country(dateline: str, country: str, by_state: bool) -> None:
    assert dateline_country(dateline) == (country, by_state)


def test_miss_causes() -> None:
    dateline = "MILWAUKEE, Wis., March 3 -"
    article = {"title": "X", "paragraphs": [f"{dateline} The U.S. company said..."], "places": []}
    assert miss_cause("US", frozenset({"US"}), article, dateline) == "named as U.S./U.K. abbreviation"
    article = {"title": "X", "paragraphs": [f"{dateline} The company said..."], "places": []}
    assert (
        miss_cause("US", frozenset({"US"}), article, dateline)
        == "dateline city never read (with state/province)"
    )
    article = {"title": "X", "paragraphs": ["Japanese exporters said..."], "places": []}
    assert miss_cause("JP", frozenset({"JP"}), article, "") == "demonym only"


def test_false_causes() -> None:
    sydney = {"name": "Sydney", "kind": "city", "country_codes": ["AU"], "mentions": 1}
    article = {
        "title": "X",
        "paragraphs": ["SDC Sydney Development Corp said it sold units."],
        "places": [sydney],
    }
    assert false_cause("AU", article) == "place inside a company name"
    santa_fe = {"name": "Santa Fe", "kind": "city", "country_codes": ["AR"], "mentions": 3}
    article = {
        "title": "SANTA FE <SFX> AWARE OF STAKE",
        "paragraphs": ["Santa Fe Southern Pacific Corp said...", "Santa Fe's stock rose."],
        "places": [santa_fe],
    }
    assert false_cause("AR", article) == "place inside a company name"
    article = {"title": "X", "paragraphs": ["Talks in Santa Fe and Santa Fe again."], "places": [santa_fe]}
    assert false_cause("AR", article) == "named repeatedly"
    article = {"title": "X", "paragraphs": ["Prices rose, as they did in Sydney."], "places": [sydney]}
    assert false_cause("AU", article) == "mentioned in passing"
    assert false_cause("FR", article) == "no named place"
