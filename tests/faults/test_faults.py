"""Nothing lost, nothing doubled: the pipeline's delivery guarantees under crashes and outages.

While a few thousand articles (and the whole bad-input catalogue) flow through the three services,
each service, running under its supervisor as ``make up`` runs it, is SIGKILLed at random moments
and kept down for a planned time before its supervisor restarts it (see ``chaos.py``), the Kafka
broker is killed and restarted, and Elasticsearch is stopped for tens of seconds. Afterwards the
index must hold exactly one document per accepted article (none missing, none extra), every
article sent as a newer and then an older revision must show the newer one, the DLQ must hold
exactly the bad events with their reasons and original bytes, and every consumer group must have
caught up. No service may have died on its own: by the supervisors' records every unexpected exit
is one of the suite's SIGKILLs and the restarts equal the kills. Each service must then stop on
SIGTERM and exit 0.
"""

from __future__ import annotations

import base64
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from elasticsearch import ApiError, Elasticsearch, TransportError, helpers
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.dead_letter import DeadLetter
from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.index.bootstrap import ensure_index
from services.runtime.kafka import consumer_lag, ensure_topics, pipeline_topics
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings, TopicSettings
from services.stack import pipeline
from services.stack.process import spawn_detached
from services.stack.supervise import RestartPolicy, ServiceFiles, command_line
from tests.faults.chaos import (
    RESTART_TIMEOUT_S,
    STOP_TIMEOUT_S,
    ChaosLog,
    PrivateStack,
    Services,
    break_infrastructure,
    kill_services,
    publish,
)
from tests.faults.conftest import REPO_ROOT, FaultSettings, FaultStack
from tests.faults.workload import Workload, build_workload

GROUPS = {
    "ingest": ("newswire-ingest", TOPICS.raw),
    "enrich": ("newswire-enrich", TOPICS.ingested),
    "index": ("newswire-index", TOPICS.enriched),
}
DLQ_PAYLOAD_MAX_BYTES = 1_048_576  # the services' default dlq_payload_max_bytes
_FAULTS = FaultSettings()


@pytest.mark.timeout(
    int(
        300
        + _FAULTS.rounds * (_FAULTS.flow_seconds + 2 * _FAULTS.settle_timeout_s + 240 + STOP_TIMEOUT_S)
        + 3 * _FAULTS.kills_per_service * RESTART_TIMEOUT_S
    )
)
def test_nothing_lost_nothing_doubled(fault_stack: FaultStack, capsys: pytest.CaptureFixture[str]) -> None:
    faults = fault_stack.faults
    seed = faults.seed if faults.seed is not None else random.SystemRandom().randrange(1 << 30)
    reports = []
    for round_number in range(1, faults.rounds + 1):
        report = run_scenario(fault_stack, seed + round_number - 1, round_number)
        reports.append(report)
        with capsys.disabled():
            print(render(report))
    (fault_stack.state_dir / "last-report.json").write_text(json.dumps(reports, indent=2, default=str))
    problems = [problem for report in reports for problem in report["problems"]]
    assert not problems, "\n".join(problems)


def run_scenario(stack: FaultStack, seed: int, round_number: int) -> dict[str, Any]:
    faults = stack.faults
    rng = random.Random(seed)
    es = Elasticsearch(stack.settings.es_url, request_timeout=30, max_retries=5, retry_on_timeout=True)
    ensure_topics(stack.kafka, pipeline_topics(TopicSettings()))
    ensure_index(es)

    workload = build_workload(faults.articles, rng, salt=f"r{round_number}-s{seed}-")
    # Rounds share the stack: what earlier rounds indexed and dead-lettered stays expected.
    before = snapshot(stack, es)
    log = ChaosLog()
    services = Services(stack, log)
    started_services = services.start()
    not_running = [f"{p.name}: {p.state}" for p in started_services if not (p.supervised and p.running)]
    if not_running:
        pytest.fail(f"services did not start under their supervisors: {not_running}")
    wait_until_consuming(stack.kafka, timeout=180)

    flow = faults.flow_seconds
    kill_schedule = sorted(
        (rng.uniform(0.05, 0.85) * flow, name, rng.uniform(0.5, 5.0))
        for name in pipeline.SERVICES
        for _ in range(faults.kills_per_service)
    )
    infra_schedule = sorted(
        [(rng.uniform(0.15, 0.6) * flow, "broker") for _ in range(faults.broker_restarts)]
        + [(rng.uniform(0.2, 0.5) * flow, "elasticsearch") for _ in range(faults.es_outages)]
    )
    started = time.monotonic()
    log.started = started
    threads = [
        threading.Thread(target=kill_services, args=(services, kill_schedule, started), daemon=True),
        threading.Thread(
            target=break_infrastructure, args=(stack, infra_schedule, log, started), daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    published = publish(stack, workload.messages, flow, deadline_s=faults.settle_timeout_s)
    for thread in threads:
        thread.join(timeout=faults.settle_timeout_s)
    flow_done = time.monotonic()

    expected_ids = before["ids"] | workload.expected_ids
    expected_bad = before["bad_traces"] | set(workload.bad_by_trace)
    state = settle(stack, es, expected_ids, expected_bad, faults.settle_timeout_s)
    supervised = pipeline.status(stack.state_dir)
    supervision_problems = services.supervision_problems(supervised)
    stopping = time.monotonic()
    stopped = services.stop()
    finished = time.monotonic()
    exits_on_stop = {proc.name: proc.last_exit_code for proc in pipeline.status(stack.state_dir)}

    try:
        problems = check(workload, expected_ids, expected_bad, state, es)
    except Exception as exc:  # the figures are still worth printing
        problems = [f"could not check the outcome: {exc!r}"]
    problems += (
        [f"publisher: {len(published.refused)} messages never acknowledged"] if published.refused else []
    )
    problems += supervision_problems
    problems += [f"chaos action failed: {error}" for error in log.errors]
    problems += [
        f"{name} did not stop on SIGTERM within {STOP_TIMEOUT_S:.0f}s"
        for name, clean in stopped.items()
        if not clean
    ]
    problems += [
        f"{name} exited {code} on SIGTERM, not 0" for name, code in exits_on_stop.items() if code != 0
    ]
    es.close()
    return {
        "round": round_number,
        "seed": seed,
        "source": workload.source,
        "articles": len(workload.expected_ids),
        "messages": len(workload.messages),
        "revisions": len(workload.newest_revision),
        "resent": workload.count("resent"),
        "bad": len(workload.bad_by_trace),
        "published_acked": published.acknowledged,
        "publisher_resends": published.resends,
        "kills": dict(log.kills),
        "supervisor_restarts": {proc.name: proc.restarts for proc in supervised},
        "restart_after_s": {name: [round(s, 1) for s in gaps] for name, gaps in log.restart_after_s.items()},
        "stop_s": round(finished - stopping, 1),
        "exits_on_stop": exits_on_stop,
        "broker_restarts": log.broker_restarts,
        "broker_down_s": [round(s, 1) for s in log.broker_down_s],
        "es_outages_s": [round(s, 1) for s in log.es_outages_s],
        "es_stopped_s": [round(s, 1) for s in log.es_stopped_s],
        "flow_s": round(flow_done - started, 1),
        "settle_s": round(state["settled_after_s"], 1),
        "duration_s": round(finished - started, 1),
        "es_documents": state["es_count"],
        "expected_documents": len(expected_ids),
        "dlq_records": state["dlq_records"],
        "dlq_distinct_bad": len(state["dlq_by_trace"]),
        "lag": state["lag"],
        "events": log.events,
        "problems": problems,
    }


def wait_until_consuming(kafka: KafkaSettings, timeout: float) -> None:
    """Until every service's consumer group has members (they have connected and joined)."""
    deadline = time.monotonic() + timeout
    admin = KafkaAdminClient(**kafka.client_config(), client_id="faults-groups")
    try:
        while time.monotonic() < deadline:
            try:
                described = admin.describe_groups([group for group, _ in GROUPS.values()])
            except KafkaError:
                described = {}
            if described and all(group["members"] for group in described.values()):
                return
            time.sleep(1)
    finally:
        admin.close()
    pytest.fail(f"the services did not join their consumer groups within {timeout:.0f}s")


def snapshot(stack: FaultStack, es: Elasticsearch) -> dict[str, Any]:
    return {"ids": indexed_ids(es), "bad_traces": set(read_dlq(stack.kafka))}


def indexed_ids(es: Elasticsearch) -> set[str]:
    es.indices.refresh(index=ALIAS)
    return {hit["_id"] for hit in helpers.scan(es, index=ALIAS, query={"_source": False}, size=2000)}


def read_dlq(kafka: KafkaSettings) -> dict[str, list[DeadLetter]]:
    """Every dead letter, by the trace id its original message was published with."""
    consumer = KafkaConsumer(**kafka.client_config(), client_id="faults-dlq", enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(TOPICS.dlq, p) for p in sorted(consumer.partitions_for_topic(TOPICS.dlq) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        letters: dict[str, list[DeadLetter]] = {}
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000, max_records=500).values():
                for record in records:
                    letter = DeadLetter.model_validate(orjson.loads(record.value))
                    trace_id = letter.source_record.headers.get(TRACE_HEADER) or letter.trace_id
                    letters.setdefault(trace_id, []).append(letter)
        return letters
    finally:
        consumer.close()


def settle(
    stack: PrivateStack, es: Elasticsearch, expected_ids: set[str], expected_bad: set[str], timeout: float
) -> dict[str, Any]:
    """Wait until the index, the DLQ and every consumer group have caught up (or time runs out)."""
    started = time.monotonic()
    lag: dict[str, int] = {}
    es_count = -1
    dlq: dict[str, list[DeadLetter]] = {}
    while True:
        try:
            lag = {name: consumer_lag(stack.kafka, group, topic) for name, (group, topic) in GROUPS.items()}
            es.indices.refresh(index=ALIAS)
            es_count = es.count(index=ALIAS)["count"]
            dlq = read_dlq(stack.kafka) if es_count >= len(expected_ids) else {}
        except (KafkaError, TransportError, ApiError):
            pass  # a component still recovering from the chaos: ask again
        caught_up = not any(lag.values()) and es_count >= len(expected_ids) and set(dlq) >= expected_bad
        if (lag and caught_up) or time.monotonic() - started > timeout:
            dlq = dlq or read_dlq(stack.kafka)
            return {
                "lag": lag,
                "es_count": es_count,
                "dlq_by_trace": dlq,
                "dlq_records": sum(len(letters) for letters in dlq.values()),
                "settled_after_s": time.monotonic() - started,
            }
        time.sleep(3)


def check(
    workload: Workload,
    expected_ids: set[str],
    expected_bad: set[str],
    state: dict[str, Any],
    es: Elasticsearch,
) -> list[str]:
    problems: list[str] = []
    if any(state["lag"].values()):
        problems.append(f"consumer lag did not return to zero: {state['lag']}")
    ids = indexed_ids(es)
    missing, extra = expected_ids - ids, ids - expected_ids
    if missing:
        problems.append(
            f"{len(missing)} accepted articles missing from the index, e.g. {sorted(missing)[:5]}"
        )
    if extra:
        problems.append(f"{len(extra)} unexpected documents in the index, e.g. {sorted(extra)[:5]}")
    if state["es_count"] != len(ids) or len(ids) != len(expected_ids):
        problems.append(f"index holds {len(ids)} documents for {len(expected_ids)} accepted articles")

    docs = es.mget(index=ALIAS, ids=sorted(workload.newest_revision), source_includes=["title", "revision"])[
        "docs"
    ]
    for doc in docs:
        revision, title = workload.newest_revision[doc["_id"]]
        source = doc.get("_source") or {}
        if source.get("revision") != revision or source.get("title") != title:
            problems.append(f"{doc['_id']}: expected revision {revision} {title!r}, found {source}")

    dlq: dict[str, list[DeadLetter]] = state["dlq_by_trace"]
    unexpected = set(dlq) - expected_bad
    if unexpected:
        reasons = Counter(letter.reason for trace in unexpected for letter in dlq[trace])
        problems.append(f"{len(unexpected)} good events dead-lettered: {dict(reasons)}")
    for trace_id, event in workload.bad_by_trace.items():
        letters = dlq.get(trace_id)
        if not letters:
            problems.append(f"bad event {event.kind} never reached the DLQ")
            continue
        for letter in letters:
            original = event.value or b""
            kept = base64.b64decode(letter.payload_b64)
            if (letter.reason, str(letter.stage)) != (event.reason, event.stage):
                problems.append(
                    f"{event.kind}: dead-lettered as {letter.stage}/{letter.reason}, "
                    f"expected {event.stage}/{event.reason}"
                )
            if kept != original[:DLQ_PAYLOAD_MAX_BYTES] or letter.payload_size != len(original):
                problems.append(f"{event.kind}: DLQ payload is not the original bytes (capped)")
    return problems


def render(report: dict[str, Any]) -> str:
    kills = ", ".join(f"{name} x{count}" for name, count in sorted(report["kills"].items())) or "none"
    restarts = ", ".join(f"{name} x{count}" for name, count in sorted(report["supervisor_restarts"].items()))
    lines = [
        "",
        f"== fault suite round {report['round']} (seed {report['seed']}, {report['source']}) ==",
        f"articles accepted      {report['articles']} distinct ({report['messages']} messages: "
        f"{report['revisions']} newer+older revision pairs, {report['resent']} re-sends, "
        f"{report['bad']} bad)",
        f"publisher              {report['published_acked']} acked, "
        f"{report['publisher_resends']} re-sent after errors",
        f"kills (SIGKILL)        {kills}",
        f"supervisor restarts    {restarts}; started again after {report['restart_after_s']} s",
        f"stop (SIGTERM)         {report['stop_s']} s, exit codes {report['exits_on_stop']}",
        f"broker restarts        {report['broker_restarts']} (down {report['broker_down_s']} s)",
        f"Elasticsearch outages  stopped {report['es_stopped_s']} s, "
        f"unavailable until healthy again {report['es_outages_s']} s",
        f"duration               flow {report['flow_s']} s, settled {report['settle_s']} s later, "
        f"total {report['duration_s']} s",
        f"index                  {report['es_documents']} documents, expected {report['expected_documents']}",
        f"DLQ                    {report['dlq_distinct_bad']} distinct bad events "
        f"in {report['dlq_records']} records",
        f"consumer lag           {report['lag']}",
        "timeline:",
        *(f"  {event}" for event in report["events"]),
        "result                 " + ("PASS" if not report["problems"] else "FAIL"),
        *(f"  - {problem}" for problem in report["problems"]),
    ]
    return "\n".join(lines)


_CRASHES_ONCE = """
import json, pathlib, sys, time
flag = pathlib.Path(sys.argv[2])
if not flag.exists():
    flag.touch()
    line = {"level": "error", "logger": "newswire.ingest", "msg": "boom in the handler"}
    print(json.dumps(line), flush=True)
    sys.exit(3)
time.sleep(3600)
"""


def test_the_supervisors_records_tell_a_crash_from_the_suites_kills(tmp_path: Path) -> None:
    """The check behind "no service died on its own" fails for a crash its supervisor hid at once.

    Real supervisors run two stand-ins: "ingest" crashes once (exit 3) and is restarted within a
    fraction of a second, "index" only gets the suite's SIGKILL.
    """
    commands = {
        "ingest": [sys.executable, "-c", _CRASHES_ONCE, "services.ingest", str(tmp_path / "crashed")],
        "index": [sys.executable, "-c", "import time; time.sleep(3600)", "services.index"],
    }
    for name, command in commands.items():
        files = ServiceFiles(name, tmp_path)
        argv = command_line(name, tmp_path, command, RestartPolicy(initial_s=0.2), sys.executable)
        spawn_detached(argv, pidfile=files.supervisor_pidfile, output=files.log, cwd=REPO_ROOT)
    services = Services(cast(FaultStack, SimpleNamespace(state_dir=tmp_path)), ChaosLog())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ingest, index = pipeline.status(tmp_path, list(commands))
            if ingest.restarts == 1 and ingest.running and index.running:
                break
            time.sleep(0.1)
        services.kill("index", 0.5)
        problems = services.supervision_problems(pipeline.status(tmp_path, list(commands)))
    finally:
        pipeline.stop(tmp_path, list(commands), timeout=10)

    assert services.log.kills == Counter({"index": 1})
    crash = [p for p in problems if p.startswith("service exited on its own: ingest")]
    assert len(crash) == 1 and " exit 3 " in crash[0] and "boom in the handler" in crash[0], problems
    counted = "ingest: its supervisor restarted it 1 times and logged 1 unexpected exits for 0 kills"
    assert any(p.startswith(counted) for p in problems), problems
    assert not [p for p in problems if "index" in p.split(":")[0] or "its own: index" in p], problems
