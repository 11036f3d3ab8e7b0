"""min.insync.replicas follows a topic's replication factor; the rest of its configs do not."""

from __future__ import annotations

import pytest

from schemas.topics import TOPIC_CONFIGS, TOPICS, min_insync_replicas, topic_configs


@pytest.mark.parametrize(("replication_factor", "wanted"), [(1, "1"), (2, "2"), (3, "2"), (5, "2")])
def test_min_insync_replicas_by_replication_factor(replication_factor: int, wanted: str) -> None:
    for topic in TOPICS.all():
        configs = topic_configs(topic, replication_factor)
        assert configs["min.insync.replicas"] == wanted == str(min_insync_replicas(replication_factor))
        assert {key: value for key, value in configs.items() if key != "min.insync.replicas"} == dict(
            TOPIC_CONFIGS[topic]
        )


def test_without_a_replication_factor_only_the_cluster_independent_configs() -> None:
    assert topic_configs(TOPICS.ingested) == TOPIC_CONFIGS[TOPICS.ingested]
    assert "min.insync.replicas" not in topic_configs(TOPICS.ingested)


def test_topics_not_the_pipelines_get_no_configs() -> None:
    assert dict(topic_configs("articles.reprocess.x", 3)) == {}
