"""Where things are on the cluster: partition leaders, in-sync replicas, the index's primary shard.

The fault suite aims its faults from what the cluster reports, not from a fixed node: the broker
that leads the most partitions (Kafka metadata), the Elasticsearch node that holds the primary
shard (``_cat/shards``). The pure functions read the answers; the few functions below them ask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: A topic as kafka-python's ``KafkaAdminClient.describe_topics`` returns it (a Metadata response):
#: ``{"name": ..., "partitions": [{"partition_index", "leader_id", "replica_nodes", "isr_nodes"}]}``.
TopicMetadata = Mapping[str, Any]


def leader_counts(topics: Iterable[TopicMetadata], only: Iterable[str] | None = None) -> Counter[int]:
    """Partitions led per broker id, over ``only`` these topics (all when None); no leader is skipped."""
    wanted = set(only) if only is not None else None
    counts: Counter[int] = Counter()
    for topic in topics:
        if wanted is not None and topic.get("name") not in wanted:
            continue
        for partition in topic.get("partitions") or ():
            leader = partition.get("leader_id", -1)
            if leader is not None and leader >= 0:
                counts[leader] += 1
    return counts


def busiest_leader(
    topics: Sequence[TopicMetadata], preferred: Iterable[str], exclude: Iterable[int] = ()
) -> int:
    """The broker that leads the most partitions of the ``preferred`` topics (the data path).

    Ties go to whoever leads more partitions over all topics (``__consumer_offsets`` included:
    group coordinators), then to the lowest id. Brokers in ``exclude`` are never chosen.
    """
    excluded = set(exclude)
    on_path = leader_counts(topics, preferred)
    overall = leader_counts(topics)
    candidates = [broker for broker in set(on_path) | set(overall) if broker not in excluded]
    if not candidates:
        raise LookupError("no broker leads any partition")
    return max(candidates, key=lambda broker: (on_path[broker], overall[broker], -broker))


def under_replicated(topics: Iterable[TopicMetadata]) -> list[str]:
    """``topic/partition`` with fewer in-sync replicas than replicas, or without a leader."""
    found = []
    for topic in topics:
        for partition in topic.get("partitions") or ():
            replicas = list(partition.get("replica_nodes") or ())
            isr = set(partition.get("isr_nodes") or ())
            leader = partition.get("leader_id", -1)
            if leader is None or leader < 0 or not set(replicas) <= isr:
                found.append(
                    f"{topic.get('name')}/{partition.get('partition_index')} "
                    f"(leader {leader}, isr {sorted(isr)} of {replicas})"
                )
    return sorted(found)


def primary_shard_node(shards: Iterable[Mapping[str, Any]]) -> str:
    """The node holding the index's primary shard (with several shards: the most primaries).

    ``shards`` are ``_cat/shards?format=json`` rows: ``prirep`` is ``p`` or ``r``, ``state``
    ``STARTED`` once the copy is usable, ``node`` the node's name.
    """
    primaries: Counter[str] = Counter(
        str(row["node"])
        for row in shards
        if row.get("prirep") == "p" and row.get("state") == "STARTED" and row.get("node")
    )
    if not primaries:
        raise LookupError("no started primary shard")
    return max(sorted(primaries), key=lambda node: primaries[node])


def shard_copies(shards: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many copies are in each state (``STARTED``, ``INITIALIZING``, ``UNASSIGNED`` ...)."""
    return dict(Counter(str(row.get("state")) for row in shards))


# -- asking the cluster -----------------------------------------------------------------------------


def describe_topics(admin: Any) -> list[dict[str, Any]]:
    """Every topic's partitions with leader, replicas and ISR (``admin``: a KafkaAdminClient)."""
    return list(admin.describe_topics())


def primary_node_of(es: Any, index: str) -> str:
    """The name of the node holding ``index``'s primary shard (``es``: an Elasticsearch client)."""
    rows = es.cat.shards(index=index, format="json")
    return primary_shard_node(list(rows.body if hasattr(rows, "body") else rows))
