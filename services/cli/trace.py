"""``newswire trace <article id | trace id | url>``: where one article went, and why it stopped.

Reads the four pipeline topics (records are matched by key and headers, so only matches are
decoded), the dead letters about the article, and its document in the index, then says in one
line whether it was indexed, dead-lettered (with the stage and reason), or is still waiting for a
stage (with that stage's lag).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.cli.state import fail, out, state_of
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER

if TYPE_CHECKING:
    from kafka import KafkaConsumer

    from services.runtime.settings import KafkaSettings

_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: Give up on a topic when the broker returns nothing for this long before its end offsets.
STALL_TIMEOUT_S = 60.0
#: Stages in flow order: the consumer group that reads each topic, by the settings that name it.
STAGE_OF_TOPIC = {TOPICS.raw: "ingest", TOPICS.ingested: "enrich", TOPICS.enriched: "index"}


@dataclass
class Hop:
    """One record about the article on one topic."""

    topic: str
    partition: int
    offset: int
    timestamp: str | None
    article_id: str | None
    trace_id: str | None
    producer: str | None = None
    enrichers: list[str] = field(default_factory=list)


@dataclass
class DeadLetterHit:
    partition: int
    offset: int
    produced_at: str | None
    stage: str
    reason: str
    detail: str
    article_id: str | None
    trace_id: str | None
    source: str  # "articles.raw/2@15": where the failed record was read from


@dataclass
class TraceReport:
    query: str
    article_ids: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    dead_letters: list[DeadLetterHit] = field(default_factory=list)
    document: dict[str, Any] | None = None
    scanned: dict[str, int] = field(default_factory=dict)
    verdict: str = ""

    @property
    def found(self) -> bool:
        return bool(self.hops or self.dead_letters or self.document)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["found"] = self.found
        return data


class Matcher:
    """Which records belong to the traced article; learns ids as matching records reveal them."""

    def __init__(self, query: str) -> None:
        from services.ingest.identity import article_id, canonicalize_url

        self.article_ids: set[str] = set()
        self.trace_ids: set[str] = set()
        self.canonical_url: str | None = None
        if query.startswith(("http://", "https://")):
            self.canonical_url = canonicalize_url(query)
            if self.canonical_url:
                self.article_ids.add(article_id(self.canonical_url, "", "")[0])
        else:
            # Article ids and trace ids from `newswire publish` both look like 32 hex digits.
            self.article_ids.add(query)
            self.trace_ids.add(query)

    def matches(self, key: bytes | None, headers: dict[str, str]) -> bool:
        article = headers.get(ARTICLE_HEADER) or (key.decode("utf-8", "replace") if key else None)
        return article in self.article_ids or headers.get(TRACE_HEADER) in self.trace_ids

    def matches_url(self, url: object) -> bool:
        from services.ingest.identity import canonicalize_url

        return bool(
            self.canonical_url and isinstance(url, str) and canonicalize_url(url) == self.canonical_url
        )

    def learn(self, article_id: object, trace_id: object) -> None:
        if isinstance(article_id, str) and _HEX_ID.match(article_id):
            self.article_ids.add(article_id)
        if isinstance(trace_id, str) and trace_id:
            self.trace_ids.add(trace_id)


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """``30m``, ``2h``, ``1d`` ago, or an ISO 8601 time; None for everything retained."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    duration = _DURATION.match(value.strip())
    if duration:
        return now - timedelta(seconds=int(duration["amount"]) * _UNITS[duration["unit"]])
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_topic(
    consumer: KafkaConsumer, topic: str, since: datetime | None = None, last: int | None = None
) -> Iterator[Any]:
    """Every record of ``topic`` up to the end offsets seen at the start (from ``since``, or the
    ``last`` records of each partition)."""
    from kafka.structs import TopicPartition

    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        return
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    if since is not None:
        found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        starts = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in partitions}
    if last is not None:
        starts = {tp: max(starts[tp], ends[tp] - last) for tp in partitions}
    pending = [tp for tp in partitions if starts[tp] < ends[tp]]
    if not pending:
        return
    consumer.assign(pending)
    for tp in pending:
        consumer.seek(tp, starts[tp])
    remaining = set(pending)
    progress_at = time.monotonic()
    while remaining:
        polled = consumer.poll(timeout_ms=500, max_records=1000)
        if polled:
            progress_at = time.monotonic()
        for tp, records in polled.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
        for tp in list(remaining):
            if consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
        if remaining and time.monotonic() - progress_at > STALL_TIMEOUT_S:
            raise TimeoutError(f"{topic}: no records for {STALL_TIMEOUT_S:.0f}s before the end offsets")


def scan_consumer(settings: KafkaSettings) -> KafkaConsumer:
    """A group-less consumer for reading topics end to end without committing anything."""
    from kafka import KafkaConsumer

    from services.cli.kafka_admin import quick_client_config

    return KafkaConsumer(
        **quick_client_config(settings),
        client_id="newswire-cli",
        enable_auto_commit=False,
        allow_auto_create_topics=False,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )


def _headers(record: Any) -> dict[str, str]:
    return {name: (value or b"").decode("utf-8", "replace") for name, value in (record.headers or [])}


def _timestamp(record: Any) -> str | None:
    if not record.timestamp or record.timestamp < 0:
        return None
    return datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat(timespec="milliseconds")


def _json(value: bytes | None) -> dict[str, Any]:
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def collect(report: TraceReport, matcher: Matcher, consumer: KafkaConsumer, since: datetime | None) -> None:
    """Scan the topics in the order that reveals ids soonest: the keyed topics first (article id to
    trace ids), the dead letters, then ``articles.raw`` (linked only by trace id or URL)."""
    for topic in (TOPICS.ingested, TOPICS.enriched, TOPICS.dlq, TOPICS.raw):
        scanned = 0
        for record in read_topic(consumer, topic, since):
            scanned += 1
            headers = _headers(record)
            if topic == TOPICS.dlq:
                _dead_letter(report, matcher, record, headers)
            elif topic == TOPICS.raw:
                _raw(report, matcher, record, headers)
            elif matcher.matches(record.key, headers):
                _event(report, matcher, topic, record, headers)
        report.scanned[topic] = scanned


def _event(report: TraceReport, matcher: Matcher, topic: str, record: Any, headers: dict[str, str]) -> None:
    event = _json(record.value)
    found = event.get("article")
    article: dict[str, Any] = found if isinstance(found, dict) else {}
    article_id = article.get("id") or headers.get(ARTICLE_HEADER)
    trace_id = event.get("trace_id") or headers.get(TRACE_HEADER)
    matcher.learn(article_id, trace_id)
    enrichers = [
        f"{run.get('name')} {run.get('version')}"
        for run in article.get("enrichers") or []
        if isinstance(run, dict)
    ]
    position = (topic, record.partition, record.offset, _timestamp(record))
    report.hops.append(Hop(*position, article_id, trace_id, event.get("producer"), enrichers))


def _dead_letter(report: TraceReport, matcher: Matcher, record: Any, headers: dict[str, str]) -> None:
    letter = _json(record.value)
    if not matcher.matches(record.key, headers) and not _payload_matches_url(letter, matcher):
        return
    matcher.learn(letter.get("article_id"), letter.get("trace_id"))
    source = letter.get("source_record") or {}
    report.dead_letters.append(
        DeadLetterHit(
            partition=record.partition,
            offset=record.offset,
            produced_at=letter.get("produced_at"),
            stage=str(letter.get("stage")),
            reason=str(letter.get("reason")),
            detail=str(letter.get("detail") or "")[:2000],
            article_id=letter.get("article_id"),
            trace_id=letter.get("trace_id"),
            source=f"{source.get('topic')}/{source.get('partition')}@{source.get('offset')}",
        )
    )


def _payload_matches_url(letter: dict[str, Any], matcher: Matcher) -> bool:
    """A submission rejected before it had an id can still be found by the URL it carried."""
    if not matcher.canonical_url or not letter.get("payload_b64"):
        return False
    import base64

    try:
        payload = _json(base64.b64decode(letter["payload_b64"]))
    except ValueError:
        return False
    return matcher.matches_url(payload.get("url"))


def _raw(report: TraceReport, matcher: Matcher, record: Any, headers: dict[str, str]) -> None:
    trace_id = headers.get(TRACE_HEADER)
    matched = trace_id in matcher.trace_ids
    if not matched and matcher.canonical_url and (record.value or b"").lstrip()[:1] == b"{":
        matched = matcher.matches_url(_json(record.value).get("url"))
    if matched:
        matcher.learn(None, trace_id)
        report.hops.append(
            Hop(TOPICS.raw, record.partition, record.offset, _timestamp(record), None, trace_id, "publisher")
        )


def find_documents(es: Any, matcher: Matcher) -> list[dict[str, Any]]:
    """Index documents with one of the article ids (as ``_id``) or trace ids."""
    should: list[dict[str, Any]] = [{"ids": {"values": sorted(matcher.article_ids)}}]
    if matcher.trace_ids:
        should.append({"terms": {"trace_id": sorted(matcher.trace_ids)}})
    if matcher.canonical_url:
        should.append({"term": {"canonical_url": matcher.canonical_url}})
    response = es.search(index=ALIAS, query={"bool": {"should": should}}, size=10)
    return [hit["_source"] | {"_index": hit["_index"]} for hit in response["hits"]["hits"]]


def verdict(report: TraceReport, lag_note: str | None = None) -> str:
    """One line: indexed, dead-lettered (where and why), waiting, or not found."""
    doc = report.document
    letters = sorted(report.dead_letters, key=lambda d: d.produced_at or "")
    if doc is not None:
        line = f"indexed: document {doc.get('id')} in {doc.get('_index')} at {doc.get('indexed_at')}"
        if letters:
            line += f"; also {len(letters)} dead letter(s), latest {letters[-1].stage}: {letters[-1].reason}"
        return line
    if letters:
        latest = letters[-1]
        why = first_line(latest.detail, 300)
        return f"not indexed: {latest.stage} dead-lettered it ({latest.reason}): {why}"
    if report.hops:
        last = max(report.hops, key=lambda hop: FLOW.index(hop.topic))
        where = f"last seen on {last.topic} (partition {last.partition}, offset {last.offset})"
        return f"not indexed yet: {where}; {lag_note or 'see the next stage'}"
    return f"not found: no record on the pipeline topics and no document for {report.query!r}"


def first_line(text: str, limit: int) -> str:
    return (text.strip().splitlines() or [""])[0][:limit]


def group_ids() -> dict[str, str]:
    """The consumer group of each stage, from the same settings (and variables) the services read."""
    from pydantic import ValidationError

    from services.enrich.settings import Settings as EnrichSettings
    from services.index.settings import Settings as IndexSettings
    from services.ingest.settings import Settings as IngestSettings

    groups: dict[str, str] = {}
    for stage, cls, attribute in (
        ("ingest", IngestSettings, "group_id"),
        ("enrich", EnrichSettings, "app_id"),
        ("index", IndexSettings, "group_id"),
    ):
        try:
            groups[stage] = getattr(cls(), attribute)
        except ValidationError:
            groups[stage] = str(cls.model_fields[attribute].default)
    return groups


def stage_note(settings: KafkaSettings, hop: Hop) -> str | None:
    """Whether the stage reading ``hop``'s topic has passed it, from its committed offset."""
    from kafka import KafkaAdminClient
    from kafka.structs import TopicPartition

    from services.cli.kafka_admin import quick_client_config

    stage = STAGE_OF_TOPIC.get(hop.topic)
    if stage is None:
        return None
    group = group_ids()[stage]
    admin = KafkaAdminClient(**quick_client_config(settings), client_id="newswire-cli")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    meta = offsets.get(TopicPartition(hop.topic, hop.partition))
    committed = meta.offset if meta is not None and meta.offset >= 0 else None
    if committed is None:
        return f"{stage} (group {group}) has committed nothing on {hop.topic}/{hop.partition}: is it running?"
    if committed > hop.offset:
        return (
            f"{stage} (group {group}) read it (committed {committed}) but nothing came out: "
            f"look for trace id {hop.trace_id} in the {stage} log"
        )
    ahead = hop.offset - committed + 1
    return f"waiting for {stage} (group {group}): {ahead} records to go on that partition before it"


#: Records shown per topic on the screen (all are in --json): a much republished article has many.
ROWS_PER_TOPIC = 5
#: The topics in flow order.
FLOW = (TOPICS.raw, TOPICS.ingested, TOPICS.enriched, TOPICS.dlq)


def run_trace(settings: KafkaSettings, es: Any, query: str, since: datetime | None) -> TraceReport:
    report = TraceReport(query=query)
    matcher = Matcher(query)
    consumer = scan_consumer(settings)
    try:
        collect(report, matcher, consumer, since)
    finally:
        consumer.close(autocommit=False)
    documents = find_documents(es, matcher) if matcher.article_ids or matcher.trace_ids else []
    if documents:
        report.document = max(documents, key=lambda doc: str(doc.get("indexed_at") or ""))
        matcher.learn(report.document.get("id"), report.document.get("trace_id"))
    if query in {hop.trace_id for hop in report.hops} | {letter.trace_id for letter in report.dead_letters}:
        # A trace id names one submission: leave out the article's other submissions.
        report.hops = [hop for hop in report.hops if hop.trace_id == query]
        report.dead_letters = [letter for letter in report.dead_letters if letter.trace_id == query]
    report.hops.sort(key=lambda hop: (FLOW.index(hop.topic), hop.timestamp or "", hop.offset))
    report.article_ids = sorted(matcher.article_ids & _seen_article_ids(report))
    report.trace_ids = sorted(matcher.trace_ids & _seen_trace_ids(report))
    lag_note = None
    if report.document is None and not report.dead_letters and report.hops:
        lag_note = stage_note(settings, max(report.hops, key=lambda hop: FLOW.index(hop.topic)))
    report.verdict = verdict(report, lag_note)
    return report


def _seen_article_ids(report: TraceReport) -> set[str]:
    seen = {hop.article_id for hop in report.hops} | {d.article_id for d in report.dead_letters}
    if report.document:
        seen.add(report.document.get("id"))
    return {value for value in seen if value}


def _seen_trace_ids(report: TraceReport) -> set[str]:
    seen = {hop.trace_id for hop in report.hops} | {d.trace_id for d in report.dead_letters}
    if report.document:
        seen.add(report.document.get("trace_id"))
    return {value for value in seen if value}


def trace(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="An article id, a trace id (as `newswire publish --json` prints) or the article's URL.",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(help="Only read records newer than this: 30m, 2h, 1d or an ISO time [default: all]."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")] = False,
) -> None:
    """Follow one article through the pipeline: topic offsets, enrichers, dead letters, its document."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, Elasticsearch
    from kafka.errors import KafkaError

    query = target.strip()
    if not query:
        raise typer.BadParameter("give an article id, a trace id or a URL", param_hint="TARGET")
    try:
        moment = parse_since(since)
    except ValueError:
        raise typer.BadParameter(
            f"{since!r} is not 30m, 2h, 1d or an ISO time", param_hint="--since"
        ) from None
    state = state_of(ctx)
    kafka, es_settings = state.kafka(), state.elasticsearch()
    es = Elasticsearch(**{**es_settings.client_kwargs(), "max_retries": 1})
    try:
        report = run_trace(kafka, es, query, moment)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise fail(f"Kafka is not reachable at {kafka.bootstrap_servers}: {exc}") from exc
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise fail(f"Elasticsearch is not reachable at {es_settings.url}: {exc.message}") from exc
    except ApiError as exc:
        raise fail(f"Elasticsearch refused the lookup ({exc.status_code}): {exc.message}") from exc
    finally:
        es.close()
    if as_json:
        out.print_json(orjson.dumps(report.as_json()).decode())
    else:
        print_report(report)
    if not report.found:
        raise typer.Exit(1)


def _when(moment: str | None) -> str:
    return (moment or "")[:19].replace("T", " ")


def print_report(report: TraceReport, rows_per_topic: int = ROWS_PER_TOPIC) -> None:
    if report.found:
        ids = ", ".join(report.article_ids) or "none (rejected before it had one)"
        out.print(f"[bold]article[/] {escape(ids)}")
        traces = report.trace_ids
        shown = ", ".join(traces) if len(traces) <= 3 else f"{len(traces)} submissions (--json lists them)"
        out.print(f"[bold]trace[/]   {escape(shown or '-')}")
    table = Table("topic", "partition", "offset", "time (UTC)", "by", box=None, pad_edge=False)
    for topic in FLOW:
        hops = [hop for hop in report.hops if hop.topic == topic]
        if len(hops) > rows_per_topic:
            table.add_row(f"[dim]… {len(hops) - rows_per_topic} earlier on {topic}[/]", "", "", "", "")
        for hop in hops[-rows_per_topic:]:
            when = _when(hop.timestamp)
            table.add_row(hop.topic, str(hop.partition), str(hop.offset), when, hop.producer or "")
    for letter in report.dead_letters:
        where = f"[red]{TOPICS.dlq}[/]"
        table.add_row(
            where, str(letter.partition), str(letter.offset), _when(letter.produced_at), letter.stage
        )
    if report.hops or report.dead_letters:
        out.print(table)
    latest_enriched = [hop for hop in report.hops if hop.enrichers]
    if latest_enriched:
        runs = ", ".join(latest_enriched[-1].enrichers)
        out.print(f"[bold]enrichers[/] {escape(runs)} [dim](latest event)[/]")
    for letter in report.dead_letters:
        out.print(
            f"[red]dead letter[/] {letter.stage} [bold]{escape(letter.reason)}[/]: "
            f"{escape(first_line(letter.detail, 500))} [dim](read from {escape(letter.source)})[/]"
        )
    doc = report.document
    if doc is not None:
        doc_enrichers = ", ".join(f"{e.get('name')} {e.get('version')}" for e in doc.get("enrichers") or [])
        out.print(
            f"[green]document[/] {escape(str(doc.get('_index')))}/{escape(str(doc.get('id')))} "
            f"indexed {_when(doc.get('indexed_at'))}: {escape(repr(doc.get('title')))}"
            + (f" [dim](enrichers {escape(doc_enrichers)})[/]" if doc_enrichers else "")
        )
    else:
        out.print(f"[yellow]document[/] none in {ALIAS}")
    scanned = ", ".join(f"{topic} {count}" for topic, count in report.scanned.items())
    out.print(f"[dim]records read: {scanned}[/]")
    colour = "green" if doc is not None else ("red" if report.dead_letters else "yellow")
    out.print(f"[bold {colour}]{escape(report.verdict)}[/]")
