"""Several workers of a service (``services.stack.pipeline``): names, each one's own settings, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.enrich.settings import Settings as EnrichSettings
from services.index.settings import Settings as IndexSettings
from services.stack import pipeline


def test_worker_names_keep_the_first_worker_as_the_service_was() -> None:
    names = [pipeline.worker_name("enrich", number) for number in (1, 2, 3)]

    assert names == ["enrich", "enrich-2", "enrich-3"]
    assert [pipeline.service_of(name) for name in names] == ["enrich"] * 3
    assert [pipeline.worker_number(name) for name in names] == [1, 2, 3]
    with pytest.raises(ValueError):
        pipeline.worker_name("enrich", pipeline.MAX_WORKERS + 1)


def test_parse_workers_reads_make_ups_form() -> None:
    assert pipeline.parse_workers("enrich=3, index=2") == {"enrich": 3, "index": 2}
    assert pipeline.parse_workers("") == {}
    with pytest.raises(ValueError, match="enrich3"):
        pipeline.parse_workers("enrich3")


def test_each_further_worker_gets_its_own_port_client_id_and_faust_data_dir() -> None:
    step = pipeline.PORT_STEP
    index_port = IndexSettings.model_fields["metrics_port"].default
    assert pipeline.worker_env("index", 1, {}) == {}
    assert pipeline.worker_env("index", 3, {}) == {
        "NEWSWIRE_INDEX_METRICS_PORT": str(index_port + 2 * step),
        "NEWSWIRE_INDEX_CLIENT_ID": "newswire-index-3",
    }

    env = {"NEWSWIRE_ENRICH_METRICS_PORT": "19102", "NEWSWIRE_ENRICH_APP_ID": "enrich-test"}
    second = pipeline.worker_env("enrich", 2, env)

    assert second["NEWSWIRE_ENRICH_METRICS_PORT"] == str(19102 + step)
    assert second["NEWSWIRE_ENRICH_CLIENT_ID"] == "newswire-enrich-2"
    default_dir = EnrichSettings.model_construct(app_id="enrich-test").faust_data_dir
    assert second["NEWSWIRE_ENRICH_DATA_DIR"] == f"{default_dir}-2"
    assert "NEWSWIRE_ENRICH_APP_ID" not in second, "the workers share the app id: one consumer group"


def test_a_worker_keeps_metrics_off_and_derives_from_the_given_client_id_and_data_dir() -> None:
    env = {
        "NEWSWIRE_ENRICH_METRICS_PORT": "0",
        "NEWSWIRE_ENRICH_CLIENT_ID": "mine",
        "NEWSWIRE_ENRICH_DATA_DIR": "/data/faust",
    }

    second = pipeline.worker_env("enrich", 2, env)

    assert "NEWSWIRE_ENRICH_METRICS_PORT" not in second
    assert (second["NEWSWIRE_ENRICH_CLIENT_ID"], second["NEWSWIRE_ENRICH_DATA_DIR"]) == (
        "mine-2",
        "/data/faust-2",
    )


def test_the_worker_ports_of_different_services_do_not_meet() -> None:
    ports = [
        int(pipeline.worker_env(service, number, {})[f"NEWSWIRE_{service.upper()}_METRICS_PORT"])
        for service in ("ingest", "enrich", "index", "alert")
        for number in range(2, pipeline.MAX_WORKERS + 1)
    ]
    assert len(ports) == len(set(ports))


def test_workers_must_name_started_services_and_the_search_service_runs_once() -> None:
    wanted = pipeline._wanted_workers(["ingest", "enrich", "index"], {"enrich": 3, "index": 2})
    assert wanted == [("ingest", 1), ("enrich", 1), ("enrich", 2), ("enrich", 3), ("index", 1), ("index", 2)]
    with pytest.raises(ValueError, match="not started"):
        pipeline._wanted_workers(["ingest"], {"enrich": 2})
    with pytest.raises(ValueError, match="one process"):
        pipeline._wanted_workers([pipeline.SEARCH], {pipeline.SEARCH: 2})
    with pytest.raises(ValueError, match="between 1 and"):
        pipeline._wanted_workers(["enrich"], {"enrich": 0})


def test_status_lists_every_worker_that_left_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "enrich-3.status.json").write_text(json.dumps({"state": "stopped", "restarts": 2}))
    (run / "enrich-2.pid").write_text("999999999\n")  # not alive: a stopped worker
    (run / "index-2.supervisor.pid").write_text("999999999\n")
    (run / "enrichment-2.pid").write_text("1\n")  # not a worker of enrich

    by_service = {
        name: [proc.name for proc in pipeline.status(tmp_path, [name])] for name in ("enrich", "index")
    }

    assert by_service == {"enrich": ["enrich", "enrich-2", "enrich-3"], "index": ["index", "index-2"]}
    (third,) = pipeline.status(tmp_path, ["enrich-3"])
    assert (third.service, third.worker, third.restarts, third.running) == ("enrich", 3, 2, False)
