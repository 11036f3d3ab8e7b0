"""Nothing lost, nothing doubled on a cluster: three KRaft brokers, three Elasticsearch nodes.

While a few thousand articles (with newest-then-older revisions, re-sends and the whole bad-input
catalogue, as in ``tests/faults``) flow through two workers per service, each under its
supervisor, the suite injects one fault after another (``chaos.py``):

- SIGKILL the broker that leads the most partitions, then start it again;
- SIGSTOP a broker for 30 s (frozen, not dead), then SIGCONT;
- SIGKILL the Elasticsearch node holding the index's primary shard, then start it again;
- a rolling restart of the three brokers, each back with every ISR full before the next;
- a worker joins each service's group, then one leaves each (a clean stop or a SIGKILL).

Afterwards every accepted article is indexed exactly once with its newest revision, every bad
event is in the DLQ exactly once with its reason and bytes, every consumer group's lag is 0, the
Elasticsearch cluster is green and no partition is under-replicated; no worker died on its own and
every worker left stops on SIGTERM with exit 0. For each fault the suite reports how long the flow
paused (``pauses.py``: the longest gap in the articles' timestamps at each stage around it) and
prints the table that the README's Guarantees section quotes.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch, TransportError
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.runtime.kafka import ensure_topics, pipeline_topics
from tests.cluster.chaos import (
    PIPELINE_TOPICS,
    ClusterServices,
    FaultLog,
    cluster_topics,
    inject_all,
    wait_green,
    wait_isr_full,
    wait_members,
)
from tests.cluster.conftest import STAGES, ClusterSettings, ClusterStack
from tests.cluster.pauses import FaultPauses, Gap, pauses_by_fault, render_table
from tests.faults.chaos import STOP_TIMEOUT_S, publish
from tests.faults.test_faults import check, indexed_ids, read_dlq, settle
from tests.faults.workload import Workload, build_workload

_OPTIONS = ClusterSettings()
#: The stages whose arrivals the pauses are read from, table column first: when articles became
#: searchable (the index's count, sampled) and first reached each topic (earliest Kafka timestamp).
STAGE_TOPICS = {"enriched": TOPICS.enriched, "ingested": TOPICS.ingested}
SAMPLE_EVERY_S = 0.5
#: Of the messages, the share that waits for the faults to finish (trickling meanwhile), so that
#: the last faults still meet a flow however long the earlier ones took.
HELD_BACK = 0.15
TRICKLE_S = 0.5


@pytest.mark.timeout(
    int(
        600
        + _OPTIONS.rounds
        * (
            _OPTIONS.flow_seconds
            + 8 * _OPTIONS.node_timeout_s
            + 2 * _OPTIONS.settle_timeout_s
            + STOP_TIMEOUT_S
        )
    )
)
def test_cluster_nothing_lost_nothing_doubled(
    cluster_stack: ClusterStack, capsys: pytest.CaptureFixture[str]
) -> None:
    options = cluster_stack.options
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 30)
    reports = []
    for round_number in range(1, options.rounds + 1):
        report = run_scenario(cluster_stack, seed + round_number - 1, round_number)
        reports.append(report)
        with capsys.disabled():
            print(render(report))
    (cluster_stack.state_dir / "last-report.json").write_text(json.dumps(reports, indent=2, default=str))
    problems = [f"round {r['round']}: {problem}" for r in reports for problem in r["problems"]]
    assert not problems, "\n".join(problems)


class HoldBack:
    """Even pacing over ``duration_s``; but the last ``reserve`` messages trickle out one per
    ``trickle_s`` until the faults are over, then go at once."""

    def __init__(self, total: int, duration_s: float, faults_over: threading.Event) -> None:
        self.interval = duration_s / max(1, total)
        self.reserve_from = int(total * (1 - HELD_BACK))
        self.faults_over = faults_over
        self.started = time.monotonic()

    def __call__(self, position: int) -> None:
        if position + 1 >= self.reserve_from and not self.faults_over.is_set():
            self.faults_over.wait(TRICKLE_S)
            return
        time.sleep(max(0.0, self.started + (position + 1) * self.interval - time.monotonic()))


def run_scenario(stack: ClusterStack, seed: int, round_number: int) -> dict[str, Any]:
    options = stack.options
    round_started = time.monotonic()
    rng = random.Random(seed)
    es = Elasticsearch(
        stack.elasticsearch.url.split(","), request_timeout=30, max_retries=5, retry_on_timeout=True
    )
    topics = stack.topics
    ensure_topics(stack.kafka, pipeline_topics(topics), replication_factor=topics.replication_factor)
    # enrich's changelog topic is left to enrich itself: on a fresh cluster that start used to hang
    # (services/enrich/__main__.py ensure_changelog_topic), and every round starts a fresh cluster.
    workload = build_workload(options.articles, rng, salt=f"c{round_number}-s{seed}-")
    log = FaultLog(timeline=stack.state_dir / "timeline.log")
    log.note(
        f"round {round_number}: seed {seed}, {options.articles} articles, {options.workers} workers each"
    )
    services = ClusterServices(stack, log, options.workers)
    started_services = services.start()
    not_running = [f"{p.name}: {p.state}" for p in started_services if not (p.supervised and p.running)]
    if not_running:
        pytest.fail(f"workers did not start under their supervisors: {not_running}")
    joined_s = wait_members(stack, options.workers, timeout=300)
    # The index service made the index; rounds share the stack: what earlier rounds indexed and
    # dead-lettered stays expected.
    before = {"ids": indexed_ids(es), "bad_traces": set(read_dlq(stack.kafka))}

    faults_over = threading.Event()
    sampler = SearchableSampler(stack)
    sampler.start()
    log.started = time.monotonic()
    flow_started = time.time()
    injector = threading.Thread(
        target=inject_all, args=(stack, services, es, log, round_number, faults_over), daemon=True
    )
    injector.start()
    pace = HoldBack(len(workload.messages), options.flow_seconds, faults_over)
    published = publish(
        stack, workload.messages, options.flow_seconds, deadline_s=options.settle_timeout_s, pace=pace
    )
    flow_ended = time.time()
    injector.join(timeout=8 * options.node_timeout_s)
    if injector.is_alive():
        log.errors.append("the faults were still going on long after the flow ended")
    faults_ended = time.time()

    expected_ids = before["ids"] | workload.expected_ids
    expected_bad = before["bad_traces"] | set(workload.bad_by_trace)
    state = settle(stack, es, expected_ids, expected_bad, options.settle_timeout_s)
    sampler.stop()
    whole = cluster_whole(stack, es)
    supervision_problems = services.supervision_problems(services.running())
    stopping = time.monotonic()
    stopped = services.stop()
    stop_s = time.monotonic() - stopping
    exits_on_stop = {
        proc.name: proc.last_exit_code for proc in pipeline_status(stack) if proc.name not in services.removed
    }

    problems: list[str] = []
    try:
        problems += check(workload, expected_ids, expected_bad, state, es)
        counts = lost_and_doubled(workload, expected_ids, expected_bad, state, es)
        arrivals = {"searchable": sampler.arrivals}
        arrivals |= {
            stage: first_arrivals(stack, topic, workload.expected_ids)
            for stage, topic in STAGE_TOPICS.items()
        }
    except Exception as exc:  # the figures are still worth printing
        problems.append(f"could not check the outcome: {exc!r}")
        counts = {"lost": -1, "doubled": -1, "doubled_dlq": -1, "doubled_index": -1}
        arrivals = {stage: [] for stage in ("searchable", *STAGE_TOPICS)}
    problems += [f"doubled in the DLQ: {counts['doubled_dlq']} records"] if counts["doubled_dlq"] > 0 else []
    problems += whole["problems"]
    problems += (
        [f"publisher: {len(published.refused)} messages never acknowledged"] if published.refused else []
    )
    problems += supervision_problems
    problems += [f"fault failed: {error}" for error in log.errors]
    if flow_ended < max((window.ended for window in log.windows), default=0):
        late = [w.name for w in log.windows if w.ended > flow_ended]
        problems.append(f"publishing ended before these faults did (no flow to pause): {late}")
    problems += [
        f"{name} did not stop on SIGTERM within {STOP_TIMEOUT_S:.0f}s"
        for name, clean in stopped.items()
        if not clean
    ]
    problems += [
        f"{name} exited {code} on SIGTERM, not 0" for name, code in exits_on_stop.items() if code != 0
    ]
    es.close()

    faults, steady = pauses_by_fault(arrivals, log.windows, options.tail_s)
    return {
        "round": round_number,
        "seed": seed,
        "source": workload.source,
        "articles": len(workload.expected_ids),
        "messages": len(workload.messages),
        "revisions": len(workload.newest_revision),
        "resent": workload.count("resent"),
        "bad": len(workload.bad_by_trace),
        "workers": options.workers,
        "joined_s": round(joined_s, 1),
        "published_acked": published.acknowledged,
        "publisher_resends": published.resends,
        "flow_s": round(flow_ended - flow_started, 1),
        "faults_s": round(faults_ended - flow_started, 1),
        "settle_s": round(state["settled_after_s"], 1),
        "round_s": round(time.monotonic() - round_started, 1),
        "stop_s": round(stop_s, 1),
        "cluster_up_s": round(stack.up_s, 1),
        "exits_on_stop": exits_on_stop,
        "es_documents": state["es_count"],
        "expected_documents": len(expected_ids),
        "dlq_records": state["dlq_records"],
        "dlq_distinct_bad": len(state["dlq_by_trace"]),
        "lag": whole["lag"],
        "health": whole["health"],
        "lost": counts["lost"],
        "doubled": counts["doubled"],
        "doubled_index": counts["doubled_index"],
        "doubled_dlq": counts["doubled_dlq"],
        "load_average": whole["load_average"],
        "table": render_table(faults, steady, counts["lost"], counts["doubled"], flow_started),
        "pauses": [pause_summary(fault) for fault in faults],
        "steady_gap_s": {stage: _seconds(gap) for stage, gap in steady.items()},
        "failed_count_samples": sampler.failed_samples,
        "count_samples": [
            (round(at - flow_started, 1), count, round(took, 2)) for at, count, took in sampler.notable
        ],
        "events": log.events,
        "problems": problems,
    }


def pipeline_status(stack: ClusterStack) -> list[Any]:
    from services.stack import pipeline

    return pipeline.status(stack.state_dir, STAGES)


def _seconds(gap: Gap | None) -> float | None:
    return None if gap is None else round(gap.seconds, 1)


def pause_summary(fault: FaultPauses) -> dict[str, Any]:
    window = fault.window
    return {
        "fault": window.name,
        "detail": window.detail,
        "lasted_s": round(window.lasted_s, 1),
        "pause_s": {stage: _seconds(gap) for stage, gap in fault.by_stage.items()},
    }


def lost_and_doubled(
    workload: Workload,
    expected_ids: set[str],
    expected_bad: set[str],
    state: dict[str, Any],
    es: Elasticsearch,
) -> dict[str, int]:
    """Lost: accepted articles not indexed, bad events not dead-lettered. Doubled: documents beyond
    one per accepted article (an id twice behind the alias, or an id nobody published) and dead
    letters beyond one per bad event."""
    ids = indexed_ids(es)
    es.indices.refresh(index=ALIAS)
    documents = int(es.count(index=ALIAS)["count"])
    dlq = state["dlq_by_trace"]
    lost = len(expected_ids - ids) + len(expected_bad - set(dlq))
    doubled_index = (documents - len(ids)) + len(ids - expected_ids)
    doubled_dlq = sum(len(dlq[trace]) - 1 for trace in workload.bad_by_trace if trace in dlq)
    return {
        "lost": lost,
        "doubled": doubled_index + doubled_dlq,
        "doubled_index": doubled_index,
        "doubled_dlq": doubled_dlq,
    }


class SearchableSampler(threading.Thread):
    """Counts the index every :data:`SAMPLE_EVERY_S`: a rise by n is n articles become searchable.

    The documents' own ``indexed_at`` would not do: a batch re-read after a failed commit is written
    again, later, and its documents would seem to arrive only then (a 71 s "pause" where the count
    shows 17 s, in one run).
    """

    def __init__(self, stack: ClusterStack) -> None:
        super().__init__(name="searchable-sampler", daemon=True)
        self.es = Elasticsearch(stack.elasticsearch.url.split(","), request_timeout=5, max_retries=2)
        self.arrivals: list[float] = []
        self.failed_samples = 0
        #: (seconds since the epoch, count or None, seconds the request took) of every sample that
        #: changed the count, failed or took over a second: to tell a stalled index from a slow query
        self.notable: list[tuple[float, int | None, float]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        last = -1
        try:
            while not self.halt.is_set():
                asked = time.time()
                try:
                    # One preference string keeps the samples on the same shard copy: primary and
                    # replica refresh apart, and alternating between them made the count dip.
                    count = int(self.es.count(index=ALIAS, preference="cluster-suite-sampler")["count"])
                except (TransportError, ApiError):
                    self.failed_samples += 1
                    self.notable.append((asked, None, time.time() - asked))
                else:
                    if last >= 0 and count > last:
                        self.arrivals += [time.time()] * (count - last)  # one per new article
                    if count != last or time.time() - asked > 1:
                        self.notable.append((asked, count, time.time() - asked))
                    last = max(last, count)
                self.halt.wait(SAMPLE_EVERY_S)
        finally:
            self.es.close()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)


def first_arrivals(stack: ClusterStack, topic: str, ids: set[str]) -> list[float]:
    """When each of ``ids`` first reached ``topic``: the earliest timestamp under its key (seconds)."""
    consumer = KafkaConsumer(**stack.kafka.client_config(), client_id="cluster-suite-arrivals")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        first: dict[str, int] = {}
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000, max_records=2000).values():
                for record in records:
                    key = record.key.decode("utf-8", "replace") if record.key else None
                    if key in ids:
                        first[key] = min(first.get(key, record.timestamp), record.timestamp)
        return [timestamp / 1000 for timestamp in first.values()]
    finally:
        consumer.close()


def cluster_whole(stack: ClusterStack, es: Elasticsearch) -> dict[str, Any]:
    """Lag of every consumer group, cluster health, ISRs and the replication the stack promised."""
    problems: list[str] = []
    lag = every_group_lag(stack)
    if any(lag.values()):
        problems.append(f"consumer lag not 0: {lag}")
    health: dict[str, Any] = {}
    try:
        wait_green(es, 180)
    except TimeoutError as exc:
        problems.append(str(exc))
    try:
        health = dict(es.cluster.health())
    except (TransportError, ApiError) as exc:
        problems.append(f"no cluster health: {exc!r}")
    try:
        wait_isr_full(stack, 180)
    except TimeoutError as exc:
        problems.append(f"under-replicated partitions: {exc}")
    problems += replication_problems(stack, es)
    load = [round(value, 2) for value in _load_average()]
    return {
        "lag": lag,
        "health": {key: health.get(key) for key in ("status", "number_of_nodes", "unassigned_shards")},
        "problems": problems,
        "load_average": load,
    }


def every_group_lag(stack: ClusterStack) -> dict[str, int]:
    """Uncommitted messages of every consumer group on the cluster, over the partitions it commits."""
    admin = KafkaAdminClient(**stack.kafka.client_config(), client_id="cluster-suite-lag")
    consumer = KafkaConsumer(**stack.kafka.client_config(), client_id="cluster-suite-lag")
    try:
        groups = sorted({str(group.get("group_id")) for group in admin.list_groups()})
        committed = admin.list_group_offsets({group: None for group in groups}) if groups else {}
        lag = {}
        for group in groups:
            offsets = {tp: meta.offset for tp, meta in committed.get(group, {}).items() if meta.offset >= 0}
            ends = consumer.end_offsets(list(offsets)) if offsets else {}
            lag[group] = sum(max(0, ends[tp] - offset) for tp, offset in offsets.items())
        return lag
    except KafkaError as exc:
        return {"(could not read the groups)": -1, repr(exc): -1}
    finally:
        consumer.close()
        admin.close()


def replication_problems(stack: ClusterStack, es: Elasticsearch) -> list[str]:
    """The pipeline topics with 6 partitions, 3 replicas and min.insync.replicas 2; the index with
    one replica: what ``client_env`` promised, as the cluster has it."""
    problems = []
    topics = {topic["name"]: topic for topic in cluster_topics(stack)}
    wanted = stack.topics
    for name in PIPELINE_TOPICS:
        partitions = (topics.get(name) or {}).get("partitions") or []
        replicas = {len(p.get("replica_nodes") or ()) for p in partitions}
        if len(partitions) != wanted.partitions or replicas != {wanted.replication_factor}:
            problems.append(f"{name}: {len(partitions)} partitions with {replicas} replicas")
    admin = KafkaAdminClient(**stack.kafka.client_config(), client_id="cluster-suite-configs")
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in PIPELINE_TOPICS]
        described = admin.describe_configs(resources, config_filter="all").get("topic", {})
    finally:
        admin.close()
    for name in PIPELINE_TOPICS:
        value = ((described.get(name) or {}).get("min.insync.replicas") or {}).get("value")
        if value != "2":
            problems.append(f"{name}: min.insync.replicas {value}, not 2")
    index = next(iter(es.indices.get_alias(name=ALIAS)))
    replicas = es.indices.get_settings(index=index)[index]["settings"]["index"].get("number_of_replicas")
    if str(replicas) != "1":
        problems.append(f"{index}: {replicas} replicas, not 1")
    return problems


def _load_average() -> tuple[float, float, float]:
    import os

    return os.getloadavg()


def render(report: dict[str, Any]) -> str:
    lines = [
        "",
        f"== cluster suite round {report['round']} (seed {report['seed']}, {report['source']}) ==",
        f"articles accepted      {report['articles']} distinct ({report['messages']} messages: "
        f"{report['revisions']} newer+older revision pairs, {report['resent']} re-sends, "
        f"{report['bad']} bad)",
        f"workers                {report['workers']} per service at the start (groups joined in "
        f"{report['joined_s']} s)",
        f"publisher              {report['published_acked']} acked, {report['publisher_resends']} re-sent",
        f"duration               cluster up {report['cluster_up_s']} s (first round's fixture), flow "
        f"{report['flow_s']} s, faults over at {report['faults_s']} s, settled {report['settle_s']} s later, "
        f"stop {report['stop_s']} s, round {report['round_s']} s",
        f"index                  {report['es_documents']} documents, expected {report['expected_documents']}",
        f"DLQ                    {report['dlq_distinct_bad']} distinct bad events in "
        f"{report['dlq_records']} records",
        f"consumer lag           {report['lag']}",
        f"Elasticsearch          {report['health']}",
        f"exit codes on SIGTERM  {report['exits_on_stop']}",
        f"load average           {report['load_average']}",
        "timeline:",
        *(f"  {event}" for event in report["events"]),
        "",
        report["table"],
        "",
        "result                 " + ("PASS" if not report["problems"] else "FAIL"),
        *(f"  - {problem}" for problem in report["problems"]),
    ]
    return "\n".join(lines)
