"""``newswire dlq list|show|replay``: what was dead-lettered, why, and sending it through again.

A replay re-publishes a dead letter's original bytes, key and headers to the topic it was read
from, with its original timestamp (so ingest derives the same revision and the index rewrites the
same document instead of adding one). Each replayed record carries ``newswire-replay-of:
dlq/<partition>/<offset>``; before replaying, the target topics are searched for that header from
the dead letter's time on, and records already replayed are skipped unless ``--force``.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from schemas.dead_letter import DeadLetter
from schemas.topics import TOPICS
from services.cli.state import err, fail, out, state_of
from services.runtime.messages import TRACE_HEADER

if TYPE_CHECKING:
    from services.runtime.settings import KafkaSettings

REPLAY_HEADER = "newswire-replay-of"
PREVIEW_CHARS = 200

app = typer.Typer(help="Inspect and replay dead-lettered events (articles.dlq).", no_args_is_help=True)


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter and where it sits on the DLQ."""

    partition: int
    offset: int
    timestamp_ms: int
    letter: DeadLetter

    @property
    def ref(self) -> str:
        return f"dlq/{self.partition}/{self.offset}"

    @property
    def source_trace_id(self) -> str:
        return self.letter.source_record.headers.get(TRACE_HEADER) or self.letter.trace_id

    def preview(self, chars: int = PREVIEW_CHARS) -> str:
        text = self.letter.payload()[: chars * 4].decode("utf-8", "replace")
        text = "".join(c if c.isprintable() else "·" for c in text)
        return text[:chars] + ("…" if len(text) > chars or self.letter.payload_size > chars else "")


@dataclass(frozen=True)
class Selection:
    reason: str | None = None
    stage: str | None = None
    trace_id: str | None = None
    offset: tuple[int, int] | None = None

    def matches(self, stored: StoredLetter) -> bool:
        letter = stored.letter
        return (
            (self.reason is None or letter.reason == self.reason)
            and (self.stage is None or str(letter.stage) == self.stage)
            and (self.trace_id is None or self.trace_id in (letter.trace_id, stored.source_trace_id))
            and (self.offset is None or self.offset == (stored.partition, stored.offset))
        )


def read_dead_letters(settings: KafkaSettings, topic: str = TOPICS.dlq) -> Iterator[StoredLetter]:
    """Every readable dead letter on ``topic``, oldest first per partition."""
    for record in _read_topic(settings, topic):
        try:
            letter = DeadLetter.model_validate(orjson.loads(record.value))
        except (orjson.JSONDecodeError, ValueError):
            err.print(f"[yellow]skipping unreadable DLQ record {record.partition}:{record.offset}[/]")
            continue
        yield StoredLetter(record.partition, record.offset, record.timestamp, letter)


def replayed_refs(settings: KafkaSettings, topics: Iterable[str], since_ms: int) -> set[str]:
    """The ``dlq/<partition>/<offset>`` of every replay found on ``topics`` from ``since_ms`` on."""
    found: set[str] = set()
    for topic in set(topics):
        for record in _read_topic(settings, topic, since_ms=since_ms):
            for name, value in record.headers or ():
                if name == REPLAY_HEADER and value:
                    found.add(value.decode("utf-8", "replace"))
    return found


def _read_topic(settings: KafkaSettings, topic: str, since_ms: int | None = None) -> Iterator[Any]:
    """Records of ``topic`` up to its current end (from ``since_ms`` when given), without a group."""
    from kafka import KafkaConsumer, TopicPartition

    from services.cli.kafka_admin import quick_client_config

    consumer = KafkaConsumer(
        **quick_client_config(settings),
        client_id="newswire-cli-dlq",
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return
        consumer.assign(partitions)
        end = consumer.end_offsets(partitions)
        start = consumer.beginning_offsets(partitions)
        if since_ms is not None:
            by_time = consumer.offsets_for_times({tp: since_ms for tp in partitions})
            start = {tp: (found.offset if found else end[tp]) for tp, found in by_time.items()}
        for tp in partitions:
            consumer.seek(tp, start[tp])
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=1000, max_records=500).items():
                yield from (record for record in records if record.offset < end[tp])
    finally:
        consumer.close()


def _letters(ctx: typer.Context, selection: Selection) -> list[StoredLetter]:
    from kafka.errors import KafkaError

    settings = state_of(ctx).kafka()
    try:
        return [stored for stored in read_dead_letters(settings) if selection.matches(stored)]
    except (KafkaError, OSError) as exc:
        raise fail(f"Kafka is not reachable at {settings.bootstrap_servers}: {exc}") from exc


ReasonOption = Annotated[str | None, typer.Option(help="Only dead letters with this reason code.")]
StageOption = Annotated[str | None, typer.Option(help="Only this stage: ingest, enrich or index.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_letters(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """How many dead letters there are, by stage and reason."""
    letters = _letters(ctx, Selection())
    counts = Counter((str(stored.letter.stage), stored.letter.reason) for stored in letters)
    rows: list[dict[str, Any]] = [
        {"stage": stage, "reason": reason, "count": count}
        for (stage, reason), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    if as_json:
        out.print_json(orjson.dumps({"total": len(letters), "by_reason": rows}).decode())
        return
    if not rows:
        out.print("the DLQ is empty")
        return
    table = Table("stage", "reason", "count", box=None, pad_edge=False)
    for row in rows:
        table.add_row(str(row["stage"]), str(row["reason"]), str(row["count"]))
    out.print(table)
    out.print(f"total {len(letters)}")


@app.command()
def show(
    ctx: typer.Context,
    reason: ReasonOption = None,
    stage: StageOption = None,
    trace_id: Annotated[str | None, typer.Option(help="Only this trace id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many (the newest).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Dead letters with their detail, origin, trace id and a preview of the original payload."""
    letters = _letters(ctx, Selection(reason=reason, stage=stage, trace_id=trace_id))
    letters = sorted(letters, key=lambda stored: stored.timestamp_ms)[-limit:]
    if as_json:
        out.print_json(orjson.dumps([_as_json(stored) for stored in letters]).decode())
        return
    if not letters:
        out.print("no matching dead letters")
        return
    for stored in letters:
        letter, source = stored.letter, stored.letter.source_record
        out.print(
            f"[bold]{stored.ref}[/]  {letter.stage}/{escape(letter.reason)}  "
            f"trace {escape(stored.source_trace_id)}  at {letter.produced_at.isoformat(timespec='seconds')}"
        )
        out.print(f"  from    {source.topic} partition {source.partition} offset {source.offset}")
        if letter.article_id:
            out.print(f"  article {letter.article_id}")
        out.print(f"  detail  {escape(letter.detail[:500])}")
        truncated = " (truncated in the DLQ)" if letter.payload_truncated else ""
        out.print(f"  payload {letter.payload_size} bytes{truncated}: {escape(stored.preview())}")


def _as_json(stored: StoredLetter) -> dict[str, Any]:
    letter = stored.letter
    return {
        "ref": stored.ref,
        "dlq_partition": stored.partition,
        "dlq_offset": stored.offset,
        "stage": str(letter.stage),
        "reason": letter.reason,
        "detail": letter.detail,
        "trace_id": stored.source_trace_id,
        "article_id": letter.article_id,
        "produced_at": letter.produced_at.isoformat(),
        "source": letter.source_record.model_dump(mode="json"),
        "payload_size": letter.payload_size,
        "payload_truncated": letter.payload_truncated,
        "payload_preview": stored.preview(),
    }


def _source_position(stored: StoredLetter) -> tuple[str, int, int]:
    source = stored.letter.source_record
    return source.topic, source.partition, source.offset


def parse_offset(value: str | None) -> tuple[int, int] | None:
    """``"2:117"`` -> ``(2, 117)``: a DLQ partition and offset."""
    if value is None:
        return None
    partition, _, offset = value.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        raise typer.BadParameter("expected PARTITION:OFFSET, e.g. 0:42", param_hint="--offset")
    return int(partition), int(offset)


@app.command()
def replay(
    ctx: typer.Context,
    reason: ReasonOption = None,
    stage: StageOption = None,
    trace_id: Annotated[str | None, typer.Option(help="The dead letters of this trace id.")] = None,
    offset: Annotated[
        str | None, typer.Option(help="One dead letter by its DLQ position, PARTITION:OFFSET.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be replayed; send nothing.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replay even what was replayed before.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish the selected dead letters' original messages to their source topics again."""
    if reason is None and trace_id is None and offset is None:
        raise typer.BadParameter("select what to replay with --reason, --trace-id or --offset")
    selection = Selection(reason=reason, stage=stage, trace_id=trace_id, offset=parse_offset(offset))
    letters = _letters(ctx, selection)
    settings = state_of(ctx).kafka()
    already: set[str] = set()
    if letters and not force:
        # Replays carry their original's timestamp, older than the dead letter: look from there.
        since = min(
            min(stored.timestamp_ms, stored.letter.source_record.timestamp_ms or stored.timestamp_ms)
            for stored in letters
        )
        already = replayed_refs(settings, {s.letter.source_record.topic for s in letters}, since)

    # At-least-once delivery can dead-letter one source record more than once: replay it once.
    by_source: dict[tuple[str, int, int], list[StoredLetter]] = {}
    for stored in letters:
        by_source.setdefault(_source_position(stored), []).append(stored)
    plan: list[tuple[StoredLetter, str]] = []
    for stored in letters:
        copies = by_source[_source_position(stored)]
        if stored is not copies[0]:
            status = f"skipped: same source record as {copies[0].ref}"
        elif stored.letter.payload_truncated:
            status = "skipped: payload truncated in the DLQ"
        elif any(copy.ref in already for copy in copies):
            status = "skipped: already replayed (use --force)"
        else:
            status = "would replay" if dry_run else "replayed"
        plan.append((stored, status))
    to_send = [stored for stored, status in plan if status == "replayed"]
    failures = _publish(settings, to_send) if to_send else {}
    results = [
        {
            "ref": stored.ref,
            "reason": stored.letter.reason,
            "trace_id": stored.source_trace_id,
            "topic": stored.letter.source_record.topic,
            "status": f"failed: {failures[stored.ref]}" if stored.ref in failures else status,
        }
        for stored, status in plan
    ]
    if as_json:
        out.print_json(orjson.dumps({"selected": len(plan), "results": results}).decode())
    else:
        for row in results:
            out.print(
                f"{row['ref']}  {row['reason']}  trace {row['trace_id']} → {row['topic']}: {row['status']}"
            )
        replayed = sum(row["status"] == "replayed" for row in results)
        out.print(f"{len(plan)} selected, {replayed} replayed" + (" (dry run)" if dry_run else ""))
    if failures:
        raise typer.Exit(1)


def _publish(settings: KafkaSettings, letters: list[StoredLetter]) -> dict[str, str]:
    """Send each letter's original record again; the refs that failed, with the error."""
    from kafka.errors import KafkaError

    from services.runtime.kafka import make_producer

    try:
        producer = make_producer(settings, client_id="newswire-cli-dlq", allow_auto_create_topics=False)
    except (KafkaError, OSError) as exc:
        raise fail(f"Kafka is not reachable at {settings.bootstrap_servers}: {exc}") from exc
    futures = []
    try:
        for stored in letters:
            source = stored.letter.source_record
            headers = [
                (name, value.encode()) for name, value in source.headers.items() if name != REPLAY_HEADER
            ]
            headers.append((REPLAY_HEADER, stored.ref.encode()))
            futures.append(
                producer.send(
                    source.topic,
                    key=source.key.encode() if source.key is not None else None,
                    value=base64.b64decode(stored.letter.payload_b64),
                    headers=headers,
                    # The original time: ingest derives the revision from it, so a replay is the
                    # same revision as the original and rewrites, never duplicates, its document.
                    timestamp_ms=source.timestamp_ms,
                )
            )
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=5)
    return {
        stored.ref: repr(future.exception) if future.is_done else "no acknowledgement"
        for stored, future in zip(letters, futures, strict=True)
        if not (future.is_done and future.succeeded())
    }
