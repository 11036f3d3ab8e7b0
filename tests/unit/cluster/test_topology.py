"""Aiming the faults: the busiest leader, under-replicated partitions, the primary shard's node."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.topology import (
    busiest_leader,
    leader_counts,
    primary_shard_node,
    shard_copies,
    under_replicated,
)


def topic(name: str, *partitions: tuple[int, list[int], list[int]]) -> dict[str, Any]:
    """A describe_topics entry; each partition is (leader, replicas, isr)."""
    return {
        "name": name,
        "partitions": [
            {"partition_index": n, "leader_id": leader, "replica_nodes": replicas, "isr_nodes": isr}
            for n, (leader, replicas, isr) in enumerate(partitions)
        ],
    }


ALL = [1, 2, 3]
CLUSTER = [
    topic("articles.raw", (1, ALL, ALL), (2, ALL, ALL), (2, ALL, ALL)),
    topic("articles.enriched", (3, ALL, ALL), (2, ALL, ALL), (-1, ALL, [])),
    topic("__consumer_offsets", *[(1, ALL, ALL)] * 5, (3, ALL, ALL)),
]


def test_leaders_are_counted_per_broker_and_a_leaderless_partition_is_nobodys() -> None:
    assert leader_counts(CLUSTER, ["articles.raw", "articles.enriched"]) == {1: 1, 2: 3, 3: 1}
    assert leader_counts(CLUSTER) == {1: 6, 2: 3, 3: 2}


def test_the_busiest_leader_is_counted_on_the_data_path_first() -> None:
    pipeline = ["articles.raw", "articles.enriched"]
    assert busiest_leader(CLUSTER, pipeline) == 2  # not 1, which leads more offsets partitions
    assert busiest_leader(CLUSTER, pipeline, exclude=[2]) == 1  # tie 1:1, broken by overall count
    assert busiest_leader(CLUSTER, ["articles.ingested"]) == 1  # no such topic: overall count
    even = [topic("articles.raw", (3, ALL, ALL), (2, ALL, ALL))]
    assert busiest_leader(even, ["articles.raw"]) == 2  # a full tie: the lowest id
    with pytest.raises(LookupError):
        busiest_leader([topic("articles.raw", (-1, ALL, []))], ["articles.raw"])


def test_under_replicated_lists_short_isrs_and_partitions_without_a_leader() -> None:
    cluster = [
        topic("articles.raw", (1, ALL, [1, 3]), (2, ALL, [3, 2, 1])),
        topic("articles.dlq", (-1, ALL, ALL)),
    ]
    assert under_replicated(cluster) == [
        "articles.dlq/0 (leader -1, isr [1, 2, 3] of [1, 2, 3])",
        "articles.raw/0 (leader 1, isr [1, 3] of [1, 2, 3])",
    ]
    assert under_replicated(CLUSTER[:1]) == []


def shard(prirep: str, node: str | None, state: str = "STARTED", number: int = 0) -> dict[str, Any]:
    return {"index": "articles-v1", "shard": str(number), "prirep": prirep, "state": state, "node": node}


def test_the_primary_shard_node_is_the_one_with_the_started_primary() -> None:
    rows = [shard("r", "newswire-cluster-1"), shard("p", "newswire-cluster-3")]
    assert primary_shard_node(rows) == "newswire-cluster-3"
    with pytest.raises(LookupError):
        primary_shard_node([shard("p", None, "UNASSIGNED"), shard("r", "newswire-cluster-2")])
    several = [shard("p", "n-1", number=0), shard("p", "n-2", number=1), shard("p", "n-2", number=2)]
    assert primary_shard_node(several) == "n-2"


def test_shard_copies_counts_each_state() -> None:
    rows = [shard("p", "n-1"), shard("r", None, "UNASSIGNED"), shard("r", "n-2", "INITIALIZING")]
    assert shard_copies(rows) == {"STARTED": 1, "UNASSIGNED": 1, "INITIALIZING": 1}
