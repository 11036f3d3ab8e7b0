"""Topic names, their partitioning contract and their configs (retention, compaction)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DAY_MS = 24 * 60 * 60 * 1000
#: Articles can be large (the contract allows 2M characters of body): 16 MiB, like the producers.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Topics:
    """The pipeline's topics, in flow order.

    Every event is keyed by the article id (bytes of the UTF-8 string) from ``articles.ingested``
    on, so all events about one article land in one partition and stay ordered. ``articles.raw``
    accepts unkeyed messages from outside publishers.

    ``articles.ingested`` is the archive, the source of truth everything else can be rebuilt from:
    compacted by key, it keeps the latest revision of every article forever (see :data:`TOPIC_CONFIGS`).
    """

    raw: str = "articles.raw"
    ingested: str = "articles.ingested"
    enriched: str = "articles.enriched"
    dlq: str = "articles.dlq"
    #: One event per (watch, article) the alert service matched (schemas/watches.py), keyed
    #: ``<watch id>:<article id>``.
    alerts: str = "articles.alerts"

    def all(self) -> tuple[str, ...]:
        return (self.raw, self.ingested, self.enriched, self.dlq, self.alerts)


TOPICS = Topics()

#: A reprocess run's topic is ``articles.reprocess.<run id>`` (services/reprocess): enriched articles
#: on their way to the index version the run builds. Created and deleted by the run, with a week's
#: retention; not a pipeline topic.
REPROCESS_TOPIC_PREFIX = "articles.reprocess."

_WEEK = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}

#: Broker configs of each pipeline topic: the one definition that ``newswire topics create``, the
#: services' start-up, ``make up``, compose (through ``newswire topics create``) and the Kubernetes
#: KafkaTopic manifests (checked by tests/unit/test_k8s.py) all apply. An existing topic whose
#: configs differ is altered in place, key by key, at start-up (``services.runtime.kafka.ensure_topics``).
#: ``min.insync.replicas`` depends on the topic's replication factor: :func:`topic_configs` adds it.
TOPIC_CONFIGS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        # Submissions as publishers sent them: ingest's input, replayable for a week.
        TOPICS.raw: MappingProxyType({**_WEEK, "max.message.bytes": str(MAX_MESSAGE_BYTES)}),
        # The archive: one record per article id, its latest revision, kept forever. Compaction never
        # touches the active segment; a day per segment lets superseded revisions go within a day or
        # two instead of the default week. A record stays uncompacted for at least a day, so a live
        # consumer (enrich) that is less than a day behind still sees every revision, and one that is
        # further behind skips only revisions that a newer one of the same article replaced.
        # gzip, as ingest's producer sends it (so the broker keeps its batches as they are), whoever
        # writes: 1.3 kB per BBC article, zstd no smaller, lz4 1.9 kB, none 3.2 kB (README: The archive).
        TOPICS.ingested: MappingProxyType(
            {
                "cleanup.policy": "compact",
                "compression.type": "gzip",
                "retention.ms": "-1",
                "retention.bytes": "-1",
                "min.compaction.lag.ms": str(DAY_MS),
                "segment.ms": str(DAY_MS),
                "max.message.bytes": str(MAX_MESSAGE_BYTES),
            }
        ),
        # Derived from the archive by enrich: rebuilt by reprocessing, so a week is enough.
        TOPICS.enriched: MappingProxyType({**_WEEK, "max.message.bytes": str(MAX_MESSAGE_BYTES)}),
        # Alerts, derived from enriched articles and the watches: replayable for a week, like them.
        TOPICS.alerts: MappingProxyType({**_WEEK, "max.message.bytes": str(MAX_MESSAGE_BYTES)}),
        # Dead letters wait a month for someone to look at (and replay) them.
        TOPICS.dlq: MappingProxyType(
            {
                "cleanup.policy": "delete",
                "retention.ms": str(30 * DAY_MS),
                "max.message.bytes": str(MAX_MESSAGE_BYTES),
            }
        ),
    }
)


def min_insync_replicas(replication_factor: int) -> int:
    """How many replicas must have a record before an ``acks=all`` write of it is acknowledged.

    Two from two replicas on: an acknowledged record is on two brokers, so losing any one broker
    loses nothing, and with three replicas one broker can be down (restarted, frozen) while writes
    go on. A single replica can only ask for itself.
    """
    return 1 if replication_factor <= 1 else 2


def topic_configs(name: str, replication_factor: int | None = None) -> Mapping[str, str]:
    """The broker configs ``name`` is created (and kept) with; empty for a topic not the pipeline's.

    With the topic's ``replication_factor``, also its ``min.insync.replicas``
    (:func:`min_insync_replicas`): that one depends on the cluster, the rest of :data:`TOPIC_CONFIGS`
    does not.
    """
    configs = TOPIC_CONFIGS.get(name)
    if configs is None:
        return MappingProxyType({})
    if replication_factor is None:
        return configs
    return MappingProxyType({**configs, "min.insync.replicas": str(min_insync_replicas(replication_factor))})
