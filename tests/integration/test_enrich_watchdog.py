"""The stall watchdog in the enrich service (faust): commits that stop while records wait end it.

The service runs as ``python -m services.enrich`` with faust's periodic commit pushed beyond the
test (``NEWSWIRE_ENRICH_COMMIT_INTERVAL_S=600``): it enriches what arrives, but the group's
committed offsets stand still while its partitions have lag. That is what the watchdog sees of any
enrich that stopped making progress (a blocked event loop, a hung commit, lost fetches): the
partitions this process holds, published from a faust timer, stay behind their end with
unmoving commits. The process must then fail ``/healthz`` and ``/readyz`` with the reason, log
the partitions and offsets, and exit 70 for its supervisor to restart it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import orjson
import pytest

from schemas.topics import TOPICS
from services.runtime.kafka import ensure_topics, pipeline_topics
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.watchdog import STALL_EXIT_CODE
from tests.integration.endpoints import free_port
from tests.integration.test_enrich_service import (  # noqa: F401 - fixtures
    EnrichProcess,
    kafka,
    publish,
    start_enrich,
    start_group_at_end,
)
from tests.integration.test_watchdog import log_lines, probe
from tests.unit.enrich.factories import article, ingested_event

pytestmark = pytest.mark.integration

STALL_TIMEOUT_S = 12.0


def test_enrich_whose_commits_stand_still_with_records_waiting_fails_its_probes_and_exits_70(
    kafka: KafkaSettings,  # noqa: F811 - the fixture
    start_enrich: Callable[..., EnrichProcess],  # noqa: F811 - the fixture
) -> None:
    run = uuid.uuid4().hex[:12]
    app_id = f"newswire-enrich-watchdog-{run}"
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    start_group_at_end(kafka, app_id, TOPICS.ingested)
    events = [ingested_event(article(), trace_id=f"enrich-watchdog-{run}-{i}") for i in range(4)]
    positions = publish(
        kafka,
        *(
            (
                event.article.id.encode(),
                orjson.dumps(event.model_dump(mode="json")),
                [(TRACE_HEADER, event.trace_id.encode())],
            )
            for event in events
        ),
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = start_enrich(
        app_id,
        NEWSWIRE_ENRICH_METRICS_PORT=str(port),
        NEWSWIRE_ENRICH_STALL_TIMEOUT_S=str(STALL_TIMEOUT_S),
    )
    started = time.monotonic()

    reasons: dict[str, str] = {}
    deadline = started + 240
    while len(reasons) < 2 and time.monotonic() < deadline and service.proc.poll() is None:
        for path in ("/healthz", "/readyz"):
            status, text = probe(url, path)
            if status == 503 and text.startswith("stalled: "):
                reasons[path] = text
        time.sleep(0.2)
    exit_code = service.proc.wait(timeout=120)
    log_text = service.log_path.read_text(encoding="utf-8", errors="replace")

    assert exit_code == STALL_EXIT_CODE == 70, log_text[-4000:]
    assert set(reasons) == {"/healthz", "/readyz"}, (reasons, log_text[-4000:])
    assert reasons["/healthz"] == reasons["/readyz"]
    # It did its work: the events were enriched before the stall was called (commits, not
    # processing, stood still).
    enriched = {line.get("trace_id") for line in log_lines(log_text) if line.get("msg") == "enriched"}
    assert {event.trace_id for event in events} <= enriched, log_text[-4000:]
    (stalled,) = [line for line in log_lines(log_text) if line.get("msg", "").startswith("consumer stalled")]
    assert stalled["level"] == "error" and stalled["exit_code"] == 70
    for partition, offset in positions:
        name = f"{TOPICS.ingested}[{partition}]"
        assert name in stalled["partitions"], stalled
        assert stalled["committed"][name] <= offset < stalled["end"][name], (name, stalled)
        assert f"{name} committed {stalled['committed'][name]}, end " in reasons["/readyz"]
    assert stalled["stalled_s"] >= STALL_TIMEOUT_S
