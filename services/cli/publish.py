"""``newswire publish``: send files, directories or stdin to ``articles.raw`` and wait for the acks."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from schemas.topics import TOPICS
from services.cli.state import err, fail, out, state_of
from services.cli.submissions import (
    STDIN_NAME,
    InputFormat,
    OutgoingMessage,
    PreparedSource,
    discover_files,
    prepare_bytes,
    prepare_file,
    sniff_format,
)
from services.runtime.settings import KafkaSettings

#: Below this many messages a progress bar is more noise than help.
PROGRESS_THRESHOLD = 5


@dataclass
class SendResult:
    message: OutgoingMessage
    partition: int | None = None
    offset: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.offset is not None


@dataclass
class PublishReport:
    topic: str
    results: list[SendResult] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(result.ok for result in self.results)

    @property
    def failed(self) -> int:
        return sum(not result.ok for result in self.results) + len(self.invalid)

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": len(self.skipped),
            "messages": [
                {
                    "trace_id": result.message.trace_id,
                    "origin": result.message.origin,
                    "status": "sent" if result.ok else "failed",
                    "partition": result.partition,
                    "offset": result.offset,
                    "error": result.error,
                }
                for result in self.results
            ],
            "invalid": [{"source": source, "error": error} for source, error in self.invalid],
            "skipped_sources": [{"source": source, "reason": reason} for source, reason in self.skipped],
        }


def gather_sources(paths: list[Path], use_stdin: bool, forced: InputFormat | None) -> list[PreparedSource]:
    """Every source named on the command line, read and turned into messages (``-`` reads stdin once)."""
    sources = [
        prepare_file(path, forced)
        if path.exists()
        else PreparedSource(name=str(path), problems=(f"{path}: no such file or directory",))
        for path in discover_files(p for p in paths if str(p) != "-")
    ]
    if use_stdin or any(str(p) == "-" for p in paths):
        data = sys.stdin.buffer.read()
        sources.append(prepare_bytes(data, forced or sniff_format(data), source_name=STDIN_NAME))
    return sources


def publish(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or directories (searched recursively) to publish; '-' reads stdin.",
            show_default=False,
        ),
    ] = None,
    topic: Annotated[str, typer.Option(help="Topic to publish to.")] = TOPICS.raw,
    key: Annotated[
        str | None, typer.Option(help="Kafka key for every message (default: none, spread over partitions).")
    ] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read one source from stdin (same as '-').")] = False,
    input_format: Annotated[
        InputFormat | None,
        typer.Option(
            "--format",
            help="Treat every source as this format instead of going by the extension "
            "(stdin is sniffed when not given).",
            case_sensitive=False,
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the broker's acks.", min=1)] = 60.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary with every message's trace id.")
    ] = False,
) -> None:
    """Publish articles: .txt (raw page text), .html/.htm, .json (object or array) and .jsonl files."""
    paths = paths or []
    if not paths and not stdin:
        raise typer.BadParameter("give at least one PATH, '-' or --stdin", param_hint="PATHS")

    report = PublishReport(topic=topic)
    sources = gather_sources(paths, stdin, input_format)
    messages: list[OutgoingMessage] = []
    for source in sources:
        if source.skipped:
            report.skipped.append((source.name, source.skipped))
            err.print(f"[yellow]skipped[/] {escape(source.name)}: {escape(source.skipped)}")
        for problem in source.problems:
            report.invalid.append((source.name, problem))
            err.print(f"[red]invalid[/] {escape(problem)}")
        messages.extend(source.messages)

    if messages:
        report.results = send_all(state_of(ctx).kafka(), topic, messages, key, timeout)

    if as_json:
        out.print_json(orjson.dumps(report.as_json()).decode())
    else:
        for result in report.results:
            if not result.ok:
                err.print(f"[red]failed[/] {escape(result.message.origin)}: {escape(result.error or '')}")
        colour = "red" if report.failed else "green"
        out.print(
            f"[{colour}]sent {report.sent}, failed {report.failed}, skipped {len(report.skipped)}[/]"
            f" → {escape(topic)}"
        )
    if report.failed:
        raise typer.Exit(1)


def send_all(
    settings: KafkaSettings, topic: str, messages: list[OutgoingMessage], key: str | None, timeout: float
) -> list[SendResult]:
    """Send every message, flush, and report each one's partition/offset or error."""
    from kafka.errors import KafkaError

    from services.cli.kafka_admin import CONNECT_TIMEOUT_MS, existing_topics
    from services.runtime.kafka import make_producer

    try:
        if topic not in existing_topics(settings):
            raise fail(
                f"topic {topic!r} does not exist on {settings.bootstrap_servers}; "
                "create the pipeline topics with `newswire topics create`"
            )
        producer = make_producer(
            settings,
            client_id="newswire-cli",
            # The topic was checked above; never let a typo'd --topic create a one-partition topic.
            allow_auto_create_topics=False,
            bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
            max_block_ms=int(timeout * 1000),
        )
    except (KafkaError, OSError) as exc:
        raise fail(f"Kafka is not reachable at {settings.bootstrap_servers}: {exc}") from exc

    encoded_key = key.encode() if key is not None else None
    results = [SendResult(message) for message in messages]
    futures: list[Any] = []  # one per result; None where send() itself failed
    progress = Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=len(messages) <= PROGRESS_THRESHOLD or not err.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task("publishing", total=len(messages))
            for result in results:
                try:
                    future = producer.send(
                        topic,
                        value=result.message.value,
                        key=encoded_key,
                        headers=list(result.message.headers),
                    )
                except KafkaError as exc:
                    result.error = f"{type(exc).__name__}: {exc}"
                    progress.advance(task)
                    futures.append(None)
                    continue
                future.add_both(lambda _outcome: progress.advance(task))
                futures.append(future)
            try:
                producer.flush(timeout=timeout)
            except KafkaError as exc:
                err.print(
                    f"[red]not every message was acknowledged within {timeout:.0f}s:[/] {escape(str(exc))}"
                )
    finally:
        producer.close(timeout=5)

    for result, future in zip(results, futures, strict=True):
        if future is None:
            continue
        if not future.is_done:
            result.error = f"no acknowledgement within {timeout:.0f}s"
        elif future.succeeded():
            metadata = future.value
            result.partition, result.offset = metadata.partition, metadata.offset
        else:
            result.error = f"{type(future.exception).__name__}: {future.exception}"
    return results
