"""``newswire reprocess`` and ``newswire index prune`` as the command line sees them (no services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import typer
from typer.testing import CliRunner

from services.cli.main import app
from services.cli.reprocess import _moment


def test_a_date_is_midnight_utc_and_a_zone_is_kept() -> None:
    assert _moment("2024-07-01", "--since") == datetime(2024, 7, 1, tzinfo=UTC)
    assert _moment("2024-07-01T12:30:00+02:00", "--until") == datetime(
        2024, 7, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))
    )
    assert _moment(None, "--since") is None


def test_a_bad_date_names_its_option() -> None:
    with pytest.raises(typer.BadParameter, match="--since"):
        _moment("last tuesday", "--since")


def test_the_commands_and_their_options_are_registered() -> None:
    runner = CliRunner()
    reprocess = runner.invoke(app, ["reprocess", "--help"], env={"COLUMNS": "200"})
    assert reprocess.exit_code == 0
    for option in ("--source", "--since", "--until", "--query", "--stale", "--rate", "--workers", "--yes"):
        assert option in reprocess.output
    prune = runner.invoke(app, ["index", "prune", "--help"], env={"COLUMNS": "200"})
    assert prune.exit_code == 0 and "--yes" in prune.output
