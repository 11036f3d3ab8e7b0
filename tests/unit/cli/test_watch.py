"""``newswire watch``: the search options it shares with ``newswire search``, its usage errors, and how
a watch is shown. Nothing here reaches Elasticsearch (``--es-url`` points at a closed port: a test that
got past the checks would fail with exit 2 and "not reachable")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from schemas.watches import Watch, WatchSearch
from services.cli.main import app
from services.cli.search import SearchOptions, with_search_options
from services.cli.watch import summary, webhook_host
from services.search.watch_models import NewWatch, ShownWatch

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
CLOSED = ["--es-url", "http://127.0.0.1:9"]
SECRET = "correct-horse-battery-staple"


def command(*path: str) -> Any:
    """The click command behind ``newswire <path>`` (typer bundles its own click)."""
    found: Any = typer.main.get_command(app)
    for name in path:
        found = found.commands[name]
    return found


def search_parameters(cmd: Any) -> dict[str, tuple[tuple[str, ...], bool, str | None]]:
    """Each search parameter's option names, whether it repeats, and its help."""
    shared = set(SearchOptions.__dataclass_fields__)
    return {
        p.name: (tuple(p.opts), bool(getattr(p, "multiple", False)), getattr(p, "help", None))
        for p in cmd.params
        if p.name in shared
    }


def test_watch_add_takes_exactly_the_search_options_of_newswire_search() -> None:
    searched = search_parameters(command("search"))
    watched = search_parameters(command("watch", "add"))

    assert set(searched) == set(SearchOptions.__dataclass_fields__)
    assert watched == searched
    assert searched["quotes"][0] == ("--quotes",) and searched["person"][1] is True


def test_the_name_comes_before_the_query_and_the_owner_is_required() -> None:
    add = command("watch", "add")
    arguments = [p.name for p in add.params if p.param_type_name == "argument"]
    [owner] = [p for p in add.params if p.name == "owner"]

    assert arguments == ["name", "query"]
    assert owner.required


def test_with_search_options_hands_the_command_what_was_given() -> None:
    seen: list[SearchOptions] = []

    @with_search_options
    def probe(ctx: typer.Context, what: SearchOptions, flag: bool = False) -> None:
        seen.append(what)

    cli = typer.Typer()
    cli.command()(probe)
    cli.command("other")(lambda: None)  # two commands: the first is addressed by name

    result = runner.invoke(cli, ["probe", "summit", "--person", "A", "--person", "B", "--quotes", "x"])

    assert result.exit_code == 0, result.output
    assert seen == [SearchOptions(query="summit", person=["A", "B"], quotes="x")]


def test_a_command_without_what_is_a_programming_error() -> None:
    def no_what(ctx: typer.Context) -> None: ...

    with pytest.raises(TypeError, match="what"):
        with_search_options(no_what)


HOOKED = ["w", "summit", "--owner", "desk", "--webhook", "http://h.example/x"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["w", "summit"], "--owner"),
        (["w", "--owner", "desk"], "Missing argument 'QUERY'"),
        (["w", "summit", "--owner", "desk", "--country", "China"], "--country"),
        (["w", "summit", "--owner", "desk", "--since", "soon"], "--since"),
        (["w", "summit", "--owner", "desk", "--secret", SECRET], "give --webhook too"),
        (HOOKED, "--secret or --secret-env"),
        ([*HOOKED, "--secret", SECRET, "--secret-env", "S"], "(one)"),
        ([*HOOKED, "--secret-env", "UNSET_VAR_X"], "UNSET_VAR_X is not set"),
    ],
)
def test_usage_errors_exit_2_before_reaching_elasticsearch(args: list[str], complaint: str) -> None:
    result = runner.invoke(app, [*CLOSED, "watch", "add", *args], env={"UNSET_VAR_X": ""})

    assert result.exit_code == 2, result.output
    assert complaint in " ".join(result.stderr.split())
    assert "not reachable" not in result.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["!!!", "summit"], "cannot make a watch id from the name"),
        (["w", "summit", "--webhook", "http://h.example/x", "--secret", "tiny-key"], "webhook.secret"),
        (["w", "summit", "--webhook", "not a url", "--secret", SECRET], "webhook.url"),
        (["w", "summit", "--id", "Not An Id"], "id: String should match pattern"),
    ],
)
def test_a_watch_the_contract_refuses_exits_1_with_the_reason(args: list[str], reason: str) -> None:
    result = runner.invoke(app, [*CLOSED, "watch", "add", *args, "--owner", "desk"])

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: watch refused: ")
    assert reason in result.stderr
    assert "tiny-key" not in result.stderr


def test_the_secret_env_variable_is_read_and_an_unreachable_store_is_exit_2() -> None:
    args = ["w", "summit", "--owner", "desk", "--webhook", "http://h.example/x", "--secret-env", "HOOK_KEY"]

    result = runner.invoke(app, [*CLOSED, "watch", "add", *args], env={"HOOK_KEY": SECRET})

    # Past every check: only Elasticsearch is missing.
    assert result.exit_code == 2, result.output
    # (The client's own warnings may come first when an earlier test configured logging.)
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: Elasticsearch is not reachable at http://127.0.0.1:9")
    )


def test_summary_says_everything_the_watch_looks_for() -> None:
    search = WatchSearch(
        q=" summit ",
        person=["Xi Jinping"],
        country=["kz"],
        quote="friendship",
        speaker="Xi Jinping",
        dateline="Astana",
        source="Press TV",
        since=date(2024, 7, 1),
        include_duplicates=True,
    )

    assert summary(search) == (
        "“summit” · person Xi Jinping · country KZ · quotes “friendship” by Xi Jinping · filed in Astana"
        " · source Press TV · since 2024-07-01 · near-copies too"
    )
    assert summary(WatchSearch(speaker="Xi Jinping")) == "quotes by Xi Jinping"
    assert summary(WatchSearch(quote="no limits")) == "quotes “no limits”"


def a_watch(**changes: object) -> Watch:
    new = NewWatch.model_validate(
        {
            "name": "Xi Jinping quoted!",
            "owner": "asia-desk",
            "search": {"speaker": "Xi Jinping", "country": ["cn"]},
            "webhook": {"url": "https://hooks.example:8443/newswire?x=1", "secret": SECRET},
            **changes,
        }
    )
    return new.watch(now=datetime(2026, 12, 5, 1, 30, tzinfo=UTC))


def test_a_new_watch_gets_the_slug_of_its_name_unless_given_an_id() -> None:
    assert a_watch().id == "xi-jinping-quoted"
    assert a_watch(id="xi").id == "xi"
    assert a_watch().created_at == datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


def test_a_shown_watch_never_carries_the_secret() -> None:
    watch = a_watch()

    shown = ShownWatch.of(watch).model_dump_json()

    assert SECRET not in shown and "secret" not in shown
    assert '"webhook":{"url":"https://hooks.example:8443/newswire?x=1"}' in shown
    assert '"search":{"country":["cn"],"speaker":"Xi Jinping"}' in shown
    assert webhook_host(watch) == "hooks.example:8443"
    assert webhook_host(a_watch(webhook=None)) == ""


def test_newswire_lists_watch_and_watch_lists_its_commands() -> None:
    top = runner.invoke(app, ["--help"])
    watch = runner.invoke(app, ["watch", "--help"])

    assert top.exit_code == 0 and "watch" in top.stdout
    assert watch.exit_code == 0, watch.output
    listed = [
        line.split()[1] for line in watch.stdout.splitlines() if line.startswith("│ ") and line.split()[1:2]
    ]
    assert [name for name in listed if name in {"add", "list", "show", "remove", "test"}] == [
        "add",
        "list",
        "show",
        "remove",
        "test",
    ]
