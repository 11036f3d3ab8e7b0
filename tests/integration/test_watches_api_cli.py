"""Watches through the search API (``/watches``) and ``newswire watch`` run as a process, on the real
Elasticsearch: a private watches index (``NEWSWIRE_WATCHES_INDEX``) and a throwaway archive made from
the real template, both deleted afterwards; the shared alias and watches index are never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import Elasticsearch

from schemas.articles import EnrichedArticle, Entity, EntityType, Quote
from tests.integration.search_server import SearchService, running_search_service, throwaway_index
from tests.unit.index.factories import enriched_article

XI = "Xi Jinping"
SECRET = "integration-hook-secret-0123456789"


def xi_quoted(title: str, words: str, published: datetime) -> EnrichedArticle:
    return enriched_article(
        title=title,
        paragraphs=[f"Xi Jinping spoke at the summit: {words}."],
        published_at=published,
        source="Example News",
        entities=[Entity(name=XI, type=EntityType.PERSON, mentions=1, first_offset=0)],
        quotes=[Quote(text=words, speaker=XI, speaker_type=EntityType.PERSON, offset=30)],
    )


# Published oldest to newest: MAY, then JUNE, then JULY (which nobody quotes).
MAY = xi_quoted(
    "Xi praises the summit in May", "friendship for generations", datetime(2024, 5, 2, tzinfo=UTC)
)
JULY = enriched_article(
    title="Harvest summit in the valley",
    paragraphs=["Farmers met at a summit on wheat prices."],
    published_at=datetime(2024, 7, 20, tzinfo=UTC),
)
JUNE = xi_quoted("Xi at the June summit on trade", "trade must stay open", datetime(2024, 6, 15, tzinfo=UTC))
ARTICLES = (MAY, JULY, JUNE)


@pytest.fixture(scope="module")
def archive(es: Elasticsearch) -> Iterator[str]:
    with throwaway_index(es, ARTICLES, "newswire-test-watches-archive") as name:
        yield name


@pytest.fixture(scope="module")
def watches_index(es: Elasticsearch) -> Iterator[str]:
    name = f"newswire-test-watches-{uuid.uuid4().hex[:10]}"
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


@pytest.fixture(scope="module")
def env(archive: str, watches_index: str) -> dict[str, str]:
    """Where the service and the CLI keep watches and which archive their searches run on."""
    return {
        "NEWSWIRE_SEARCH_INDEX": archive,
        "NEWSWIRE_WATCHES_INDEX": watches_index,
        "NEWSWIRE_WATCHES_ARTICLES": archive,
    }


@pytest.fixture(scope="module")
def service(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    with running_search_service(env, tmp_path_factory.mktemp("watches")) as svc:
        yield svc


@pytest.fixture(scope="module")
def client(service: SearchService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        yield http


def newswire(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    script = shutil.which("newswire")
    command = [script] if script else [sys.executable, "-m", "services.cli"]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env},
    )


def new_watch(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "owner": "asia-desk", "search": {"speaker": XI}, **fields}


def created(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/watches", json=body)
    assert response.status_code == 201, response.text
    shown: dict[str, Any] = response.json()
    return shown


def listed_ids(client: httpx.Client, **params: str) -> list[str]:
    response = client.get("/watches", params=params)
    assert response.status_code == 200, response.text
    return [watch["id"] for watch in response.json()]


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# -- the API -------------------------------------------------------------------------------------


def test_a_watch_made_through_the_api_is_stored_with_its_secret_and_never_answers_it(
    client: httpx.Client, es: Elasticsearch, watches_index: str
) -> None:
    name = unique("Xi quoted")
    hook = {"url": "https://hooks.example/newswire", "secret": SECRET}

    shown = created(client, new_watch(name, webhook=hook, alert_on_revisions=True))

    watch_id = shown["id"]
    assert watch_id == name.lower().replace(" ", "-")
    assert shown["search"] == {"speaker": XI}
    assert shown["webhook"] == {"url": "https://hooks.example/newswire"}
    assert shown["alert_on_revisions"] is True and shown["owner"] == "asia-desk"
    got = client.get(f"/watches/{watch_id}")
    assert got.status_code == 200 and got.json() == shown
    assert watch_id in listed_ids(client) and watch_id in listed_ids(client, owner="asia-desk")
    assert watch_id not in listed_ids(client, owner="someone-else")
    for answer in (got.text, client.get("/watches").text):
        assert SECRET not in answer and "secret" not in answer
    stored = es.get(index=watches_index, id=watch_id)["_source"]
    assert stored["webhook"]["secret"] == SECRET  # write-only, not dropped: the alert service signs with it


def test_a_second_watch_with_the_same_id_is_a_conflict(client: httpx.Client) -> None:
    first = created(client, new_watch(unique("twice")))

    again = client.post("/watches", json=new_watch(first["name"], owner="other"))

    assert again.status_code == 409, again.text
    [problem] = again.json()["detail"]
    assert problem["loc"] == ["body", "id"] and first["id"] in problem["msg"]
    assert client.get(f"/watches/{first['id']}").json()["owner"] == "asia-desk"


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        (new_watch("nothing", search={}), ["body", "search"], "a watch needs words"),
        (
            new_watch("bad country", search={"country": ["China"]}),
            ["body", "search", "country", 0],
            "pattern",
        ),
        (new_watch("unknown", search={"speakers": XI}), ["body", "search", "speakers"], "not permitted"),
        (
            new_watch("weak", webhook={"url": "https://hooks.example/x", "secret": "tiny-key"}),
            ["body", "webhook", "secret"],
            "at least 16",
        ),
        (new_watch("!!!"), ["body", "name"], "cannot make a watch id"),
    ],
)
def test_a_watch_that_cannot_run_is_refused_with_the_reason(
    client: httpx.Client, body: dict[str, Any], where: list[Any], words: str
) -> None:
    before = listed_ids(client)

    response = client.post("/watches", json=body)

    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["loc"] == where and words in p["msg"] for p in problems), problems
    assert "tiny-key" not in response.text  # the refused secret is not echoed
    assert listed_ids(client) == before


def test_a_body_that_is_not_json_is_refused(client: httpx.Client) -> None:
    # A page on another site can POST text/plain without asking (no CORS preflight): never a watch.
    body = orjson.dumps(new_watch(unique("plain")))

    response = client.post("/watches", content=body, headers={"content-type": "text/plain"})

    assert response.status_code == 422, response.text


def test_testing_a_watch_lists_what_it_matches_newest_first_never_relaxed(client: httpx.Client) -> None:
    xi = created(client, new_watch(unique("Xi quoted")))
    mixed = created(client, new_watch(unique("mixed"), search={"q": "summit Kathmandu Himalaya glacier"}))

    page = client.get(f"/watches/{xi['id']}/test").json()

    assert [hit["id"] for hit in page["hits"]] == [JUNE.id, MAY.id]
    assert page["total"] == 2 and page["relaxed"] is False
    assert {quote["speaker"] for hit in page["hits"] for quote in hit["quotes"]} == {XI}
    assert [
        hit["id"] for hit in client.get(f"/watches/{xi['id']}/test", params={"size": 1}).json()["hits"]
    ] == [JUNE.id]
    # The search relaxes "summit Kathmandu Himalaya glacier" to any one word; a watch never does.
    assert client.get("/search", params={"q": "summit Kathmandu Himalaya glacier"}).json()["relaxed"] is True
    strict = client.get(f"/watches/{mixed['id']}/test").json()
    assert strict["total"] == 0 and strict["hits"] == []


def test_a_removed_watch_is_gone(client: httpx.Client) -> None:
    watch_id = created(client, new_watch(unique("short-lived")))["id"]

    assert client.delete(f"/watches/{watch_id}").status_code == 204

    assert client.get(f"/watches/{watch_id}").status_code == 404
    assert client.get(f"/watches/{watch_id}/test").status_code == 404
    assert client.delete(f"/watches/{watch_id}").status_code == 404
    assert watch_id not in listed_ids(client)


def test_a_watch_id_that_cannot_be_one_is_422(client: httpx.Client) -> None:
    assert client.get("/watches/Not%20An%20Id").status_code == 422
    assert client.delete("/watches/UPPER").status_code == 422


def test_the_openapi_description_has_the_watch_routes_and_no_secret_in_answers(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()

    assert {"/watches", "/watches/{watch_id}", "/watches/{watch_id}/test"} <= set(spec["paths"])
    assert set(spec["paths"]["/watches"]) == {"get", "post"}
    assert set(spec["paths"]["/watches/{watch_id}"]) == {"get", "delete"}
    schemas = spec["components"]["schemas"]
    assert set(schemas["ShownWebhook"]["properties"]) == {"url"}  # what is answered
    assert set(schemas["Webhook"]["properties"]) == {"url", "secret"}  # what POST takes


# -- the CLI -------------------------------------------------------------------------------------


def test_the_cli_adds_shows_tests_and_removes_a_watch(env: dict[str, str]) -> None:
    name = unique("Xi quoted CLI")
    hook = ["--webhook", "https://hooks.example/cli", "--secret-env", "HOOK_SECRET"]

    added = newswire(
        {**env, "HOOK_SECRET": SECRET}, "watch", "add", name, "--speaker", XI, "--owner", "cli", *hook
    )

    assert added.returncode == 0, added.stderr
    watch_id = name.lower().replace(" ", "-")
    assert (
        watch_id in added.stdout
        and "hooks.example/cli" in added.stdout
        and "quotes by Xi Jinping" in added.stdout
    )
    assert SECRET not in added.stdout + added.stderr

    listed = newswire(env, "watch", "list", "--owner", "cli", "--json")
    assert listed.returncode == 0, listed.stderr
    [shown] = orjson.loads(listed.stdout)
    assert shown["id"] == watch_id and shown["webhook"] == {"url": "https://hooks.example/cli"}
    assert SECRET not in listed.stdout
    table = newswire(env, "watch", "list")
    assert table.returncode == 0 and any(
        watch_id in line and "cli" in line and "hooks.example" in line for line in table.stdout.splitlines()
    ), table.stdout

    by_name = newswire(env, "watch", "show", name)
    assert by_name.returncode == 0, by_name.stderr
    assert f"id  {watch_id}" in by_name.stdout and "owner  cli" in by_name.stdout

    tried = newswire(env, "watch", "test", watch_id, "--json")
    assert tried.returncode == 0, tried.stderr
    assert [hit["id"] for hit in orjson.loads(tried.stdout)["hits"]] == [JUNE.id, MAY.id]
    text = newswire(env, "watch", "test", watch_id)
    assert text.returncode == 0, text.stderr
    titles = [line for line in text.stdout.splitlines() if line.startswith((" 1.", " 2."))]
    assert [t.split(". ", 1)[1].startswith(a.title) for t, a in zip(titles, (JUNE, MAY), strict=True)] == [
        True
    ] * 2
    assert "“trade must stay open” — Xi Jinping" in text.stdout

    kept = newswire(env, "watch", "remove", watch_id, stdin="n\n")
    assert kept.returncode == 1 and newswire(env, "watch", "show", watch_id).returncode == 0
    removed = newswire(env, "watch", "remove", watch_id, "--yes")
    assert removed.returncode == 0, removed.stderr
    gone = newswire(env, "watch", "show", watch_id)
    assert gone.returncode == 1 and f"no watch {watch_id!r}" in gone.stderr


def test_watch_test_shows_what_newswire_search_finds_newest_first(env: dict[str, str], archive: str) -> None:
    name = unique("summit")
    assert newswire(env, "watch", "add", name, "summit", "--owner", "cli").returncode == 0

    tried = newswire(env, "watch", "test", name, "--json")
    searched = newswire(env, "search", "summit", "--sort", "date", "--index", archive, "--json")

    assert tried.returncode == 0 and searched.returncode == 0, tried.stderr + searched.stderr
    hits = orjson.loads(tried.stdout)["hits"]
    assert [hit["id"] for hit in hits] == [JULY.id, JUNE.id, MAY.id]
    assert [hit["id"] for hit in hits] == [hit["id"] for hit in orjson.loads(searched.stdout)["hits"]]


def test_watch_test_in_the_cli_is_never_relaxed(
    env: dict[str, str], client: httpx.Client, archive: str
) -> None:
    words = "summit Kathmandu Himalaya glacier"
    made = created(client, new_watch(unique("strict"), search={"q": words}))

    tried = newswire(env, "watch", "test", made["id"], "--json")
    searched = newswire(env, "search", words, "--index", archive, "--json")

    assert tried.returncode == 0 and searched.returncode == 0, tried.stderr + searched.stderr
    assert orjson.loads(searched.stdout)["relaxed"] is True  # the search falls back to any one word
    strict = orjson.loads(tried.stdout)
    assert (strict["total"], strict["relaxed"], strict["hits"]) == (0, False, [])


def test_the_cli_and_the_api_share_the_watches(env: dict[str, str], client: httpx.Client) -> None:
    made = created(client, new_watch(unique("from the api")))

    shown = newswire(env, "watch", "show", made["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert orjson.loads(shown.stdout) == made

    assert newswire(env, "watch", "remove", made["id"], "--yes").returncode == 0
    assert client.get(f"/watches/{made['id']}").status_code == 404


def test_the_cli_refuses_a_duplicate_and_a_search_the_archive_cannot_run(
    env: dict[str, str], es: Elasticsearch
) -> None:
    name = unique("once")
    assert newswire(env, "watch", "add", name, "--person", XI, "--owner", "cli").returncode == 0

    twice = newswire(env, "watch", "add", name, "--person", XI, "--owner", "cli")
    assert twice.returncode == 1
    assert twice.stderr.startswith("error: watch refused: a watch with id")

    # An archive where `people` holds numbers: Elasticsearch cannot run a person filter on it.
    odd = f"newswire-test-watches-odd-{uuid.uuid4().hex[:8]}"
    es.indices.create(index=odd, mappings={"properties": {"people": {"type": "long"}}})
    try:
        odd_name = unique("odd")
        refused = newswire(
            {**env, "NEWSWIRE_WATCHES_ARTICLES": odd},
            "watch",
            "add",
            odd_name,
            "--person",
            XI,
            "--owner",
            "x",
        )
    finally:
        es.indices.delete(index=odd)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.startswith("error: watch refused: Elasticsearch cannot run this search")
    assert XI in refused.stderr
    assert newswire(env, "watch", "show", odd_name).returncode == 1


# -- the API over an archive it cannot search, and without Elasticsearch ------------------------


def test_the_api_refuses_a_watch_elasticsearch_cannot_run_with_its_reason(
    env: dict[str, str], es: Elasticsearch, tmp_path: Path
) -> None:
    # An archive where `people` holds numbers: Elasticsearch cannot run a person filter on it.
    odd = f"newswire-test-watches-odd-{uuid.uuid4().hex[:8]}"
    mappings = {"properties": {"people": {"type": "long"}, "published_at": {"type": "date"}}}
    es.indices.create(index=odd, mappings=mappings)
    try:
        with (
            running_search_service({**env, "NEWSWIRE_SEARCH_INDEX": odd}, tmp_path) as svc,
            httpx.Client(base_url=svc.url, timeout=30) as http,
        ):
            refused = http.post("/watches", json=new_watch(unique("person"), search={"person": [XI]}))
            source = http.post("/watches", json=new_watch(unique("source"), search={"source": "Press TV"}))
    finally:
        es.indices.delete(index=odd)

    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "search"] and problem["type"] == "watch_refused"
    assert problem["msg"].startswith("Elasticsearch cannot run this search") and XI in problem["msg"]
    assert source.status_code == 201, source.text  # a search that runs there is saved


def test_without_elasticsearch_the_watches_api_answers_503(env: dict[str, str], tmp_path: Path) -> None:
    closed = {**env, "NEWSWIRE_ES_URL": "http://127.0.0.1:9", "NEWSWIRE_SEARCH_STARTUP_TIMEOUT_S": "0"}
    with (
        running_search_service(closed, tmp_path) as svc,
        httpx.Client(base_url=svc.url, timeout=30) as http,
    ):
        answers = [
            http.get("/watches"),
            http.post("/watches", json=new_watch(unique("offline"))),
            http.get("/watches/xi"),
            http.delete("/watches/xi"),
            http.get("/watches/xi/test"),
        ]

    assert [answer.status_code for answer in answers] == [503] * 5, [a.text for a in answers]
    assert all("not reachable at http://127.0.0.1:9" in answer.json()["detail"] for answer in answers)
