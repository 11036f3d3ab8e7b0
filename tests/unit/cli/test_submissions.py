"""File discovery and message building for ``newswire publish``."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest

from services.cli.submissions import (
    CONTENT_TYPE_HEADER,
    SOURCE_FILE_HEADER,
    InputFormat,
    discover_files,
    prepare_bytes,
    prepare_file,
    sniff_format,
)
from services.runtime.messages import TRACE_HEADER


def headers_of(message) -> dict[str, bytes]:
    return dict(message.headers)


def counter_ids():
    counter = itertools.count(1)
    return lambda: f"trace{next(counter)}"


def test_text_file_is_sent_byte_for_byte(tmp_path: Path) -> None:
    page = "News / Russia\n\nPutin, Xi meet in Astana\n\nRussia’s President…\n"
    path = tmp_path / "page.txt"
    path.write_text(page, encoding="utf-8")

    prepared = prepare_file(path)

    assert prepared.skipped is None and prepared.problems == ()
    [message] = prepared.messages
    assert message.value == page.encode("utf-8")
    headers = headers_of(message)
    assert headers[CONTENT_TYPE_HEADER] == b"text/plain"
    assert headers[SOURCE_FILE_HEADER] == b"page.txt"
    assert headers[TRACE_HEADER] == message.trace_id.encode()


@pytest.mark.parametrize("suffix", [".html", ".htm", ".HTML"])
def test_html_file_is_sent_as_html(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"page{suffix}"
    path.write_bytes(b"<html><body><h1>Title</h1><p>Text</p></body></html>")

    [message] = prepare_file(path).messages

    assert message.value == path.read_bytes()
    assert headers_of(message)[CONTENT_TYPE_HEADER] == b"text/html"


def test_json_object_is_one_message(tmp_path: Path) -> None:
    article = {"title": "Summit in Astana", "body": "Leaders met.", "source": "Press TV"}
    path = tmp_path / "article.json"
    path.write_text(orjson.dumps(article, option=orjson.OPT_INDENT_2).decode())

    [message] = prepare_file(path).messages

    assert orjson.loads(message.value) == article
    assert headers_of(message)[CONTENT_TYPE_HEADER] == b"application/json"


def test_json_array_is_one_message_per_object_and_reports_non_objects(tmp_path: Path) -> None:
    articles = [{"title": "One", "body": "a"}, {"title": "Two", "body": "b"}]
    path = tmp_path / "batch.json"
    path.write_text(orjson.dumps([articles[0], "stray string", articles[1]]).decode())

    prepared = prepare_file(path, trace_ids=counter_ids())

    assert [orjson.loads(m.value) for m in prepared.messages] == articles
    assert [m.origin for m in prepared.messages] == [f"{path}[0]", f"{path}[2]"]
    assert [m.trace_id for m in prepared.messages] == ["trace1", "trace2"]
    assert len(prepared.problems) == 1 and "[1]" in prepared.problems[0]


def test_invalid_json_file_is_a_problem_not_a_message(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"title": "unterminated"')

    prepared = prepare_file(path)

    assert prepared.messages == ()
    assert prepared.problems == (prepared.problems[0],)
    assert prepared.problems[0].startswith(f"{path}: invalid JSON")


def test_jsonl_is_one_message_per_non_empty_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('{"title": "A", "body": "a"}\n\n   \n{"title": "B", "body": "b"}\nnot json\n[1]\n')

    prepared = prepare_file(path)

    assert [orjson.loads(m.value)["title"] for m in prepared.messages] == ["A", "B"]
    assert [m.origin for m in prepared.messages] == [f"{path}:1", f"{path}:4"]
    assert len(prepared.problems) == 2
    assert prepared.problems[0].startswith(f"{path}:5: invalid JSON")
    assert prepared.problems[1].startswith(f"{path}:6: expected a JSON object")


def test_every_message_gets_its_own_trace_id(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(orjson.dumps({"title": str(i), "body": "x"}).decode() for i in range(5)))

    trace_ids = [m.trace_id for m in prepare_file(path).messages]

    assert len(set(trace_ids)) == 5
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in trace_ids)


@pytest.mark.parametrize("name", ["notes.md", "README", "data.csv"])
def test_unknown_extension_is_skipped_unless_a_format_is_forced(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("Some article text")

    skipped = prepare_file(path)
    forced = prepare_file(path, forced=InputFormat.TEXT)

    assert skipped.messages == () and skipped.skipped is not None and "--format" in skipped.skipped
    assert [m.value for m in forced.messages] == [b"Some article text"]


@pytest.mark.parametrize("name", ["empty.txt", "empty.json", "empty.jsonl", "blank.html"])
def test_empty_file_is_skipped(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("" if name.startswith("empty") else " \n\t\n")

    prepared = prepare_file(path)

    assert prepared.messages == () and prepared.problems == ()
    assert prepared.skipped == "empty"


def test_empty_json_array_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text("[]")

    prepared = prepare_file(path)

    assert prepared.messages == () and prepared.skipped is not None


def test_text_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café in Astana".encode("latin-1"))

    prepared = prepare_file(path)

    assert prepared.messages == ()
    assert "UTF-8" in prepared.problems[0]


def test_unreadable_path_is_a_problem(tmp_path: Path) -> None:
    prepared = prepare_file(tmp_path / "missing.txt")

    assert prepared.messages == () and len(prepared.problems) == 1


def test_discover_files_walks_directories_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for relative in ("b/2.txt", "b/1.json", "a.html", ".hidden.txt", ".git/config.txt"):
        (tmp_path / relative).write_text("x")
    single = tmp_path / "b" / "1.json"

    found = list(discover_files([tmp_path, single]))

    assert found == [tmp_path / "a.html", tmp_path / "b" / "1.json", tmp_path / "b" / "2.txt", single]


def test_stdin_content_is_labelled_with_the_given_source_name() -> None:
    prepared = prepare_bytes(b'{"title": "T", "body": "B"}', InputFormat.JSON, source_name="<stdin>")

    [message] = prepared.messages
    assert headers_of(message)[SOURCE_FILE_HEADER] == b"<stdin>"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"title": "T"}', InputFormat.JSON),
        (b'  [{"title": "T"}]', InputFormat.JSON),
        (b'{"title": "A"}\n{"title": "B"}\n', InputFormat.JSONL),
        (b"<!doctype html><html></html>", InputFormat.HTML),
        (b"News / Russia\n\nPutin, Xi meet", InputFormat.TEXT),
    ],
)
def test_sniff_format(data: bytes, expected: InputFormat) -> None:
    assert sniff_format(data) is expected
