"""``newswire publish`` against a stand-in producer: acks, failures, summary and exit codes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from typer.testing import CliRunner

from services.cli.main import app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@dataclass
class Metadata:
    partition: int
    offset: int


class FakeFuture:
    def __init__(self, value: Metadata | None = None, exception: Exception | None = None) -> None:
        self.value = value
        self.exception = exception
        self.is_done = value is not None or exception is not None

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def add_both(self, callback: Callable[[Any], Any]) -> FakeFuture:
        if self.is_done:
            callback(self.value or self.exception)
        return self


class FakeProducer:
    """Acks every record except those whose value contains one of ``reject`` (failed ack)."""

    def __init__(self, reject: tuple[bytes, ...] = ()) -> None:
        self.reject = reject
        self.sent: list[dict[str, Any]] = []
        self.flushed = False
        self.closed = False

    def send(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> FakeFuture:
        if b"too large" in value:
            raise MessageSizeTooLargeError("record is too large")
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers)})
        if any(marker in value for marker in self.reject):
            return FakeFuture(exception=KafkaTimeoutError("no ack"))
        return FakeFuture(Metadata(partition=0, offset=len(self.sent) - 1))

    def flush(self, timeout: float | None = None) -> None:
        self.flushed = True

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    fake = FakeProducer(reject=(b"rejected",))
    monkeypatch.setattr("services.cli.kafka_admin.existing_topics", lambda settings: {"articles.raw"})
    monkeypatch.setattr("services.runtime.kafka.make_producer", lambda settings, client_id, **overrides: fake)
    return fake


def test_every_message_is_sent_with_headers_and_flushed(producer: FakeProducer, tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("Putin, Xi meet in Astana")
    (tmp_path / "feed.jsonl").write_text('{"title": "A", "body": "a"}\n{"title": "B", "body": "b"}\n')

    result = runner.invoke(app, ["publish", str(tmp_path), "--key", "k1", "--json"])

    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert (summary["sent"], summary["failed"], summary["skipped"]) == (3, 0, 0)
    assert [m["trace_id"] for m in summary["messages"]] == [
        sent["headers"]["newswire-trace-id"].decode() for sent in producer.sent
    ]
    assert {sent["topic"] for sent in producer.sent} == {"articles.raw"}
    assert {sent["key"] for sent in producer.sent} == {b"k1"}
    assert producer.flushed and producer.closed


def test_failed_acks_and_send_errors_are_counted_and_exit_1(producer: FakeProducer, tmp_path: Path) -> None:
    lines = ['{"title": "ok", "body": "fine"}', '{"title": "rejected"}', '{"title": "too large"}']
    (tmp_path / "feed.jsonl").write_text("\n".join(lines))

    result = runner.invoke(app, ["publish", str(tmp_path / "feed.jsonl"), "--json"])

    assert result.exit_code == 1
    summary = orjson.loads(result.stdout)
    assert (summary["sent"], summary["failed"]) == (1, 2)
    statuses = {m["origin"].rsplit(":", 1)[1]: (m["status"], m["error"]) for m in summary["messages"]}
    assert statuses["1"] == ("sent", None)
    assert statuses["2"][0] == "failed" and "KafkaTimeoutError" in statuses["2"][1]
    assert statuses["3"][0] == "failed" and "MessageSizeTooLargeError" in statuses["3"][1]


def test_summary_line_counts_sent_failed_and_skipped(producer: FakeProducer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("article text")
    (tmp_path / "b.json").write_text("{broken")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")

    result = runner.invoke(app, ["publish", str(tmp_path)])

    assert result.exit_code == 1
    assert "sent 1, failed 1, skipped 1" in result.stdout
    assert "c.pdf" in result.stderr and "b.json" in result.stderr


def test_stdin_is_sniffed(producer: FakeProducer) -> None:
    result = runner.invoke(app, ["publish", "-"], input='{"title": "From a pipe", "body": "text"}')

    assert result.exit_code == 0, result.output
    [sent] = producer.sent
    assert orjson.loads(sent["value"]) == {"title": "From a pipe", "body": "text"}
    assert sent["headers"]["content-type"] == b"application/json"
    assert sent["headers"]["newswire-source-file"] == b"<stdin>"


def test_missing_topic_is_an_error_before_anything_is_sent(
    producer: FakeProducer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.cli.kafka_admin.existing_topics", lambda settings: set())
    (tmp_path / "a.txt").write_text("article text")

    result = runner.invoke(app, ["publish", str(tmp_path / "a.txt"), "--topic", "articles.typo"])

    assert result.exit_code == 2
    assert "articles.typo" in result.stderr and "newswire topics create" in result.stderr
    assert producer.sent == []
