"""The command line surface: help, argument errors, and what publish does without a broker."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ([], ["publish", "search", "topics", "stack", "index", "--bootstrap-servers", "--es-url"]),
        (["publish"], ["--topic", "--key", "--stdin", "--format", "--json"]),
        (["search"], ["--size", "--section", "--source", "--language", "--since", "--until", "--json"]),
        (["topics"], ["create", "list"]),
        (["topics", "create"], ["--partitions"]),
        (["topics", "list"], ["--json"]),
        (["stack"], ["up", "down", "status"]),
        (["stack", "status"], ["--json"]),
        (["index"], ["init"]),
    ],
)
def test_help(command: list[str], expected: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    for word in expected:
        assert word in result.stdout


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["search"], "Missing argument"),
        (["search", "   "], "empty"),
        (["search", "Astana", "--size", "0"], "--size"),
        (["search", "Astana", "--since", "last week"], "--since"),
        (["publish"], "PATH"),
        (["publish", "a.txt", "--format", "pdf"], "--format"),
        (["topics", "create", "--partitions", "0"], "--partitions"),
        (["stack", "restart"], "restart"),
    ],
)
def test_argument_errors_exit_2_with_a_usage_message(args: list[str], complaint: str) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert complaint in result.stderr


def test_publish_of_nothing_sendable_reports_and_never_contacts_kafka(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("not an article format")
    (tmp_path / "empty.txt").write_text("")

    result = runner.invoke(app, ["--bootstrap-servers", "127.0.0.1:1", "publish", str(tmp_path), "--json"])

    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert (summary["sent"], summary["failed"], summary["skipped"]) == (0, 0, 2)
    assert "notes.md" in result.stderr


def test_publish_of_a_missing_file_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["publish", str(tmp_path / "missing.txt")])

    assert result.exit_code == 1
    assert "sent 0, failed 1, skipped 0" in result.stdout


def test_unreachable_elasticsearch_fails_index_init_with_one_line_and_exit_code_2() -> None:
    # Nothing listens on port 9 here, so the connection is refused at once. (Kafka's client retries
    # a refused bootstrap for its whole timeout, too slow for a unit test; see tests/integration.)
    result = runner.invoke(app, ["--es-url", "http://127.0.0.1:9", "index", "init"])

    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Elasticsearch is not reachable at http://127.0.0.1:9")
