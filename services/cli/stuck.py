"""``newswire stuck`` and ``newswire skip``: the record a consumer group waits on, and the way past it.

A stage that cannot get past one record (it crashes on it, or stalls) shows as a partition whose
committed offset stays put while records pile up behind it. ``stuck`` shows, for each pipeline
group, every partition with lag, the record at the committed offset and whether the group has live
members. ``skip`` dead-letters that one record as a stage would (reason ``skipped_by_operator``,
the original bytes and position, so ``newswire dlq replay`` can send it again), waits for the DLQ's
acknowledgement, and only then commits the next offset for the group: the record is moved aside,
never lost. Kafka takes a commit from outside a group only while the group has no members, so the
stage's service must be stopped first; ``skip`` checks that and says what to do.
"""

from __future__ import annotations

import getpass
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape

from schemas.dead_letter import FailureReason, FailureStage
from services.cli.dlq import PREVIEW_CHARS
from services.cli.state import err, fail, out, state_of
from services.cli.status import STAGES, _ago
from services.runtime.messages import Rejected, message_from_consumer_record

if TYPE_CHECKING:
    from kafka import KafkaAdminClient, KafkaConsumer

    from services.cli.kafka_admin import GroupDescription
    from services.runtime.settings import KafkaSettings

#: Enough of a key or header value to recognise it; keys may be as large as the broker allows.
SHORT_PREVIEW_CHARS = 120
#: Headers shown per record; a hostile record may carry thousands.
MAX_HEADERS_SHOWN = 20
#: How long to wait for the record at a position that the end offsets say exists.
READ_TIMEOUT_S = 30.0
#: How long to wait for the DLQ's acknowledgement of an operator's dead letter.
ACK_TIMEOUT_S = 60.0
PRODUCER = "newswire-cli"
DEFAULT_DLQ_PAYLOAD_MAX_BYTES = 1_048_576


def stop_advice(stage: FailureStage) -> str:
    """What to do about live members: stop the stage's service wherever it runs, then retry."""
    return (
        f"stop the {stage} service first, wherever it runs (`docker compose stop {stage}`, `kubectl scale "
        f"deployment/newswire-{stage} --replicas=0`; the native pipeline: `make down`, then `python -m "
        "services.stack up` for Kafka and Elasticsearch alone, and `make up` after the skip), then run "
        "this again; the member of a process that died without leaving the group stays until its session "
        "times out (session.timeout.ms)"
    )


@dataclass(frozen=True)
class PipelineGroup:
    """A stage's consumer group and the topic it reads."""

    stage: FailureStage
    group_id: str
    topic: str


def pipeline_groups() -> list[PipelineGroup]:
    """The three stages' groups, from the same settings (and variables) the services read."""
    from services.cli.trace import group_ids

    groups = group_ids()
    return [PipelineGroup(FailureStage(stage), groups[stage], topic) for stage, topic, _ in STAGES]


def find_group(name: str, groups: Sequence[PipelineGroup]) -> PipelineGroup | None:
    """The group named ``name``, by group id or by stage name (``index`` for the index's group)."""
    for group in groups:
        if name == group.group_id:
            return group
    return next((group for group in groups if name == group.stage.value), None)


def dlq_payload_max_bytes(stage: FailureStage) -> int:
    """The owning service's limit on the bytes a dead letter keeps, so ours match its letters."""
    from pydantic import ValidationError

    from services.enrich.settings import Settings as EnrichSettings
    from services.index.settings import Settings as IndexSettings
    from services.ingest.settings import Settings as IngestSettings

    cls: Any = {"ingest": IngestSettings, "enrich": EnrichSettings, "index": IndexSettings}[stage.value]
    try:
        return int(getattr(cls(), "dlq_payload_max_bytes", DEFAULT_DLQ_PAYLOAD_MAX_BYTES))
    except ValidationError:
        declared = cls.model_fields.get("dlq_payload_max_bytes")
        return int(declared.default) if declared is not None else DEFAULT_DLQ_PAYLOAD_MAX_BYTES


def printable(raw: bytes | str, chars: int) -> str:
    """At most ``chars`` characters of ``raw`` decoded as UTF-8 (invalid bytes replaced), with control
    and other unprintable characters shown as ``·`` and ``…`` where something was cut."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    # A character is at most 4 bytes: this many always holds ``chars`` of them, so the decode stays
    # cheap on a record of many megabytes and a cut sequence only ever falls in the part dropped.
    text = data[: chars * 4].decode("utf-8", "replace")
    shown = "".join(c if c.isprintable() else "·" for c in text[:chars])
    return shown + ("…" if len(text) > chars or len(data) > chars * 4 else "")


@dataclass(frozen=True)
class RecordPreview:
    """What an operator needs to recognise a record, safe to print whatever its bytes."""

    offset: int
    timestamp: str | None
    key: str | None
    key_size: int | None
    headers: list[tuple[str, str]]
    headers_total: int
    size: int | None  # None: a null value (a tombstone)
    value: str


def preview_record(
    offset: int,
    timestamp_ms: int | None,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
    chars: int = PREVIEW_CHARS,
) -> RecordPreview:
    """A printable summary: ``chars`` characters of the value, shorter key and header previews."""
    moment = (
        datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
        if timestamp_ms is not None and timestamp_ms >= 0
        else None
    )
    return RecordPreview(
        offset=offset,
        timestamp=moment,
        key=printable(key, SHORT_PREVIEW_CHARS) if key is not None else None,
        key_size=len(key) if key is not None else None,
        headers=[
            (printable(name, SHORT_PREVIEW_CHARS), printable(header or b"", SHORT_PREVIEW_CHARS))
            for name, header in headers[:MAX_HEADERS_SHOWN]
        ],
        headers_total=len(headers),
        size=len(value) if value is not None else None,
        value=printable(value, chars) if value is not None else "",
    )


@dataclass(frozen=True)
class Position:
    """Where a group stands on one partition."""

    partition: int
    committed: int | None  # None: the group never committed here
    log_start: int
    end: int

    @property
    def next_offset(self) -> int:
        """What the group reads next: its commit, or the log start when it has none or the commit is out
        of range (retention removed the record, or the log was recreated): the services then reset to
        the earliest offset."""
        if self.committed is None or not self.log_start <= self.committed <= self.end:
            return self.log_start
        return self.committed

    @property
    def lag(self) -> int:
        return max(0, self.end - self.next_offset)

    @property
    def summary(self) -> str:
        if self.committed is None:
            where = f"no commit (reads from the log start, {self.log_start})"
        elif self.committed != self.next_offset:
            where = f"committed {self.committed}, out of range (reads from the log start, {self.log_start})"
        else:
            where = f"committed {self.committed}"
        return f"{where}  end {self.end}  lag {self.lag}"


@dataclass
class StuckPartition:
    position: Position
    record: RecordPreview | None = None
    error: str | None = None


@dataclass
class GroupReport:
    group: PipelineGroup
    description: GroupDescription
    partitions: list[StuckPartition] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.group.stage.value,
            "group_id": self.group.group_id,
            "topic": self.group.topic,
            "state": self.description.state,
            "active": self.description.active,
            "members": [asdict(member) for member in self.description.members],
            "error": self.error,
            "partitions": [
                {
                    "partition": stuck.position.partition,
                    "committed": stuck.position.committed,
                    "next_offset": stuck.position.next_offset,
                    "end": stuck.position.end,
                    "lag": stuck.position.lag,
                    "record": asdict(stuck.record) if stuck.record else None,
                    "error": stuck.error,
                }
                for stuck in self.partitions
            ],
        }


def skip_detail(user: str, reason: str | None, group: PipelineGroup, position: Position, offset: int) -> str:
    """The dead letter's ``detail``: who skipped the record, why, and where the group stood."""
    why = reason.strip() if reason and reason.strip() else "no reason given"
    return (
        f"skipped by operator {user} with `newswire skip`: {why} (group {group.group_id} was at offset "
        f"{position.next_offset} of {group.topic}/{position.partition}, end {position.end}; "
        f"committed {offset + 1} after this letter was acknowledged)"
    )


class SkipRefusedError(Exception):
    """What ``skip`` was asked cannot be done; the message says why."""


def skippable_position(group: PipelineGroup, found: Sequence[Position], partition: int) -> Position:
    """The group's position on ``partition`` if it has a record to skip there, else SkipRefusedError."""
    by_partition = {position.partition: position for position in found}
    if not by_partition:
        raise SkipRefusedError(f"topic {group.topic} does not exist")
    if partition not in by_partition:
        raise SkipRefusedError(f"{group.topic} has partitions 0-{max(by_partition)}, not {partition}")
    position = by_partition[partition]
    if position.lag == 0:
        raise SkipRefusedError(
            f"group {group.group_id} has no lag on {group.topic}/{partition} (next offset "
            f"{position.next_offset}, end {position.end}): nothing to skip"
        )
    return position


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        return "unknown"


# --- Kafka -------------------------------------------------------------------------------------------


@contextmanager
def _connections(settings: KafkaSettings) -> Iterator[tuple[KafkaAdminClient, KafkaConsumer]]:
    from kafka.errors import KafkaError

    from services.cli.kafka_admin import admin_client
    from services.cli.trace import scan_consumer

    try:
        with admin_client(settings) as admin:
            consumer = scan_consumer(settings)
            try:
                yield admin, consumer
            finally:
                consumer.close(autocommit=False)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise fail(f"Kafka at {settings.bootstrap_servers}: {exc!r}") from exc


def positions(admin: KafkaAdminClient, consumer: KafkaConsumer, group: PipelineGroup) -> list[Position]:
    """The group's position on every partition of its topic (empty when the topic does not exist)."""
    from kafka import TopicPartition

    from services.cli.status import committed

    partitions = [
        TopicPartition(group.topic, p) for p in sorted(consumer.partitions_for_topic(group.topic) or ())
    ]
    if not partitions:
        return []
    # Commits first: read after the end offsets, a running group's commit could lie past them.
    done = committed(admin, group.group_id, group.topic)
    starts = consumer.beginning_offsets(partitions)
    ends = consumer.end_offsets(partitions)
    return [Position(tp.partition, done.get(tp.partition), starts[tp], ends[tp]) for tp in partitions]


def read_record(consumer: KafkaConsumer, topic: str, position: Position) -> Any | None:
    """The first record at or after the group's next offset (offsets can have gaps), or None."""
    from kafka import TopicPartition

    tp = TopicPartition(topic, position.partition)
    consumer.assign([tp])
    consumer.seek(tp, position.next_offset)
    deadline = time.monotonic() + READ_TIMEOUT_S
    while consumer.position(tp) < position.end:
        for record in consumer.poll(timeout_ms=500, max_records=1).get(tp, []):
            if record.offset < position.end:
                return record
        if time.monotonic() > deadline:
            raise TimeoutError(f"no record from {topic}/{position.partition} in {READ_TIMEOUT_S:.0f} s")
    return None


def undecodable(position: Position, error: Exception) -> str:
    """Why the record cannot be shown: kafka-python refuses the whole batch holding the position."""
    return (
        f"the Kafka client cannot decode the record batch holding offset {position.next_offset} ({error}): "
        "a record at or before it in the batch breaks the client's expectations (a header name that is "
        "not UTF-8, for one)"
    )


def preview_of(record: Any) -> RecordPreview:
    return preview_record(
        record.offset, record.timestamp, record.key, record.value, list(record.headers or ())
    )


def collect(settings: KafkaSettings, groups: Sequence[PipelineGroup]) -> list[GroupReport]:
    from kafka.errors import CorruptRecordError, KafkaError

    from services.cli.kafka_admin import describe_group

    reports: list[GroupReport] = []
    with _connections(settings) as (admin, consumer):
        for group in groups:
            report = GroupReport(group, describe_group(admin, group.group_id))
            reports.append(report)
            found = positions(admin, consumer, group)
            if not found:
                report.error = f"topic {group.topic} does not exist"
            for position in found:
                if position.lag == 0:
                    continue
                stuck = StuckPartition(position)
                report.partitions.append(stuck)
                try:
                    record = read_record(consumer, group.topic, position)
                except CorruptRecordError as exc:
                    stuck.error = undecodable(position, exc)
                    continue
                except (KafkaError, TimeoutError) as exc:
                    stuck.error = f"cannot read the record: {exc!r}"
                    continue
                if record is None:
                    stuck.error = "no record before the end offset (a gap, e.g. transaction markers)"
                else:
                    stuck.record = preview_of(record)
    return reports


# --- output ------------------------------------------------------------------------------------------


def print_record(record: RecordPreview, indent: str = "  ") -> None:
    key = "none" if record.key is None else f"{escape(record.key)!s} ({record.key_size} bytes)"
    # The record's own time: a head record hours old behind a running service is the stuck one.
    written = f"written {_ago(record.timestamp)}" if record.timestamp else "no timestamp"
    out.print(f"{indent}record  offset {record.offset}  {written}")
    out.print(f"{indent}key     {key}")
    for name, value in record.headers:
        out.print(f"{indent}header  {escape(name)} = {escape(value)}")
    if record.headers_total > len(record.headers):
        out.print(f"{indent}header  … {record.headers_total - len(record.headers)} more")
    if record.size is None:
        out.print(f"{indent}value   null (a tombstone)")
    else:
        out.print(f"{indent}value   {record.size} bytes: {escape(record.value)}")


def describe_members(description: GroupDescription, topic: str) -> str:
    """The group's state and live members (plain text: escape it for rich markup)."""
    if not description.members:
        return f"{description.state}, no live members"
    members = ", ".join(
        f"{member.client_id}@{member.host}"
        + (
            f" (partitions {','.join(map(str, member.partitions[topic]))})"
            if topic in member.partitions
            else ""
        )
        for member in description.members
    )
    return f"{description.state}, {len(description.members)} live member(s): {members}"


def print_reports(reports: Sequence[GroupReport]) -> None:
    for report in reports:
        group = report.group
        out.print(
            f"[bold]{group.stage}[/]  group {escape(group.group_id)} on {group.topic}: "
            f"{escape(describe_members(report.description, group.topic))}"
        )
        if report.error:
            out.print(f"  [yellow]{escape(report.error)}[/]")
        elif not report.partitions:
            out.print("  [green]no lag[/]")
        for stuck in report.partitions:
            position = stuck.position
            out.print(f"  partition {position.partition}  [yellow]{position.summary}[/]")
            if stuck.record:
                print_record(stuck.record, indent="    ")
            if stuck.error:
                out.print(f"    [red]{escape(stuck.error)}[/]")
        out.print()
    if any(report.partitions for report in reports):
        out.print(
            "[dim]a partition whose committed offset does not move while its service runs is stuck on the "
            "record shown; to move past it: stop the service, then "
            "`newswire skip --group GROUP --partition N` (the record goes to the DLQ, replayable)[/]"
        )


# --- commands ----------------------------------------------------------------------------------------

GroupOption = Annotated[
    str | None, typer.Option(help="One group, by id or stage name (ingest, enrich, index).")
]


def _resolve(name: str) -> PipelineGroup:
    groups = pipeline_groups()
    group = find_group(name, groups)
    if group is None:
        known = ", ".join(f"{g.group_id} ({g.stage}, {g.topic})" for g in groups)
        raise fail(f"unknown group {name!r}: the pipeline's groups are {known}")
    return group


def stuck(
    ctx: typer.Context,
    group: GroupOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each pipeline group's partitions with lag, the record it reads next, and its live members."""
    groups = [_resolve(group)] if group else pipeline_groups()
    reports = collect(state_of(ctx).kafka(), groups)
    if as_json:
        out.print_json(orjson.dumps([report.as_json() for report in reports]).decode())
    else:
        print_reports(reports)


def skip(
    ctx: typer.Context,
    group: Annotated[str, typer.Option(help="The group, by id or stage name (ingest, enrich, index).")],
    partition: Annotated[int, typer.Option(min=0, help="The partition the group is stuck on.")],
    offset: Annotated[
        int | None,
        typer.Option(
            help="The offset you expect to skip; refused unless it is the record the group reads next."
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why, for the dead letter's detail.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Dead-letter the record a group is stuck on (reason skipped_by_operator) and commit past it.

    The group's service must be stopped: Kafka refuses commits from outside a group with members.
    """
    from kafka.errors import KafkaError

    from services.cli.kafka_admin import describe_group

    target = _resolve(group)
    settings = state_of(ctx).kafka()
    with _connections(settings) as (admin, consumer):
        position, record = _head(admin, consumer, target, partition)
        if offset is not None and offset != record.offset:
            raise fail(
                f"group {target.group_id} reads offset {record.offset} next on {target.topic}/{partition}, "
                f"not {offset}: only the record it reads next can be skipped"
            )
        if not as_json:
            out.print(
                f"group {escape(target.group_id)} ({target.stage}) on {target.topic}/{partition}: "
                f"{position.summary}"
            )
            print_record(preview_of(record))
        description = describe_group(admin, target.group_id)
        if description.active:
            raise fail(
                f"group {target.group_id} is {describe_members(description, target.topic)}; "
                + stop_advice(target.stage)
            )
        if not yes:
            if not sys.stdin.isatty():
                raise fail("not skipping without confirmation: stdin is not a terminal; pass --yes to skip")
            if not typer.confirm(
                f"Dead-letter offset {record.offset} of {target.topic}/{partition} and move "
                f"{target.group_id} to {record.offset + 1}?",
                default=False,
                err=True,
            ):
                err.print("nothing changed")
                raise typer.Exit(1)
            # Time passed at the prompt: the service may have started, or someone else skipped.
            again, record_again = _head(admin, consumer, target, partition)
            if (again.next_offset, record_again.offset) != (position.next_offset, record.offset):
                raise fail(
                    f"group {target.group_id} moved on {target.topic}/{partition} meanwhile: nothing done"
                )
            if describe_group(admin, target.group_id).active:
                raise fail(f"group {target.group_id} has live members again; {stop_advice(target.stage)}")
        user = operator_name()
        dlq_ref = _dead_letter(settings, target, position, record, user, reason)
        try:
            _commit_past(admin, target, partition, record.offset, f"newswire skip by {user}: {dlq_ref}")
        except KafkaError as exc:
            raise fail(
                f"the record is in the DLQ as {dlq_ref}, but the commit failed: {exc!r}; the group still "
                f"reads offset {record.offset} (a second skip writes a second letter; a replay sends one)"
            ) from exc
        now = _committed_offset(admin, target, partition)
        if now != record.offset + 1:  # someone else committed at the same moment: say so, do not guess
            err.print(
                f"[yellow]the group's commit reads {now}, not {record.offset + 1}: check `newswire stuck`[/]"
            )
    result = {
        "group_id": target.group_id,
        "stage": target.stage.value,
        "topic": target.topic,
        "partition": partition,
        "skipped_offset": record.offset,
        "committed_before": position.committed,
        "committed_now": now,
        "dead_letter": dlq_ref,
        "reason": FailureReason.SKIPPED_BY_OPERATOR.value,
        "record": asdict(preview_of(record)),
    }
    if as_json:
        out.print_json(orjson.dumps(result).decode())
    else:
        out.print(
            f"dead-lettered as {dlq_ref} ({FailureReason.SKIPPED_BY_OPERATOR}); "
            f"group {escape(target.group_id)} now at offset {now} on {target.topic}/{partition}; "
            f"`newswire dlq replay --offset {dlq_ref.removeprefix('dlq/').replace('/', ':')}` "
            "sends the record again"
        )


def _head(
    admin: KafkaAdminClient, consumer: KafkaConsumer, group: PipelineGroup, partition: int
) -> tuple[Position, Any]:
    """The group's position on ``partition`` and the record it reads next; clear errors otherwise."""
    from kafka.errors import CorruptRecordError

    try:
        position = skippable_position(group, positions(admin, consumer, group), partition)
    except SkipRefusedError as exc:
        raise fail(str(exc)) from exc
    try:
        record = read_record(consumer, group.topic, position)
    except CorruptRecordError as exc:
        raise fail(undecodable(position, exc) + "; skip cannot tell which record to dead-letter") from exc
    if record is None:
        raise fail(
            f"no record on {group.topic}/{partition} between {position.next_offset} and {position.end}"
        )
    return position, record


def _dead_letter(
    settings: KafkaSettings,
    group: PipelineGroup,
    position: Position,
    record: Any,
    user: str,
    reason: str | None,
) -> str:
    """Write the operator's dead letter and wait for its acknowledgement; its ``dlq/<p>/<o>``.

    A letter the DLQ refuses as too large is sent again with the payload cut to the size the services
    fall back to (``payload_truncated`` then says so, and ``dlq replay`` leaves it alone).
    """
    from kafka.errors import KafkaError, MessageSizeTooLargeError

    from services.runtime.dead_letters import SHRUNK_PAYLOAD_BYTES, dead_letter_record
    from services.runtime.kafka import make_producer

    message = message_from_consumer_record(record)
    rejection = Rejected(
        FailureReason.SKIPPED_BY_OPERATOR, skip_detail(user, reason, group, position, record.offset)
    )
    limit = dlq_payload_max_bytes(group.stage)
    producer = make_producer(settings, client_id="newswire-cli-skip", allow_auto_create_topics=False)
    try:
        while True:
            letter = dead_letter_record(message, rejection, group.stage, PRODUCER, limit)
            try:  # too large for the producer (raised by send) or for the broker (by the future)
                future = producer.send(
                    letter.topic, key=letter.key, value=letter.value, headers=list(letter.headers)
                )
                metadata = future.get(timeout=ACK_TIMEOUT_S)
                break
            except MessageSizeTooLargeError:
                if limit <= SHRUNK_PAYLOAD_BYTES:
                    raise
                err.print(
                    f"[yellow]the DLQ refused a letter with {limit} bytes of payload: keeping the first "
                    f"{SHRUNK_PAYLOAD_BYTES} bytes (marked truncated)[/]"
                )
                limit = SHRUNK_PAYLOAD_BYTES
    except KafkaError as exc:
        raise fail(f"the DLQ did not acknowledge the dead letter: {exc!r}; nothing committed") from exc
    finally:
        producer.close(timeout=10)
    return f"dlq/{metadata.partition}/{metadata.offset}"


def _commit_past(
    admin: KafkaAdminClient, group: PipelineGroup, partition: int, offset: int, note: str
) -> None:
    from kafka import TopicPartition

    from services.cli.kafka_admin import GroupIsActiveError, commit_group_offset

    try:
        commit_group_offset(
            admin, group.group_id, TopicPartition(group.topic, partition), offset + 1, note[:1000]
        )
    except GroupIsActiveError as exc:
        raise fail(
            f"{exc}: a member joined after the check, so the commit was refused; the record is already in "
            f"the DLQ; {stop_advice(group.stage)} (a second skip writes a second letter; a replay sends one)"
        ) from exc


def _committed_offset(admin: KafkaAdminClient, group: PipelineGroup, partition: int) -> int | None:
    from services.cli.status import committed

    return committed(admin, group.group_id, group.topic).get(partition)
