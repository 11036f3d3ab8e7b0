"""``newswire status``: one screen with each stage's lag and rates, the dead letters and the index.

Everything comes from Kafka and Elasticsearch themselves (end and committed offsets, record
timestamps, the DLQ's records, the index), so it works wherever the CLI reaches the cluster; the
services' ``/readyz`` endpoints are asked too, and shown as unknown where they are not reachable.
Where ``make up`` started the services on this machine, their supervisors' status files add each
process's state, restarts, last exit and last error line. Each stage's consumer group lists its
members (client id, host, member id) with the partitions assigned to each: several workers of a
service share its group, and each has its own client id (``newswire-enrich-2``...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from schemas.search_index import ALIAS, LineageCounts, lineage_aggregations, lineage_counts
from schemas.topics import TOPICS
from services.cli.state import fail, out, state_of

if TYPE_CHECKING:
    from kafka import KafkaAdminClient, KafkaConsumer

    from services.runtime.settings import KafkaSettings

#: Stage, the topic it reads, what it writes to, and the settings naming its group and metrics port.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("ingest", TOPICS.raw, TOPICS.ingested),
    ("enrich", TOPICS.ingested, TOPICS.enriched),
    ("index", TOPICS.enriched, ALIAS),
)
PROBE_TIMEOUT_S = 1.0


@dataclass
class ProcessStatus:
    """A service process started by ``make up`` on this machine, as its supervisor reports it."""

    state: str  # starting, running, restarting, stopping, stopped
    pid: int | None
    supervised: bool
    restarts: int
    last_exit_code: int | None  # negative: killed by that signal
    last_exit: str | None
    last_exit_at: str | None
    last_error: str | None
    next_restart_at: str | None
    log_path: str
    #: the worker's name: the service's for its first worker, ``<service>-<k>`` for the k-th
    worker: str = ""

    @property
    def crashed(self) -> bool:
        """Its last exit was unexpected (a crash, a signal, a watchdog)."""
        return self.last_exit is not None and self.last_exit_code != 0


@dataclass
class GroupMember:
    """A member of a stage's consumer group, as the group coordinator describes it."""

    client_id: str
    host: str
    member_id: str
    #: topic -> partitions assigned to this member (empty while the group rebalances)
    partitions: dict[str, list[int]] = field(default_factory=dict)

    @property
    def member_id_short(self) -> str:
        """The member id's generated suffix, shortened (its prefix is the client id)."""
        return self.member_id.removeprefix(f"{self.client_id}-")[:8]


@dataclass
class StageStatus:
    stage: str
    group_id: str
    input_topic: str
    output: str
    partitions: int
    lag: int
    lag_by_partition: dict[str, int]
    in_per_min: float  # records written to the input topic, per minute over the window
    out_per_min: float | None  # records written to the output topic (documents indexed for the index)
    service: str  # "ready", "not ready: <why>", "unreachable"
    metrics_url: str
    process: ProcessStatus | None = None  # None: not started by `make up` on this machine
    #: the group's state (Stable, PreparingRebalance, Empty...) and members
    group_state: str | None = None
    members: list[GroupMember] = field(default_factory=list)
    #: every worker of the stage started here (the first one is ``process``)
    workers: list[ProcessStatus] = field(default_factory=list)


@dataclass
class DeadLetterCount:
    stage: str
    reason: str
    count: int
    last_at: str | None


@dataclass
class EnricherVersionCount:
    """Indexed documents one version of an enricher made."""

    enricher: str
    version: str
    documents: int
    current: bool | None  # the version of the code here; None: the code has no such enricher


@dataclass
class IndexStatus:
    alias: str
    documents: int | None = None
    last_indexed_at: str | None = None
    error: str | None = None
    enricher_versions: list[EnricherVersionCount] = field(default_factory=list)
    #: Documents carrying every current enricher version, and those indexed before the lineage
    #: field existed (their versions are unknown here); the rest is what ``--stale`` re-enriches.
    up_to_date: int | None = None
    without_lineage: int | None = None

    @property
    def stale(self) -> int | None:
        if self.documents is None or self.up_to_date is None:
            return None
        return max(0, self.documents - self.up_to_date - (self.without_lineage or 0))


@dataclass
class SearchStatus:
    """The search API and web page: its address, what its ``/readyz`` says, its local process."""

    url: str
    service: str  # "ready", "not ready: <why>", "unreachable"
    process: ProcessStatus | None = None  # None: not started by `make up` on this machine


@dataclass
class PipelineStatus:
    window_s: float
    stages: list[StageStatus] = field(default_factory=list)
    dead_letters: list[DeadLetterCount] = field(default_factory=list)
    dead_letters_scanned: int = 0
    index: IndexStatus = field(default_factory=lambda: IndexStatus(ALIAS))
    search: SearchStatus | None = None

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["index"]["stale"] = self.index.stale
        return found


def stage_settings() -> dict[str, tuple[str, str]]:
    """Each stage's consumer group and metrics URL, from the settings the services read."""
    from pydantic import ValidationError

    from services.enrich.settings import Settings as EnrichSettings
    from services.index.settings import Settings as IndexSettings
    from services.ingest.settings import Settings as IngestSettings

    found: dict[str, tuple[str, str]] = {}
    for stage, cls, group_field in (
        ("ingest", IngestSettings, "group_id"),
        ("enrich", EnrichSettings, "app_id"),
        ("index", IndexSettings, "group_id"),
    ):
        try:
            settings: Any = cls()
            group, host, port = getattr(settings, group_field), settings.metrics_host, settings.metrics_port
        except ValidationError:
            fields = cls.model_fields
            group, host, port = (
                fields[name].default for name in (group_field, "metrics_host", "metrics_port")
            )
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        found[stage] = (str(group), f"http://{host}:{port}" if port else "")
    return found


def search_status(processes: dict[str, ProcessStatus] | None = None) -> SearchStatus:
    """Where the search service answers (from its settings) and whether it is ready."""
    from pydantic import ValidationError

    from services.search.settings import Settings as SearchSettings

    try:
        settings = SearchSettings()
        host, port = settings.host, settings.port
    except ValidationError:
        fields = SearchSettings.model_fields
        host, port = fields["host"].default, fields["port"].default
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{host}:{port}"
    return SearchStatus(url=url, service=probe(url), process=(processes or {}).get("search"))


def local_processes() -> dict[str, ProcessStatus]:
    """The services ``make up`` runs on this machine (from the state directory), by worker name
    (``enrich``, ``enrich-2``...).

    Empty when none was ever started here (the services run elsewhere: compose, Kubernetes).
    """
    from pydantic import ValidationError

    from services.stack import pipeline
    from services.stack.settings import StackSettings

    try:
        state_dir = StackSettings().state_dir
    except ValidationError:
        return {}
    found = {}
    for proc in pipeline.status(state_dir, pipeline.ALL_SERVICES):
        if proc.running or proc.supervised or proc.last_exit is not None:
            found[proc.name] = ProcessStatus(
                state=proc.state,
                pid=proc.pid,
                supervised=proc.supervised,
                restarts=proc.restarts,
                last_exit_code=proc.last_exit_code,
                last_exit=proc.last_exit,
                last_exit_at=proc.last_exit_at,
                last_error=proc.last_error,
                next_restart_at=proc.next_restart_at,
                log_path=str(proc.log_path),
                worker=proc.name,
            )
    return found


def workers_of(stage: str, processes: Mapping[str, ProcessStatus]) -> list[ProcessStatus]:
    """The local workers of ``stage``, first worker first."""
    from services.stack.pipeline import service_of, worker_number

    names = sorted((name for name in processes if service_of(name) == stage), key=worker_number)
    return [processes[name] for name in names]


def group_members(admin: KafkaAdminClient, group_ids: list[str]) -> dict[str, tuple[str, list[GroupMember]]]:
    """Each group's state and members with their assigned partitions (DescribeGroups).

    A coordinator that cannot answer now (moving to another broker) leaves the members unknown; the
    rest of the status still shows.
    """
    from kafka.errors import KafkaError

    try:
        described = admin.describe_groups(group_ids)
    except KafkaError as exc:
        return {group_id: (f"unknown: {type(exc).__name__}", []) for group_id in group_ids}
    found: dict[str, tuple[str, list[GroupMember]]] = {}
    for group_id in group_ids:
        group = described.get(group_id) or {}
        members = []
        for member in group.get("members") or ():
            assignment = member.get("member_assignment") or {}
            partitions: dict[str, list[int]] = {}
            # A group of another protocol (not "consumer") has an assignment kafka-python cannot read.
            if isinstance(assignment, dict):
                for entry in assignment.get("assigned_partitions") or ():
                    partitions.setdefault(entry["topic"], []).extend(entry["partitions"])
            members.append(
                GroupMember(
                    client_id=str(member.get("client_id") or ""),
                    host=str(member.get("client_host") or "").lstrip("/"),
                    member_id=str(member.get("member_id") or ""),
                    partitions={topic: sorted(parts) for topic, parts in sorted(partitions.items())},
                )
            )
        members.sort(key=lambda m: (m.client_id, m.member_id))
        found[group_id] = (str(group.get("group_state") or "unknown"), members)
    return found


def written_since(
    consumer: KafkaConsumer, topic: str, since: datetime, ends: dict[Any, int] | None = None
) -> tuple[dict[int, int], int]:
    """(end offset per partition, records written to ``topic`` since ``since``)."""
    from kafka.structs import TopicPartition

    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        return {}, 0
    end = ends if ends is not None else consumer.end_offsets(partitions)
    at = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
    written = sum(end[tp] - (at[tp].offset if at.get(tp) else end[tp]) for tp in partitions)
    return {tp.partition: end[tp] for tp in partitions}, written


def committed(admin: KafkaAdminClient, group_id: str, topic: str) -> dict[int, int]:
    offsets = admin.list_group_offsets({group_id: None}).get(group_id, {})
    return {
        tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
    }


def probe(metrics_url: str) -> str:
    """What the service's ``/readyz`` says, or ``unreachable``."""
    import httpx

    if not metrics_url:
        return "metrics off"
    try:
        response = httpx.get(f"{metrics_url}/readyz", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return "unreachable"
    text = response.text.strip()
    return "ready" if response.status_code == 200 else f"not ready: {text[:120]}"


def count_dead_letters(consumer: KafkaConsumer, last: int) -> tuple[list[DeadLetterCount], int]:
    """Dead letters by stage and reason over the ``last`` records of each DLQ partition."""
    from services.cli.trace import read_topic

    counts: Counter[tuple[str, str]] = Counter()
    latest: dict[tuple[str, str], str] = {}
    scanned = 0
    for record in read_topic(consumer, TOPICS.dlq, last=last):
        scanned += 1
        try:
            letter = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            letter = {}
        if not isinstance(letter, dict):
            letter = {}
        key = (str(letter.get("stage", "unknown")), str(letter.get("reason", "unknown")))
        counts[key] += 1
        produced_at = letter.get("produced_at")
        if isinstance(produced_at, str) and produced_at > latest.get(key, ""):
            latest[key] = produced_at
    rows = [
        DeadLetterCount(stage, reason, count, latest.get((stage, reason)))
        for (stage, reason), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return rows, scanned


def current_enricher_versions() -> dict[str, str]:
    """Enricher name -> version of the code here (imported only when asked: it loads the enrichers)."""
    from services.enrich.pipeline import current_versions

    return current_versions()


def enricher_version_rows(counts: LineageCounts, current: Mapping[str, str]) -> list[EnricherVersionCount]:
    """One row per enricher version in the index, by enricher, then most documents first."""
    rows = [
        EnricherVersionCount(name, version, documents, current[name] == version if name in current else None)
        for (name, version), documents in counts.versions.items()
    ]
    return sorted(rows, key=lambda row: (row.enricher, -row.documents, row.version))


def index_status(es: Any, since: datetime, alias: str = ALIAS) -> tuple[IndexStatus, int | None]:
    """The alias's document count, last indexed time and enricher versions, and how many documents
    were indexed since ``since``."""
    from elasticsearch import ApiError, TransportError

    status = IndexStatus(alias)
    current = current_enricher_versions()
    try:
        response = es.search(
            index=alias,
            size=0,
            track_total_hits=True,
            aggs={
                "last_indexed": {"max": {"field": "indexed_at"}},
                "recent": {"filter": {"range": {"indexed_at": {"gte": since.isoformat()}}}},
                **lineage_aggregations(current),
            },
        )
    except (ApiError, TransportError) as exc:
        status.error = str(getattr(exc, "message", exc))
        return status, None
    aggregations = response["aggregations"]
    status.documents = response["hits"]["total"]["value"]
    status.last_indexed_at = aggregations["last_indexed"].get("value_as_string")
    counts = lineage_counts(aggregations)
    status.enricher_versions = enricher_version_rows(counts, current)
    status.up_to_date, status.without_lineage = counts.up_to_date, counts.without_lineage
    return status, aggregations["recent"]["doc_count"]


def collect_status(
    kafka: KafkaSettings,
    es: Any,
    window_s: float,
    dlq_last: int,
    processes: dict[str, ProcessStatus] | None = None,
) -> PipelineStatus:
    from kafka import KafkaAdminClient

    from services.cli.kafka_admin import quick_client_config
    from services.cli.trace import scan_consumer

    result = PipelineStatus(window_s=window_s, search=search_status(processes))
    since = datetime.now(UTC) - timedelta(seconds=window_s)
    per_min = 60.0 / window_s
    result.index, indexed_recently = index_status(es, since)
    groups = stage_settings()
    admin = KafkaAdminClient(**quick_client_config(kafka), client_id="newswire-cli")
    consumer = scan_consumer(kafka)
    try:
        written: dict[str, tuple[dict[int, int], int]] = {
            topic: written_since(consumer, topic, since)
            for topic in (TOPICS.raw, TOPICS.ingested, TOPICS.enriched)
        }
        described = group_members(admin, list(dict.fromkeys(group for group, _ in groups.values())))
        for stage, input_topic, output in STAGES:
            group_id, metrics_url = groups[stage]
            ends, written_in = written[input_topic]
            done = committed(admin, group_id, input_topic)
            lag = {str(p): max(0, end - done.get(p, 0)) for p, end in ends.items()}
            out_count = written[output][1] if output in written else indexed_recently
            group_state, members = described.get(group_id, (None, []))
            result.stages.append(
                StageStatus(
                    stage=stage,
                    group_id=group_id,
                    input_topic=input_topic,
                    output=output,
                    partitions=len(ends),
                    lag=sum(lag.values()),
                    lag_by_partition=lag,
                    in_per_min=round(written_in * per_min, 1),
                    out_per_min=round(out_count * per_min, 1) if out_count is not None else None,
                    service=probe(metrics_url),
                    metrics_url=metrics_url,
                    process=(processes or {}).get(stage),
                    group_state=group_state,
                    members=members,
                    workers=workers_of(stage, processes or {}),
                )
            )
        result.dead_letters, result.dead_letters_scanned = count_dead_letters(consumer, dlq_last)
    finally:
        consumer.close(autocommit=False)
        admin.close()
    return result


def _ago(moment: str | None) -> str:
    if not moment:
        return "never"
    try:
        then = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    seconds = (datetime.now(UTC) - (then if then.tzinfo else then.replace(tzinfo=UTC))).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{moment[:19]}Z ({seconds / size:.0f}{unit} ago)"
    return f"{moment[:19]}Z ({max(0, seconds):.0f}s ago)"


def _in(moment: str) -> str:
    try:
        then = datetime.fromisoformat(moment)
    except ValueError:
        return f"at {moment}"
    return f"in {max(0.0, (then - datetime.now(UTC)).total_seconds()):.0f}s"


def _short(topic: str) -> str:
    return topic.removeprefix("articles.") if topic != ALIAS else "index"


_PROCESS_STYLES = {"running": "green", "starting": "yellow", "stopping": "yellow", "restarting": "red"}


def _process_cells(process: ProcessStatus | None) -> tuple[str, str]:
    """The process and restarts columns."""
    if process is None:
        return "-", "-"
    state = process.state if process.supervised or process.state != "running" else "running (unsupervised)"
    style = _PROCESS_STYLES.get(process.state, "red")
    restarts = f"[red]{process.restarts}[/]" if process.restarts else "0"
    return f"[{style}]{escape(state)}[/]", restarts


def print_process_errors(processes: dict[str, ProcessStatus]) -> None:
    """For each service whose last exit was unexpected: how, when, what comes next, its last error."""
    for name, process in processes.items():
        if not process.crashed:
            continue
        line = f"[red]{name}[/]: {escape(process.last_exit or '')} at {_ago(process.last_exit_at)}"
        if process.state == "restarting" and process.next_restart_at:
            line += f", restarting {_in(process.next_restart_at)}"
        if process.restarts:
            line += f", {process.restarts} restart{'s' if process.restarts != 1 else ''}"
        out.print(line)
        out.print(f"  last error: {escape(process.last_error or '(none in the log)')}")
        out.print(f"  [dim]log: {escape(process.log_path)}[/]")


def print_processes(processes: dict[str, ProcessStatus]) -> None:
    """The local service processes alone (when Kafka cannot be asked for the rest)."""
    table = Table("stage", "process", "restarts", "pid", box=None, pad_edge=False)
    for name, process in processes.items():
        table.add_row(name, *_process_cells(process), str(process.pid or "-"))
    out.print(table)
    print_process_errors(processes)


def members_table(stages: list[StageStatus]) -> Table:
    """One row per member of each stage's group: who holds which partitions of what it reads."""
    table = Table("stage", "member", "host", "member id", "partitions", box=None, pad_edge=False)
    for stage in stages:
        if not stage.members:
            state = stage.group_state or "unknown"
            table.add_row(stage.stage, f"[yellow]no members[/] (group {escape(state)})", "", "", "")
        for member in stage.members:
            table.add_row(
                stage.stage,
                escape(member.client_id),
                escape(member.host),
                escape(member.member_id_short),
                escape(_partitions_cell(member.partitions, stage.input_topic)),
            )
    return table


def _partitions_cell(partitions: Mapping[str, list[int]], input_topic: str) -> str:
    """The input topic's partitions first and bare (``0,2,4``), other topics named (faust's tables, or
    the topic a service reads instead of the pipeline's)."""
    parts = [",".join(map(str, partitions[input_topic]))] if partitions.get(input_topic) else []
    parts += [
        f"{_short(topic)}: {','.join(map(str, numbers))}"
        for topic, numbers in partitions.items()
        if topic != input_topic and numbers
    ]
    return "; ".join(parts) or "none"


def print_workers(stages: list[StageStatus]) -> None:
    """Every local worker, when a stage runs more than one here."""
    if all(len(stage.workers) <= 1 for stage in stages):
        return
    table = Table("worker", "process", "restarts", "pid", box=None, pad_edge=False)
    for stage in stages:
        for worker in stage.workers:
            table.add_row(escape(worker.worker), *_process_cells(worker), str(worker.pid or "-"))
    out.print(table)


def print_status(status: PipelineStatus) -> None:
    processes = {stage.stage: stage.process for stage in status.stages if stage.process is not None}
    columns = ["stage", "flow", "lag", "in/min", "out/min", "service"]
    columns += ["process", "restarts"] if processes else []
    table = Table(*columns, "group", box=None, pad_edge=False)
    for stage in status.stages:
        service_style = "green" if stage.service == "ready" else "yellow"
        lag_style = "green" if stage.lag == 0 else "yellow"
        table.add_row(
            stage.stage,
            f"{_short(stage.input_topic)} → {_short(stage.output)}",
            f"[{lag_style}]{stage.lag}[/]",
            f"{stage.in_per_min:g}",
            "-" if stage.out_per_min is None else f"{stage.out_per_min:g}",
            f"[{service_style}]{escape(stage.service)}[/]",
            *(_process_cells(stage.process) if processes else ()),
            escape(stage.group_id),
        )
    out.print(table)
    out.print(
        f"[dim]rates over the last {status.window_s / 60:g} min; lag = records the group has not committed[/]"
    )
    out.print()
    out.print(members_table(status.stages))
    print_workers(status.stages)
    print_process_errors(
        {worker.worker or stage.stage: worker for stage in status.stages for worker in stage.workers}
        or processes
    )
    out.print()
    if status.dead_letters:
        dlq = Table("dead letters", "stage", "reason", "last", box=None, pad_edge=False)
        for row in status.dead_letters:
            dlq.add_row(f"[red]{row.count}[/]", row.stage, escape(row.reason), _ago(row.last_at))
        out.print(dlq)
    else:
        out.print("[green]no dead letters[/]")
    out.print(f"[dim]({status.dead_letters_scanned} DLQ records read)[/]")
    out.print()
    index = status.index
    if index.error:
        out.print(f"[red]index {index.alias}: {escape(index.error)}[/]")
    else:
        out.print(
            f"index {index.alias}: {index.documents} documents, last indexed {_ago(index.last_indexed_at)}"
        )
        print_enrichment(index)
    if status.search is not None:
        print_search(status.search)


def enrichment_summary(index: IndexStatus) -> str:
    """One line: documents with the current enrichment, stale ones, and those of unknown lineage."""
    if index.up_to_date is None:
        return ""
    stale = index.stale or 0
    parts = [f"[green]{index.up_to_date} up to date[/]"]
    parts.append(f"[yellow]{stale} stale[/] (newswire reprocess --stale)" if stale else "0 stale")
    if index.without_lineage:
        parts.append(f"{index.without_lineage} indexed before lineage was indexed (versions unknown)")
    return "enrichment: " + ", ".join(parts)


def enricher_versions_table(rows: list[EnricherVersionCount], current: Mapping[str, str]) -> Table:
    table = Table("enricher", "version", "documents", "", box=None, pad_edge=False)
    for row in rows:
        if row.current:
            verdict = "[green]current[/]"
        elif row.current is None:
            verdict = "[dim]not in this code[/]"
        else:
            verdict = f"[yellow]stale[/] (current: {escape(current[row.enricher])})"
        table.add_row(escape(row.enricher), escape(row.version), str(row.documents), verdict)
    return table


def print_enrichment(index: IndexStatus) -> None:
    """Which enricher versions made the indexed documents: what a reprocess would change."""
    summary = enrichment_summary(index)
    if summary:
        out.print(summary)
    if index.enricher_versions:
        out.print(enricher_versions_table(index.enricher_versions, current_enricher_versions()))


def print_search(search: SearchStatus) -> None:
    """One line: the search API and web page's address, readiness and (when local) its process."""
    style = "green" if search.service == "ready" else "yellow"
    line = f"search {escape(search.url)}/: [{style}]{escape(search.service)}[/]"
    if search.process is not None:
        state, restarts = _process_cells(search.process)
        line += f", process {state}, {restarts} restarts"
    out.print(line)
    if search.process is not None:
        print_process_errors({"search": search.process})


def status(
    ctx: typer.Context,
    window: Annotated[
        float, typer.Option(help="Minutes over which the rates are measured.", min=0.1, max=7 * 24 * 60)
    ] = 5.0,
    dlq_last: Annotated[
        int, typer.Option(help="Dead letters to count, the most recent, per DLQ partition.", min=1)
    ] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Per stage: lag, rates, readiness, restarts; dead letters by reason; the index's size, freshness
    and enricher versions (how many documents are stale)."""
    from elasticsearch import Elasticsearch
    from kafka.errors import KafkaError

    state = state_of(ctx)
    kafka = state.kafka()
    processes = local_processes()
    es = Elasticsearch(**{**state.elasticsearch().client_kwargs(), "max_retries": 1})
    try:
        result = collect_status(kafka, es, window * 60, dlq_last, processes)
    except (KafkaError, OSError, TimeoutError) as exc:
        if processes and not as_json:
            print_processes(processes)  # a crash loop is easiest to explain from here
        raise fail(f"Kafka is not reachable at {kafka.bootstrap_servers}: {exc}") from exc
    finally:
        es.close()
    if as_json:
        out.print_json(orjson.dumps(result.as_json()).decode())
    else:
        print_status(result)
