"""The pure parts of ``newswire stuck`` and ``newswire skip``: previews, positions, refusals, the detail."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from schemas.dead_letter import FailureStage
from services.cli.kafka_admin import GroupDescription, GroupMember, _member
from services.cli.main import app
from services.cli.stuck import (
    MAX_HEADERS_SHOWN,
    GroupReport,
    PipelineGroup,
    Position,
    SkipRefusedError,
    StuckPartition,
    find_group,
    preview_record,
    print_reports,
    printable,
    skip_detail,
    skippable_position,
)

INDEX = PipelineGroup(FailureStage.INDEX, "newswire-index", "articles.enriched")
ENRICH = PipelineGroup(FailureStage.ENRICH, "newswire-enrich", "articles.ingested")

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def test_printable_keeps_short_text_and_marks_what_it_cuts() -> None:
    assert printable(b"not json at all {", 200) == "not json at all {"
    assert printable(b"x" * 201, 200) == "x" * 200 + "…"
    assert printable("é" * 300, 200) == "é" * 200 + "…"


def test_printable_shows_control_characters_and_invalid_utf8_as_safe_characters() -> None:
    shown = printable(b"a\x00b\nc\x1b[31m\xff\xfe", 200)

    assert shown == "a·b·c·[31m\ufffd\ufffd"
    assert all(c.isprintable() for c in shown)


def test_printable_of_a_huge_value_decodes_only_what_it_shows() -> None:
    # Four-byte characters cut mid-sequence must not leak a replacement character into the preview.
    shown = printable("😀".encode() * 1_000_000 + b"\xf0\x9f", 10)

    assert shown == "😀" * 10 + "…"


def test_preview_record_summarises_key_headers_size_and_value() -> None:
    preview = preview_record(
        offset=117,
        timestamp_ms=1_700_000_000_000,
        key=b"k" * 1000,
        value=b"not json at all {",
        headers=[("newswire-trace-id", b"t" * 200), ("dup", b"1"), ("dup", None)],
    )

    assert preview.offset == 117
    assert preview.timestamp == "2023-11-14T22:13:20.000+00:00"
    assert preview.key == "k" * 120 + "…"
    assert preview.key_size == 1000
    assert preview.headers == [("newswire-trace-id", "t" * 120 + "…"), ("dup", "1"), ("dup", "")]
    assert preview.headers_total == 3
    assert (preview.size, preview.value) == (17, "not json at all {")


def test_preview_of_a_tombstone_with_many_headers_and_no_key() -> None:
    headers = [(f"h{n}", b"v") for n in range(1000)]

    preview = preview_record(offset=0, timestamp_ms=-1, key=None, value=None, headers=headers)

    assert (preview.key, preview.key_size, preview.size, preview.value) == (None, None, None, "")
    assert preview.timestamp is None
    assert len(preview.headers) == MAX_HEADERS_SHOWN
    assert preview.headers_total == 1000


@pytest.mark.parametrize(
    ("committed", "expected_next", "expected_lag"),
    [
        (40, 40, 10),  # the usual case: the commit is the next record
        (None, 10, 40),  # never committed: the services start at the earliest offset
        (5, 10, 40),  # retention removed the committed record: reset to the earliest
        (70, 10, 40),  # past the end (the log was recreated): reset to the earliest
        (50, 50, 0),  # caught up
    ],
)
def test_position_reads_from_the_commit_or_where_the_services_reset_to(
    committed: int | None, expected_next: int, expected_lag: int
) -> None:
    position = Position(partition=2, committed=committed, log_start=10, end=50)

    assert (position.next_offset, position.lag) == (expected_next, expected_lag)


def test_skippable_position_refuses_a_partition_without_lag_or_out_of_range() -> None:
    found = [Position(0, 50, 0, 50), Position(1, 7, 0, 9)]

    assert skippable_position(INDEX, found, 1) == found[1]
    with pytest.raises(SkipRefusedError, match=re.escape("no lag on articles.enriched/0")):
        skippable_position(INDEX, found, 0)
    with pytest.raises(SkipRefusedError, match="partitions 0-1, not 4"):
        skippable_position(INDEX, found, 4)
    with pytest.raises(SkipRefusedError, match="does not exist"):
        skippable_position(INDEX, [], 0)


def test_groups_are_found_by_id_or_stage_name() -> None:
    groups = [ENRICH, INDEX]

    assert find_group("newswire-index", groups) is INDEX
    assert find_group("enrich", groups) is ENRICH
    assert find_group("newswire-elsewhere", groups) is None


def test_skip_detail_says_who_why_and_where() -> None:
    detail = skip_detail("alice", "  breaks the index mapping ", INDEX, Position(3, 117, 0, 130), 117)

    assert detail.startswith("skipped by operator alice with `newswire skip`: breaks the index mapping (")
    assert "group newswire-index was at offset 117 of articles.enriched/3, end 130" in detail
    assert "committed 118" in detail
    assert "no reason given" in skip_detail("bob", None, INDEX, Position(3, 117, 0, 130), 117)


def test_group_members_are_read_from_a_standard_or_an_opaque_assignment() -> None:
    standard = _member(
        {
            "member_id": "m-1",
            "client_id": "newswire-index",
            "client_host": "/10.0.0.7",
            "member_assignment": {
                "assigned_partitions": [{"topic": "articles.enriched", "partitions": [3, 1]}]
            },
        }
    )
    opaque = _member({"member_id": "m-2", "client_id": "faust", "member_assignment": b"\x00\x01"})

    assert standard.host == "10.0.0.7"
    assert standard.partitions == {"articles.enriched": (1, 3)}
    assert opaque.partitions == {}
    assert GroupDescription("g", "Stable", (standard,)).active
    assert GroupDescription("g", "PreparingRebalance").active
    assert not GroupDescription("g", "Empty").active
    assert not GroupDescription("g", "Dead").active


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["skip", "--partition", "0"], "--group"),
        (["skip", "--group", "index"], "--partition"),
        (["skip", "--group", "index", "--partition", "-1"], "--partition"),
    ],
)
def test_skip_argument_errors_exit_2(args: list[str], complaint: str) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert complaint in result.output


def test_an_unknown_group_is_refused_before_kafka_is_asked() -> None:
    result = runner.invoke(
        app, ["--bootstrap-servers", "127.0.0.1:1", "skip", "--group", "nope", "--partition", "0"]
    )

    assert result.exit_code == 2
    assert "unknown group 'nope'" in result.output
    assert "newswire-index (index, articles.enriched)" in result.output


def test_position_summary_says_where_the_group_reads_from() -> None:
    assert Position(0, 40, 10, 50).summary == "committed 40  end 50  lag 10"
    assert Position(0, None, 10, 50).summary == "no commit (reads from the log start, 10)  end 50  lag 40"
    assert Position(0, 5, 10, 50).summary.startswith(
        "committed 5, out of range (reads from the log start, 10)"
    )


def test_printed_reports_show_hostile_record_content_literally(capsys: pytest.CaptureFixture[str]) -> None:
    record = preview_record(
        offset=7,
        timestamp_ms=None,
        key=b"[bold]key[/bold]",
        value=b"\x1b[2J[red]not markup[/red] \x07",
        headers=[("[link=http://x]h[/link]", b"\x1b]0;title\x07")],
    )
    member = GroupMember("m-1", "index-worker", "10.0.0.7", {"articles.enriched": (0, 2)})
    report = GroupReport(
        INDEX,
        GroupDescription("newswire-index", "Stable", (member,)),
        [StuckPartition(Position(2, 7, 0, 9), record)],
    )

    print_reports([report])

    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "·[2J[red]not markup[/red] ·" in printed
    assert "key     [bold]key[/bold] (16 bytes)" in printed
    assert "header  [link=http://x]h[/link] = ·]0;title·" in printed
    assert "1 live member(s): index-worker@10.0.0.7 (partitions 0,2)" in printed
    assert "partition 2  committed 7  end 9  lag 2" in printed
    assert "record  offset 7  no timestamp" in printed
