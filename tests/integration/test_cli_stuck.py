"""``newswire stuck`` and ``newswire skip`` against the session's real broker.

Each test makes its own consumer group, passed to the CLI as the index stage's group through
``NEWSWIRE_INDEX_GROUP_ID`` (the variable the index service reads), commits it just before a
malformed record it writes to ``articles.enriched``, and checks what the commands show and do:
the dead letter on ``articles.dlq`` and the group's committed offsets, read back from Kafka.
"""

from __future__ import annotations

import getpass
import os
import pty
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from schemas.dead_letter import DeadLetter, FailureReason, FailureStage
from schemas.topics import TOPICS
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings

pytestmark = pytest.mark.integration

TOPIC = TOPICS.enriched
TEST_GROUP_PREFIX = "test-cli-stuck-"


def newswire(*args: str, group: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The console script, with ``group`` as the index stage's consumer group."""
    script = shutil.which("newswire")
    command = [script] if script else [sys.executable, "-m", "services.cli"]
    env = {**os.environ, "COLUMNS": "200", "NEWSWIRE_INDEX_GROUP_ID": group}
    return subprocess.run([*command, *args], input=stdin, capture_output=True, timeout=120, env=env)


@dataclass(frozen=True)
class Poison:
    group: str
    partition: int
    offset: int  # of the malformed record; the group is committed here
    value: bytes
    key: bytes
    trace_id: str
    others: dict[TopicPartition, int]  # the group's commits on the other partitions


@pytest.fixture
def admin() -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(**KafkaSettings().client_config(), client_id="test-cli-stuck")
    try:
        yield client
    finally:
        client.close()


def plant_poison(admin: KafkaAdminClient, long_trace_id: bool = False) -> Poison:
    """A malformed record with a record behind it, and a fresh group committed just before it.

    ``long_trace_id``: the record of issue 10 that killed the index service, a 200-character trace id.
    """
    run = uuid.uuid4().hex[:12]
    producer = KafkaProducer(**KafkaSettings().client_config(), acks="all")
    consumer = KafkaConsumer(**KafkaSettings().client_config(), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or ())]
        assert partitions, f"{TOPIC} does not exist"
        partition = int(run, 16) % len(partitions)
        value = f"not json at all {{ {run}".encode()
        trace_id = f"cli-stuck-{run}".ljust(200, "x") if long_trace_id else f"cli-stuck-{run}"
        headers = [(TRACE_HEADER, trace_id.encode()), ("dup", b"1"), ("dup", b"2")]
        sent = producer.send(
            TOPIC, key=f"key-{run}".encode(), value=value, headers=headers, partition=partition
        ).get(timeout=30)
        producer.send(TOPIC, value=f'{{"behind": "{run}"}}'.encode(), partition=partition).get(timeout=30)
        ends = consumer.end_offsets(partitions)
    finally:
        producer.close()
        consumer.close()
    group = f"{TEST_GROUP_PREFIX}{run}"
    others = {tp: ends[tp] for tp in partitions if tp.partition != partition}
    commits = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in others.items()}
    commits[TopicPartition(TOPIC, partition)] = OffsetAndMetadata(sent.offset, "", -1)
    assert set(admin.alter_group_offsets(group, commits).values()) == {_no_error()}
    return Poison(group, partition, sent.offset, value, f"key-{run}".encode(), trace_id, others)


def _no_error() -> Any:
    from kafka.errors import NoError

    return NoError


def committed(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    return {tp: meta.offset for tp, meta in admin.list_group_offsets({group: None})[group].items()}


def dlq_ends() -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**KafkaSettings().client_config(), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(TOPICS.dlq, p) for p in consumer.partitions_for_topic(TOPICS.dlq) or ()]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def letters_since(start: dict[TopicPartition, int]) -> list[tuple[str, DeadLetter]]:
    """Every dead letter written after ``start``, with its ``dlq/<partition>/<offset>``."""
    end = dlq_ends()
    consumer = KafkaConsumer(**KafkaSettings().client_config(), enable_auto_commit=False)
    found: list[tuple[str, DeadLetter]] = []
    try:
        consumer.assign(list(end))
        for tp in end:
            consumer.seek(tp, start.get(tp, 0))
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end[tp] for tp in end):
            assert time.monotonic() < deadline, "the DLQ could not be read to its end"
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset < end[tp] and _ours(record.value):
                        letter = DeadLetter.model_validate(orjson.loads(record.value))
                        found.append((f"dlq/{record.partition}/{record.offset}", letter))
    finally:
        consumer.close()
    return found


def _ours(value: bytes | None) -> bool:
    """Whether a DLQ record is one of this module's letters: other tests write letters (and, to test
    the services, records that are not letters) to the same DLQ at the same time."""
    try:
        letter = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return False
    source = letter.get("source_record") if isinstance(letter, dict) else None
    return isinstance(source, dict) and TEST_GROUP_PREFIX in str(letter.get("detail", ""))


def skips_of(letters: list[tuple[str, DeadLetter]], poison: Poison) -> list[tuple[str, DeadLetter]]:
    return [
        (ref, letter)
        for ref, letter in letters
        if letter.reason == FailureReason.SKIPPED_BY_OPERATOR
        and (letter.source_record.topic, letter.source_record.partition, letter.source_record.offset)
        == (TOPIC, poison.partition, poison.offset)
    ]


def partition_report(stdout: bytes, poison: Poison) -> tuple[dict[str, Any], dict[str, Any]]:
    [report] = orjson.loads(stdout)
    [entry] = [p for p in report["partitions"] if p["partition"] == poison.partition]
    return report, entry


def test_stuck_shows_the_record_and_skip_dead_letters_it_and_moves_the_group_by_one(
    admin: KafkaAdminClient,
) -> None:
    poison = plant_poison(admin)
    here = TopicPartition(TOPIC, poison.partition)
    dlq_before = dlq_ends()

    shown = newswire("stuck", "--group", poison.group, "--json", group=poison.group)

    assert shown.returncode == 0, shown.stderr.decode()
    report, entry = partition_report(shown.stdout, poison)
    assert (report["stage"], report["group_id"], report["topic"]) == ("index", poison.group, TOPIC)
    assert (report["state"], report["active"], report["members"]) == ("Empty", False, [])
    assert (entry["committed"], entry["next_offset"]) == (poison.offset, poison.offset)
    assert entry["lag"] >= 2
    record = entry["record"]
    assert record["offset"] == poison.offset
    assert (record["value"], record["size"]) == (poison.value.decode(), len(poison.value))
    assert (record["key"], record["key_size"]) == (poison.key.decode(), len(poison.key))
    assert record["headers"] == [[TRACE_HEADER, poison.trace_id], ["dup", "1"], ["dup", "2"]]

    wrong_offset = newswire(
        "skip", "--group", "index", "--partition", str(poison.partition), "--offset", str(poison.offset + 1),
        "--yes", group=poison.group,
    )  # fmt: skip
    assert wrong_offset.returncode == 2
    assert f"reads offset {poison.offset} next" in wrong_offset.stderr.decode()

    # Piped input is no confirmation, even a "y": only --yes skips without a terminal.
    unconfirmed = newswire(
        "skip", "--group", "index", "--partition", str(poison.partition), group=poison.group, stdin=b"y\n"
    )
    assert unconfirmed.returncode == 2
    assert "--yes" in unconfirmed.stderr.decode()
    assert committed(admin, poison.group)[here] == poison.offset

    reason = f"breaks the index, ticket {poison.group}"
    skipped = newswire(
        "skip", "--group", "index", "--partition", str(poison.partition), "--reason", reason, "--yes",
        "--json", group=poison.group,
    )  # fmt: skip

    assert skipped.returncode == 0, skipped.stderr.decode()
    result = orjson.loads(skipped.stdout)
    assert (result["skipped_offset"], result["committed_before"]) == (poison.offset, poison.offset)
    assert result["committed_now"] == poison.offset + 1
    after = committed(admin, poison.group)
    assert after[here] == poison.offset + 1
    assert {tp: after[tp] for tp in poison.others} == poison.others

    [(ref, letter)] = skips_of(letters_since(dlq_before), poison)
    assert ref == result["dead_letter"]
    assert (letter.stage, letter.reason) == (FailureStage.INDEX, FailureReason.SKIPPED_BY_OPERATOR)
    assert letter.payload() == poison.value
    assert (letter.payload_size, letter.payload_truncated) == (len(poison.value), False)
    source = letter.source_record
    assert source.key == poison.key.decode()
    assert source.headers[TRACE_HEADER] == poison.trace_id
    assert source.header_pairs == [(TRACE_HEADER, poison.trace_id), ("dup", "1"), ("dup", "2")]
    assert letter.trace_id == poison.trace_id
    assert reason in letter.detail
    assert f"operator {getpass.getuser()}" in letter.detail
    assert letter.producer == "newswire-cli"

    # The group now reads the record behind the skipped one.
    shown_after = newswire("stuck", "--group", "index", "--json", group=poison.group)
    assert shown_after.returncode == 0, shown_after.stderr.decode()
    _, entry_after = partition_report(shown_after.stdout, poison)
    assert entry_after["record"]["offset"] == poison.offset + 1
    assert poison.group.removeprefix(TEST_GROUP_PREFIX) in entry_after["record"]["value"]


def test_skip_is_refused_while_the_group_has_a_live_member_and_works_once_it_left(
    admin: KafkaAdminClient,
) -> None:
    poison = plant_poison(admin, long_trace_id=True)
    here = TopicPartition(TOPIC, poison.partition)
    dlq_before = dlq_ends()
    client_id = f"member-of-{poison.group}"
    member = KafkaConsumer(
        TOPIC,
        **KafkaSettings().client_config(),
        group_id=poison.group,
        client_id=client_id,
        enable_auto_commit=False,
    )
    try:
        deadline = time.monotonic() + 60
        while not member.assignment():
            assert time.monotonic() < deadline, "the member was never assigned partitions"
            member.poll(timeout_ms=500)

        shown = newswire("stuck", "--group", "index", "--json", group=poison.group)
        refused = newswire(
            "skip", "--group", "index", "--partition", str(poison.partition), "--yes", group=poison.group
        )

        assert shown.returncode == 0, shown.stderr.decode()
        report, _ = partition_report(shown.stdout, poison)
        assert report["active"] is True
        assert [m["client_id"] for m in report["members"]] == [client_id]
        assert refused.returncode == 2
        message = refused.stderr.decode()
        assert "live member" in message and client_id in message and "make down" in message
        assert "Error" not in message.replace("error:", "")  # a sentence, not a raw Kafka error
        assert committed(admin, poison.group)[here] == poison.offset
    finally:
        member.close(autocommit=False)

    assert skips_of(letters_since(dlq_before), poison) == []
    skipped = newswire(
        "skip", "--group", "index", "--partition", str(poison.partition), "--yes", group=poison.group
    )
    assert skipped.returncode == 0, skipped.stderr.decode()
    assert committed(admin, poison.group)[here] == poison.offset + 1
    [(_, letter)] = skips_of(letters_since(dlq_before), poison)
    assert letter.payload() == poison.value
    assert letter.source_record.headers[TRACE_HEADER] == poison.trace_id  # all 200 characters


def on_a_terminal(*args: str, group: str, answer: bytes) -> subprocess.CompletedProcess[bytes]:
    """The console script with a terminal (a pseudo-terminal) as stdin, typing ``answer``."""
    script = shutil.which("newswire")
    command = [script] if script else [sys.executable, "-m", "services.cli"]
    env = {**os.environ, "COLUMNS": "200", "NEWSWIRE_INDEX_GROUP_ID": group}
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer)  # held by the terminal until the prompt reads it
        return subprocess.run([*command, *args], stdin=terminal, capture_output=True, timeout=120, env=env)
    finally:
        os.close(terminal)
        os.close(controller)


def test_skip_on_a_terminal_asks_and_does_nothing_unless_the_answer_is_yes(
    admin: KafkaAdminClient,
) -> None:
    poison = plant_poison(admin)
    here = TopicPartition(TOPIC, poison.partition)
    args = ("skip", "--group", "index", "--partition", str(poison.partition))
    dlq_before = dlq_ends()

    declined = on_a_terminal(*args, group=poison.group, answer=b"n\n")

    assert declined.returncode == 1, declined.stderr.decode()
    assert f"Dead-letter offset {poison.offset} of {TOPIC}/{poison.partition}" in declined.stderr.decode()
    assert "nothing changed" in declined.stderr.decode()
    assert committed(admin, poison.group)[here] == poison.offset

    accepted = on_a_terminal(*args, group=poison.group, answer=b"y\n")

    assert accepted.returncode == 0, accepted.stderr.decode()
    assert committed(admin, poison.group)[here] == poison.offset + 1
    assert len(skips_of(letters_since(dlq_before), poison)) == 1  # the declined run wrote none
