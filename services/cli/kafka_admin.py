"""Short questions to the broker (which topics exist, partitions, end offsets, consumer groups), and the
one write the CLI makes to a group: an operator's offset commit past a record (``newswire skip``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.runtime.settings import KafkaSettings

#: A person waiting at a terminal should learn quickly that the broker is not there.
CONNECT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    internal: bool = False
    end_offsets: dict[int, int] = field(default_factory=dict)

    @property
    def messages_written(self) -> int:
        """Sum of the partitions' end offsets: records ever written (retention may have removed some)."""
        return sum(self.end_offsets.values())


def quick_client_config(settings: KafkaSettings) -> dict[str, Any]:
    return {**settings.client_config(), "bootstrap_timeout_ms": CONNECT_TIMEOUT_MS}


def existing_topics(settings: KafkaSettings) -> set[str]:
    """Topic names on the broker, asked without side effects (a producer's lookup could auto-create one)."""
    admin = KafkaAdminClient(**quick_client_config(settings), client_id="newswire-cli")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def describe_topics(settings: KafkaSettings, names: list[str] | None = None) -> list[TopicInfo]:
    """Partition counts and end offsets of the named topics (all topics when ``names`` is None), by name."""
    admin = KafkaAdminClient(**quick_client_config(settings), client_id="newswire-cli")
    try:
        wanted = sorted(names if names is not None else admin.list_topics())
        described = admin.describe_topics(wanted) if wanted else []
    finally:
        admin.close()
    partitions = {
        entry["name"]: (
            [p["partition_index"] for p in entry["partitions"]],
            bool(entry.get("is_internal")),
        )
        for entry in described
        if entry.get("error_code", 0) == 0
    }
    offsets: dict[TopicPartition, int] = {}
    topic_partitions = [
        TopicPartition(name, index) for name, (indexes, _) in partitions.items() for index in indexes
    ]
    if topic_partitions:
        consumer = KafkaConsumer(
            **quick_client_config(settings), client_id="newswire-cli", allow_auto_create_topics=False
        )
        try:
            offsets = consumer.end_offsets(topic_partitions)
        finally:
            consumer.close()
    return [
        TopicInfo(
            name=name,
            partitions=len(indexes),
            internal=internal,
            end_offsets={index: offsets.get(TopicPartition(name, index), 0) for index in sorted(indexes)},
        )
        for name, (indexes, internal) in sorted(partitions.items())
    ]


#: Group states in which the group has (or is gathering) members: Kafka refuses commits from outside then.
ACTIVE_GROUP_STATES = frozenset(
    {"Stable", "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling"}
)


class GroupIsActiveError(Exception):
    """The consumer group has live members, so the broker refuses offset commits from outside it."""


@dataclass(frozen=True)
class GroupMember:
    """One live member of a consumer group and the partitions it was assigned, by topic."""

    member_id: str
    client_id: str
    host: str
    partitions: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    members: tuple[GroupMember, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.members) or self.state in ACTIVE_GROUP_STATES


@contextmanager
def admin_client(settings: KafkaSettings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(**quick_client_config(settings), client_id="newswire-cli")
    try:
        yield admin
    finally:
        admin.close()


def describe_group(admin: KafkaAdminClient, group_id: str) -> GroupDescription:
    """The group's state (``Dead`` when it does not exist) and its live members."""
    described = admin.describe_groups([group_id]).get(group_id) or {}
    members = tuple(_member(entry) for entry in described.get("members") or ())
    return GroupDescription(group_id, str(described.get("group_state") or "Unknown"), members)


def _member(entry: dict[str, Any]) -> GroupMember:
    assignment = entry.get("member_assignment")
    partitions: dict[str, tuple[int, ...]] = {}
    # kafka-python leaves the assignment as bytes when it is not the standard consumer protocol's.
    if isinstance(assignment, dict):
        for topic in assignment.get("assigned_partitions") or ():
            partitions[str(topic["topic"])] = tuple(sorted(topic["partitions"]))
    return GroupMember(
        member_id=str(entry.get("member_id") or ""),
        client_id=str(entry.get("client_id") or ""),
        host=str(entry.get("client_host") or "").lstrip("/"),
        partitions=partitions,
    )


def commit_group_offset(
    admin: KafkaAdminClient, group_id: str, partition: TopicPartition, offset: int, metadata: str
) -> None:
    """Set ``group_id``'s committed offset on ``partition``, as a commit from outside the group.

    Raises :class:`GroupIsActiveError` when the broker refuses because the group has live members
    (it only takes such commits from the members themselves), any other ``KafkaError`` as is.
    """
    from kafka.errors import (
        IllegalGenerationError,
        NoError,
        RebalanceInProgressError,
        UnknownMemberIdError,
    )

    result = admin.alter_group_offsets(group_id, {partition: OffsetAndMetadata(offset, metadata, -1)})
    error = result.get(partition, NoError)
    if error is NoError:
        return
    if error in (UnknownMemberIdError, IllegalGenerationError, RebalanceInProgressError):
        raise GroupIsActiveError(f"{group_id} has live members ({error.__name__})")
    raise error(f"committing {group_id} at {partition.topic}/{partition.partition} offset {offset}")
