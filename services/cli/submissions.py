"""Turning files and stdin into ``articles.raw`` messages: discovery and message building, no I/O to Kafka.

Text and HTML go out byte for byte (ingest finds the structure); JSON is parsed here only to split
arrays and JSON Lines into one message per article and to report syntax errors before sending.
Whether an object is a valid article is ingest's decision (invalid ones end up on the DLQ).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import orjson

from services.runtime.messages import TRACE_HEADER

CONTENT_TYPE_HEADER = "content-type"
SOURCE_FILE_HEADER = "newswire-source-file"
STDIN_NAME = "<stdin>"


class InputFormat(StrEnum):
    """How a file's content is turned into messages."""

    TEXT = "text"
    HTML = "html"
    JSON = "json"
    JSONL = "jsonl"


CONTENT_TYPES: dict[InputFormat, str] = {
    InputFormat.TEXT: "text/plain",
    InputFormat.HTML: "text/html",
    InputFormat.JSON: "application/json",
    InputFormat.JSONL: "application/json",
}

FORMATS_BY_SUFFIX: dict[str, InputFormat] = {
    ".txt": InputFormat.TEXT,
    ".text": InputFormat.TEXT,
    ".html": InputFormat.HTML,
    ".htm": InputFormat.HTML,
    ".json": InputFormat.JSON,
    ".jsonl": InputFormat.JSONL,
    ".ndjson": InputFormat.JSONL,
}

TraceIds = Callable[[], str]


def new_trace_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class OutgoingMessage:
    """One record for ``articles.raw``; ``origin`` says where it came from (``file.jsonl:3``)."""

    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    trace_id: str
    origin: str


@dataclass(frozen=True)
class PreparedSource:
    """What one file (or stdin) yields.

    ``problems`` are records that could not be read, each message starting with where the record is
    (they count as failed sends); ``skipped`` is set when the whole source was left out on purpose
    (unknown extension, empty file).
    """

    name: str
    messages: tuple[OutgoingMessage, ...] = ()
    problems: tuple[str, ...] = ()
    skipped: str | None = None


def format_for(path: Path) -> InputFormat | None:
    """The format implied by a file's extension, ``None`` when the extension is not known."""
    return FORMATS_BY_SUFFIX.get(path.suffix.lower())


def discover_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The given files, plus every file below the given directories (sorted, hidden entries left out).

    Paths that do not exist are yielded as they are so that the caller reports them.
    """
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in relative.parts):
                    yield child
        else:
            yield path


def sniff_format(data: bytes) -> InputFormat:
    """Guess the format of stdin: JSON if it parses, JSON Lines if it starts like JSON, else HTML or text."""
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError:
            return InputFormat.JSONL
        return InputFormat.JSON
    if stripped[:1] == b"<":
        return InputFormat.HTML
    return InputFormat.TEXT


def prepare_file(
    path: Path, forced: InputFormat | None = None, trace_ids: TraceIds = new_trace_id
) -> PreparedSource:
    """Read one file and build its messages; unknown extensions are skipped unless a format is forced."""
    fmt = forced or format_for(path)
    if fmt is None:
        return PreparedSource(
            name=str(path),
            skipped=f"unknown extension {path.suffix or '(none)'!r}; use --format to force one",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        return PreparedSource(name=str(path), problems=(f"{path}: cannot read: {exc.strerror or exc}",))
    return prepare_bytes(data, fmt, source_name=path.name, display_name=str(path), trace_ids=trace_ids)


def prepare_bytes(
    data: bytes,
    fmt: InputFormat,
    source_name: str,
    display_name: str | None = None,
    trace_ids: TraceIds = new_trace_id,
) -> PreparedSource:
    """Build the messages of one source's content; ``source_name`` goes into the source-file header."""
    name = display_name or source_name
    if not data.strip():
        return PreparedSource(name=name, skipped="empty")

    def message(value: bytes, origin: str) -> OutgoingMessage:
        trace_id = trace_ids()
        headers = (
            (CONTENT_TYPE_HEADER, CONTENT_TYPES[fmt].encode()),
            (TRACE_HEADER, trace_id.encode()),
            (SOURCE_FILE_HEADER, source_name.encode("utf-8", "replace")),
        )
        return OutgoingMessage(value=value, headers=headers, trace_id=trace_id, origin=origin)

    if fmt in (InputFormat.TEXT, InputFormat.HTML):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return PreparedSource(name=name, problems=(f"{name}: not UTF-8 (byte {exc.start})",))
        return PreparedSource(name=name, messages=(message(data, name),))

    if fmt is InputFormat.JSON:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return PreparedSource(name=name, problems=(f"{name}: invalid JSON: {exc}",))
        items = parsed if isinstance(parsed, list) else [parsed]
        messages: list[OutgoingMessage] = []
        problems: list[str] = []
        for index, item in enumerate(items):
            origin = f"{name}[{index}]" if isinstance(parsed, list) else name
            if isinstance(item, dict):
                messages.append(message(orjson.dumps(item), origin))
            else:
                problems.append(f"{origin}: expected a JSON object, got {type(item).__name__}")
        if not items:
            return PreparedSource(name=name, skipped="empty JSON array")
        return PreparedSource(name=name, messages=tuple(messages), problems=tuple(problems))

    messages = []
    problems = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{name}:{number}"
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{origin}: invalid JSON: {exc}")
            continue
        if isinstance(item, dict):
            messages.append(message(orjson.dumps(item), origin))
        else:
            problems.append(f"{origin}: expected a JSON object, got {type(item).__name__}")
    return PreparedSource(name=name, messages=tuple(messages), problems=tuple(problems))
