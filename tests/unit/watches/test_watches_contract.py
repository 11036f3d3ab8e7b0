"""The watch contract (schemas/watches.py) and its conversion into the search service's request."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from schemas.watches import AlertEvent, Watch, WatchSearch, alert_key, watch_id_for
from services.search.archive import request_for
from services.search.models import SearchParams
from services.watches.matching import batch_request, search_params_for, watch_request
from services.watches.store import stored_document

SECRET = "s3cret-s3cret-s3cret"


def a_watch(**changes: object) -> Watch:
    fields: dict[str, object] = {
        "id": "xi-quoted",
        "name": "Xi quoted",
        "owner": "desk",
        "search": {"speaker": "Xi Jinping"},
        "webhook": {"url": "http://127.0.0.1:8000/hook", "secret": SECRET},
        "created_at": datetime(2026, 1, 2, tzinfo=UTC),
    }
    fields.update(changes)
    return Watch.model_validate(fields)


def test_every_watch_search_field_is_a_search_parameter_with_the_same_default() -> None:
    search_fields = SearchParams.model_fields
    for name, field in WatchSearch.model_fields.items():
        assert name in search_fields, f"{name} is not a parameter of newswire search"
        assert field.get_default(call_default_factory=True) == search_fields[name].get_default(
            call_default_factory=True
        ), name


def test_the_choosing_search_parameters_are_all_in_a_watch() -> None:
    # Paging, sort and month (a facet's shortcut for since/until) do not choose articles differently.
    presentation = {"sort", "size", "page", "month"}
    assert set(SearchParams.model_fields) - presentation == set(WatchSearch.model_fields)


def test_a_watch_runs_the_request_of_the_same_search() -> None:
    search = WatchSearch(
        q="Shanghai Cooperation Organization",
        person=["Vladimir Putin"],
        country=["kz"],
        since=date(2024, 7, 1),
        quote="friendship",
        speaker="Xi Jinping",
    )
    same_search = SearchParams.model_validate(
        {
            "q": "Shanghai Cooperation Organization",
            "person": ["Vladimir Putin"],
            "country": ["kz"],
            "since": "2024-07-01",
            "quote": "friendship",
            "speaker": "Xi Jinping",
        }
    )
    assert search_params_for(search) == same_search
    assert watch_request(search) == request_for(same_search)


def test_the_batch_request_keeps_the_search_query_whole_and_filters_the_ids() -> None:
    search = WatchSearch(q="summit", speaker="Xi Jinping")
    ids = ["a" * 32, "b" * 32]
    body = batch_request(search, ids)
    assert body["query"]["bool"]["must"] == [watch_request(search)["query"]]
    assert body["query"]["bool"]["filter"] == [{"ids": {"values": ids}}]
    assert body["size"] == 2 and "aggs" not in body and "highlight" in body
    with pytest.raises(ValueError):
        batch_request(search, [])


def test_a_watch_on_nothing_is_refused() -> None:
    with pytest.raises(ValidationError, match="would match everything"):
        WatchSearch(q="   ", include_duplicates=True)
    assert WatchSearch(country=["KZ"]).country == ["KZ"]


def test_watch_ids_are_slugs_of_the_name() -> None:
    assert watch_id_for("Xi Jinping: quoted!") == "xi-jinping-quoted"
    assert watch_id_for("Zürich  SCO") == "zurich-sco"
    with pytest.raises(ValueError):
        watch_id_for("!!!")
    with pytest.raises(ValidationError):
        a_watch(id="Not A Slug")


def test_the_secret_is_hidden_in_dumps_and_kept_in_the_stored_document() -> None:
    watch = a_watch()
    assert SECRET not in watch.model_dump_json()
    assert SECRET not in repr(watch)
    document = stored_document(watch)
    assert document["webhook"]["secret"] == SECRET
    assert Watch.model_validate(document) == watch
    with pytest.raises(ValidationError):
        a_watch(webhook={"url": "http://127.0.0.1/hook", "secret": "short"})


def test_an_alert_is_keyed_by_watch_and_article() -> None:
    alert = AlertEvent(
        event_id="6f1c1d1e-2b1a-4c1d-9e1f-0a1b2c3d4e5f",
        produced_at=datetime.now(UTC),
        producer="alert",
        trace_id="t",
        watch_id="xi-quoted",
        watch_name="Xi quoted",
        watch_owner="desk",
        article_id="c" * 32,
        title="Putin, Xi meet",
        url=None,
        snippet="<em>Xi</em>",
        revision=5,
        matched_at=datetime.now(UTC),
    )
    assert alert.key() == alert_key("xi-quoted", "c" * 32) == f"xi-quoted:{'c' * 32}"
    assert AlertEvent.model_validate_json(alert.model_dump_json()) == alert


def test_the_ids_only_request_is_the_same_query_without_highlights_fields_or_quotes() -> None:
    search = WatchSearch(q="summit", speaker="Xi Jinping")
    full = batch_request(search, ["a" * 32])
    lean = batch_request(search, ["a" * 32], ids_only=True)
    assert "highlight" not in lean and lean["_source"] is False
    nested = [clause for clause in _clauses(full["query"]) if "nested" in clause]
    assert len(nested) == 1 and "inner_hits" in nested[0]["nested"]
    del nested[0]["nested"]["inner_hits"]
    assert lean["query"] == full["query"]


def _clauses(query: object) -> list[dict[str, object]]:
    """Every object inside ``query``, depth first."""
    found: list[dict[str, object]] = []
    if isinstance(query, dict):
        found.append(query)
        for value in query.values():
            found.extend(_clauses(value))
    elif isinstance(query, list):
        for value in query:
            found.extend(_clauses(value))
    return found
