"""Kafka clients built from settings, topic creation, and bounded waits for the broker."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import TopicPartition

from services.runtime.diagnose import AccessRefused, capture_kafka_errors, diagnose_kafka
from services.runtime.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)

T = TypeVar("T")


def while_broker_restarts(settings: KafkaSettings, what: str, build: Callable[[], T]) -> T:
    """``build()``, retried while the broker cannot be reached, for up to ``startup_timeout_s``.

    A service (re)starting while the broker restarts must wait for it, not crash: a broker that
    answered :func:`wait_for_broker` can be gone again by the time the clients connect.
    """
    deadline = time.monotonic() + settings.startup_timeout_s
    delay = 0.5
    while True:
        try:
            return build()
        except (KafkaError, OSError) as exc:
            retriable = isinstance(exc, OSError) or getattr(exc, "retriable", False)
            if not retriable or time.monotonic() >= deadline:
                raise
            log.info("Kafka unavailable, retrying", extra={"what": what, "error": repr(exc)})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


#: What every producer of the project writes with (``make_producer``; faust's in enrich/producer.py).
PRODUCER_DURABILITY: dict[str, Any] = {
    # Acknowledged only once every in-sync replica has the record (at least min.insync.replicas
    # of them: schemas/topics.py), so a leader that fails after acknowledging loses nothing.
    "acks": "all",
    # The broker drops a retried batch it already wrote (producer id + sequence numbers): a retry
    # after a lost acknowledgement (leader change, broker restart) duplicates nothing.
    "enable_idempotence": True,
}


def make_producer(settings: KafkaSettings, client_id: str, **overrides: Any) -> KafkaProducer:
    """A producer that does not lose acknowledged messages: all in-sync replicas ack, retries on,
    idempotent (a retry never writes a record twice)."""
    config: dict[str, Any] = {
        **settings.client_config(),
        "client_id": client_id,
        **PRODUCER_DURABILITY,
        "retries": 10,
        "linger_ms": 5,
        "compression_type": "gzip",
        "max_request_size": 16 * 1024 * 1024,
        # Idempotence would keep order with up to 5; one request per connection at a time keeps it
        # whatever the client's retry path does, and the workers wait for each batch's acks anyway.
        "max_in_flight_requests_per_connection": 1,
    }
    config.update(overrides)
    return while_broker_restarts(settings, "producer", lambda: KafkaProducer(**config))


def make_consumer(
    settings: KafkaSettings, group_id: str, topics: list[str], client_id: str, **overrides: Any
) -> KafkaConsumer:
    """A consumer whose offsets move only when the worker loop commits them."""
    config: dict[str, Any] = {
        **settings.client_config(),
        "client_id": client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 200,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "fetch_max_bytes": 64 * 1024 * 1024,
    }
    config.update(overrides)
    consumer = while_broker_restarts(settings, "consumer", lambda: KafkaConsumer(**config))
    consumer.subscribe(topics)
    return consumer


def wait_for_broker(settings: KafkaSettings) -> None:
    """Block until the broker answers a metadata request, or raise after ``startup_timeout_s``.

    Refused credentials, an untrusted certificate or a plaintext client on a TLS listener raise
    :class:`~services.runtime.diagnose.AccessRefused` at once, with one line naming the problem.
    """
    deadline = time.monotonic() + settings.startup_timeout_s
    delay = 0.5
    while True:
        try:
            remaining_ms = max(1000, int((deadline - time.monotonic()) * 1000))
            with capture_kafka_errors() as messages:
                try:
                    admin = KafkaAdminClient(
                        **settings.client_config(),
                        client_id="newswire-wait",
                        bootstrap_timeout_ms=min(5000, remaining_ms),
                    )
                    try:
                        admin.list_topics()
                        return
                    finally:
                        admin.close()
                except (KafkaError, OSError):
                    problem = diagnose_kafka(settings, messages)
                    if problem is not None:
                        raise AccessRefused(problem) from None
                    raise
        except (KafkaError, OSError) as exc:
            if isinstance(exc, AccessRefused):
                raise
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Kafka at {settings.bootstrap_servers} did not answer within "
                    f"{settings.startup_timeout_s:.0f}s: {exc}"
                ) from exc
            log.info("waiting for Kafka", extra={"bootstrap": settings.bootstrap_servers, "error": str(exc)})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


#: Per topic, the configs an existing topic had that were changed: ``{topic: {key: (old, new)}}``.
ConfigChanges = dict[str, dict[str, tuple[str | None, str]]]


def ensure_topics(
    settings: KafkaSettings,
    topics: Mapping[str, int],
    replication_factor: int = 1,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, int]:
    """Create missing topics with the given partition counts; return every topic's partition count.

    Topics get their ``configs``; by default the pipeline's (:func:`schemas.topics.topic_configs`),
    ``min.insync.replicas`` included, which follows each topic's replication factor (the one it is
    created with, or the one an existing topic has). Existing topics keep their partitions (never
    silently changed: a warning says when one has fewer than wanted), but a config that differs from
    the wanted one is altered in place (see :func:`ensure_topic_configs`).
    """
    return while_broker_restarts(
        settings, "topics", lambda: _ensure_topics(settings, topics, replication_factor, configs)
    )


def ensure_topic_configs(
    settings: KafkaSettings, configs: Mapping[str, Mapping[str, str]] | None = None
) -> ConfigChanges:
    """Alter the configs of existing topics that differ from ``configs`` (default: the pipeline's).

    Only the differing keys are set, with IncrementalAlterConfigs: the topic's other dynamic
    configs stay as they are (a plain AlterConfigs would reset every key it does not name).
    Topics that do not exist are skipped. Returns what changed; each change is also logged.
    """
    from schemas.topics import TOPIC_CONFIGS

    def align() -> ConfigChanges:
        admin = KafkaAdminClient(**settings.client_config(), client_id="newswire-topics")
        try:
            existing = set(admin.list_topics())
            names = [name for name in (TOPIC_CONFIGS if configs is None else configs) if name in existing]
            wanted = _wanted_configs(names, configs, _replication_factors(admin, names) if names else {})
            return _align_configs(admin, {name: c for name, c in wanted.items() if c})
        finally:
            admin.close()

    return while_broker_restarts(settings, "topic configs", align)


def _wanted_configs(
    topics: Iterable[str],
    configs: Mapping[str, Mapping[str, str]] | None,
    replication_factors: Mapping[str, int],
) -> dict[str, dict[str, str]]:
    """Explicit ``configs`` as given; else the pipeline's, for each topic's replication factor."""
    from schemas.topics import topic_configs

    if configs is None:
        return {name: dict(topic_configs(name, replication_factors.get(name))) for name in topics}
    return {name: dict(configs.get(name) or {}) for name in topics}


def _replication_factors(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Each topic's replication factor (the replicas of its first partition)."""
    found = {}
    for entry in admin.describe_topics(names):
        partitions = entry.get("partitions") or ()
        if partitions:
            first = min(partitions, key=lambda p: p.get("partition_index", p.get("partition", 0)))
            found[_topic_name(entry)] = len(first.get("replica_nodes") or first.get("replicas") or ())
    return found


def _align_configs(admin: KafkaAdminClient, wanted: Mapping[str, Mapping[str, str]]) -> ConfigChanges:
    if not wanted:
        return {}
    names = list(wanted)
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names], config_filter="all"
    )
    current = described.get("topic", {})
    changes: ConfigChanges = {}
    for name in names:
        values = {key: entry.get("value") for key, entry in (current.get(name) or {}).items()}
        differing = {
            key: (values.get(key), value) for key, value in wanted[name].items() if values.get(key) != value
        }
        if differing:
            changes[name] = differing
    if not changes:
        return changes
    results = admin.alter_configs(
        [
            ConfigResource(
                ConfigResourceType.TOPIC, name, configs={key: new for key, (_, new) in diff.items()}
            )
            for name, diff in changes.items()
        ],
        incremental=True,
    )
    failed = {name: result for name, result in results.get("topic", {}).items() if result != "OK"}
    if failed:
        raise KafkaError(f"altering topic configs failed: {failed}")
    for name, diff in changes.items():
        log.warning(
            "topic configs migrated in place",
            extra={"topic": name, "changes": {key: f"{old} -> {new}" for key, (old, new) in diff.items()}},
        )
    return changes


def _ensure_topics(
    settings: KafkaSettings,
    topics: Mapping[str, int],
    replication_factor: int,
    configs: Mapping[str, Mapping[str, str]] | None,
) -> dict[str, int]:
    admin = KafkaAdminClient(**settings.client_config(), client_id="newswire-topics")
    try:
        existing = set(admin.list_topics())
        create = _wanted_configs(topics, configs, dict.fromkeys(topics, replication_factor))
        missing = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs=create[name],
            )
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            # Another service may create the same topics at the same moment: fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, validate_only=False)
            log.info("created topics", extra={"topics": [t.name for t in missing]})
        present = [name for name in topics if name in existing]
        if present:
            wanted = _wanted_configs(present, configs, _replication_factors(admin, present))
            _align_configs(admin, {name: c for name, c in wanted.items() if c})
        # A just-created topic can take a moment to appear in the metadata of every broker.
        deadline = time.monotonic() + settings.startup_timeout_s
        while True:
            described = admin.describe_topics(list(topics))
            counts = {_topic_name(entry): len(entry.get("partitions") or ()) for entry in described}
            if all(counts.get(name) for name in topics) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        _warn_about_fewer_partitions(topics, counts, existing)
        return counts
    finally:
        admin.close()


def _warn_about_fewer_partitions(
    wanted: Mapping[str, int], counts: Mapping[str, int], existing: set[str]
) -> None:
    """Partitions are never added here (a key's partition would change under its consumers), but a
    topic with fewer than wanted caps how many workers of a service get work: say so."""
    fewer = {
        name: f"{counts[name]} < {partitions}"
        for name, partitions in wanted.items()
        if name in existing and 0 < counts.get(name, 0) < partitions
    }
    if fewer:
        log.warning(
            "existing topics have fewer partitions than configured; kept as they are "
            "(at most that many workers of a service get work)",
            extra={"topics": fewer},
        )


def _topic_name(entry: Mapping[str, Any]) -> str:
    # kafka-python 2.x says "topic", 3.x says "name".
    return str(entry.get("name") or entry.get("topic"))


def pipeline_topics(topic_settings: TopicSettings) -> dict[str, int]:
    """Every pipeline topic with the configured partition count."""
    from schemas.topics import TOPICS

    return {name: topic_settings.partitions for name in TOPICS.all()}


def end_offsets(settings: KafkaSettings, topic: str) -> dict[int, int]:
    """Next offset to be written, per partition of ``topic``."""
    consumer = KafkaConsumer(**settings.client_config(), client_id="newswire-offsets")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def committed_offsets(settings: KafkaSettings, group_id: str, topic: str) -> dict[int, int]:
    """Offsets ``group_id`` has committed on ``topic``, per partition (absent: never committed)."""
    admin = KafkaAdminClient(**settings.client_config(), client_id="newswire-offsets")
    try:
        by_group = admin.list_group_offsets({group_id: None})
    finally:
        admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in by_group.get(group_id, {}).items()
        if tp.topic == topic and meta.offset >= 0
    }


def consumer_lag(settings: KafkaSettings, group_id: str, topic: str) -> int:
    """Messages on ``topic`` that ``group_id`` has not committed yet, over all partitions."""
    committed = committed_offsets(settings, group_id, topic)
    return sum(end - committed.get(partition, 0) for partition, end in end_offsets(settings, topic).items())
