from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest.page_text import (
    extract_from_text,
    is_boilerplate,
    is_caption,
    parse_breadcrumb,
    parse_byline,
    parse_dateline,
    source_from_boilerplate,
    split_trailing_boilerplate,
    split_units,
)
from tests.unit.ingest.helpers import bbc_file, fixture_text

SEED_TITLE = "Putin, Xi meet at Central Asian summit in show of deepening cooperation"
FURNITURE = ("SHARE THIS ARTICLE", "alternate addresses", "www.presstv.co.uk", "Roku")


def test_seed_structure(seed_text: str) -> None:
    found = extract_from_text(seed_text)

    assert found.breadcrumb == ["News", "Russia"]
    assert found.section == "Russia"
    assert found.title == SEED_TITLE
    assert found.caption is not None
    assert found.caption.startswith("Russia’s President Vladimir Putin (R) shakes hands")
    assert found.caption.endswith("(Photo by Sputnik)")
    assert found.source == "Press TV"


def test_seed_body_has_no_caption_or_furniture(seed_text: str) -> None:
    found = extract_from_text(seed_text)
    body = "\n\n".join(found.paragraphs)

    assert found.caption not in found.paragraphs
    assert "shakes hands" not in body
    for furniture in FURNITURE:
        assert furniture not in body
    assert found.paragraphs[0].startswith("In their second meeting this year")
    assert found.paragraphs[-1].startswith("Belarus, a close ally of Russia")


def test_seed_keeps_every_body_paragraph(seed_text: str) -> None:
    found = extract_from_text(seed_text)
    units = split_units(seed_text)
    first, last = units.index(found.paragraphs[0]), units.index(found.paragraphs[-1])

    assert found.paragraphs == units[first : last + 1]


def test_seed_mentions_only_caption_date_so_no_published_at(seed_text: str) -> None:
    assert extract_from_text(seed_text).published_at is None


def test_seed_paragraphs_have_normalized_whitespace(seed_text: str) -> None:
    for paragraph in extract_from_text(seed_text).paragraphs:
        assert "\u00a0" not in paragraph
        assert "  " not in paragraph
        assert paragraph == paragraph.strip()


def test_page_with_dateline_byline_and_related_links() -> None:
    found = extract_from_text(fixture_text("raw-page-with-furniture.txt"))

    assert found.breadcrumb == ["Home", "World", "Europe"]
    assert found.title == "Ferry strike halts crossings for a second day"
    assert found.published_at == datetime(2025, 3, 12, 9, 15, tzinfo=UTC)
    assert found.authors == ["Ana Ruiz", "Tom Hale"]
    assert found.caption == "Passengers wait at the port terminal on Tuesday. (AFP)"
    assert found.source == "Harbour Wire Media"
    assert found.paragraphs[0].startswith("Ferry crossings between the mainland")
    assert found.paragraphs[-1].startswith("“We are not asking")
    assert "Advertisement" not in found.paragraphs
    assert not any("Island hotels" in paragraph for paragraph in found.paragraphs)


@pytest.mark.parametrize("name", ["business/001.txt", "tech/001.txt", "politics/010.txt"])
def test_bbc_corpus_shape(name: str) -> None:
    text = bbc_file(name).read_text(encoding="utf-8")
    headline = text.split("\n", 1)[0].strip()

    found = extract_from_text(text)

    assert found.title == " ".join(headline.split())
    assert len(found.paragraphs) >= 3
    assert found.title not in found.paragraphs
    assert found.breadcrumb == []
    assert found.caption is None


def test_title_hint_finds_the_headline_below_other_lines() -> None:
    text = "Kicker line\n\nThe real headline\n\nFirst paragraph of the story."

    found = extract_from_text(text, title_hint="The  real headline")

    assert found.title == "The real headline"
    assert found.paragraphs == ["First paragraph of the story."]


def test_title_hint_absent_from_text_keeps_every_line_as_body() -> None:
    text = "First paragraph of the story.\n\nSecond paragraph of the story."

    found = extract_from_text(text, title_hint="Headline sent separately")

    assert found.title is None
    assert found.paragraphs == ["First paragraph of the story.", "Second paragraph of the story."]


def test_hard_wrapped_paragraphs_are_joined() -> None:
    text = (
        "Headline\n\n"
        "The committee met on Tuesday to discuss the budget for the coming\n"
        "year, and members agreed that spending on the harbour should rise\n"
        "by a tenth.\n\n"
        "A second paragraph."
    )

    assert split_units(text)[1].startswith(
        "The committee met on Tuesday to discuss the budget for the coming year,"
    )
    assert len(split_units(text)) == 3


def test_lines_of_a_block_stay_separate_when_not_wrapped() -> None:
    assert split_units("SHARE THIS ARTICLE\nPress TV News Roku") == [
        "SHARE THIS ARTICLE",
        "Press TV News Roku",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("News \u00a0 / \u00a0 Russia", ["News", "Russia"]),
        ("Home > World > Middle East", ["Home", "World", "Middle East"]),
        ("Sport » Football", ["Sport", "Football"]),
        ("Putin, Xi meet at Central Asian summit in show of deepening cooperation", None),
        ("Profits rose 5% / analysts say more to come", None),
        ("a / b", None),
        ("Only one part", None),
    ],
)
def test_breadcrumb(line: str, expected: list[str] | None) -> None:
    assert parse_breadcrumb(" ".join(line.split())) == expected


@pytest.mark.parametrize(
    "caption",
    [
        "Russia’s President shakes hands with China’s President in Astana. (Photo by Sputnik)",
        "Protesters gather outside parliament on Friday. (Photo: Jane Roe)",
        "Protesters gather outside parliament on Friday. Photo: Jane Roe",
        "File photo shows the plant in 2019.",
        "Rescue teams search the rubble. (AFP)",
        "Rescue teams search the rubble. (Reuters)",
        "Rescue teams search the rubble. (AFP via Getty Images)",
        "Rescue teams search the rubble. (File photo)",
        "Rescue teams search the rubble. AFP/Getty",
        "Photo: The minister at a news conference.",
    ],
)
def test_captions_are_recognised(caption: str) -> None:
    assert is_caption(caption)


@pytest.mark.parametrize(
    "paragraph",
    [
        "In their second meeting this year, the two presidents met in Astana.",
        "The agency said it would publish the photos later (after review).",
        "Reuters reported the deal on Monday, citing three people familiar with the talks.",
        "He took a photo of the crowd and posted it online.",
        "x" * 700 + " (Photo by Sputnik)",
    ],
)
def test_body_paragraphs_are_not_captions(paragraph: str) -> None:
    assert not is_caption(paragraph)


@pytest.mark.parametrize(
    "line",
    [
        "SHARE THIS ARTICLE",
        "Share this story",
        "Press TV’s website can also be accessed at the following alternate addresses:",
        "www.presstv.co.uk",
        "presstv.ir, presstv.co.uk",
        "https://example.org/news",
        "Press TV News Roku",
        "Facebook Twitter Telegram",
        "Follow us on Telegram",
        "Subscribe to our newsletter",
        "© 2024 Example News. All rights reserved.",
        "Copyright 2024 Example News",
        "Tags: Russia, China, SCO",
        "Read more:",
        "Related stories",
    ],
)
def test_furniture_is_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Belarus, a close ally of Russia, is set to formally join the SCO on Thursday.",
        "Copyright law was changed by parliament after a long campaign by musicians.",
        "Subscribers to the service will pay more from next month, the company said.",
        "The app is available on Android and iOS phones, and the company says it has a million users.",
        "Follow-up talks are planned for next week in Geneva, diplomats said.",
    ],
)
def test_body_sentences_are_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def test_terminator_does_not_cut_when_prose_follows() -> None:
    units = [
        "First paragraph of the story, which is long enough to count as real prose.",
        "Read more:",
        "The minister later said the plan would be reviewed by an independent panel of experts.",
    ]

    body, furniture = split_trailing_boilerplate(units)

    assert body == units
    assert furniture == []


def test_body_of_only_furniture_is_empty() -> None:
    body, furniture = split_trailing_boilerplate(["SHARE THIS ARTICLE", "www.example.com"])

    assert body == []
    assert furniture == ["SHARE THIS ARTICLE", "www.example.com"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("July 3, 2024", datetime(2024, 7, 3, tzinfo=UTC)),
        ("3 July 2024", datetime(2024, 7, 3, tzinfo=UTC)),
        ("Wed Jul 3, 2024 10:54PM", datetime(2024, 7, 3, 22, 54, tzinfo=UTC)),
        ("Published: 12 March 2025 09:15 GMT", datetime(2025, 3, 12, 9, 15, tzinfo=UTC)),
        ("Updated on July 3, 2024 at 9:05 am EDT", datetime(2024, 7, 3, 13, 5, tzinfo=UTC)),
        ("2024-07-03 10:00 +03:30", datetime(2024, 7, 3, 6, 30, tzinfo=UTC)),
        ("On July 3, 2024 the leaders met", None),
        ("February 30, 2024", None),
        ("13:00 on a summer day", None),
    ],
)
def test_dateline(line: str, expected: datetime | None) -> None:
    assert parse_dateline(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("By Jane Doe", ["Jane Doe"]),
        ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("By Jane Doe | Reuters", ["Jane Doe"]),
        ("By the time the summit ended, nothing had been agreed.", None),
        ("Byline", None),
    ],
)
def test_byline(line: str, expected: list[str] | None) -> None:
    assert parse_byline(line) == expected


@pytest.mark.parametrize(
    ("furniture", "source"),
    [
        (["Press TV’s website can also be accessed at the following alternate addresses:"], "Press TV"),
        (["Press TV's website can also be accessed at the following alternate addresses:"], "Press TV"),
        (["SHARE THIS ARTICLE", "© 2024 Harbour Wire Media. All rights reserved."], "Harbour Wire Media"),
        (["Copyright 2023 Daily Example"], "Daily Example"),
        (["Follow Daily Example on X"], "Daily Example"),
        (["Follow us on Telegram", "www.example.com"], None),
    ],
)
def test_source_from_furniture(furniture: list[str], source: str | None) -> None:
    assert source_from_boilerplate(furniture) == source


def test_promotional_lines_inside_the_body_are_dropped() -> None:
    text = (
        "Headline\n\n"
        "First paragraph of the story, long enough to be real prose.\n\n"
        "Read more: Another story about something else\n\n"
        "ADVERTISEMENT\n\n"
        "Second paragraph of the story, also long enough to be real prose."
    )

    assert extract_from_text(text).paragraphs == [
        "First paragraph of the story, long enough to be real prose.",
        "Second paragraph of the story, also long enough to be real prose.",
    ]


def test_long_lines_are_never_boilerplate() -> None:
    assert not is_boilerplate("www.example.com " + "word " * 100)
