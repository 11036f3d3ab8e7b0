"""Who may do what in secure mode, as plain data: one principal per service, its Kafka ACLs and its
Elasticsearch role. The Kafka side renders to kafka-python ``ACL`` objects (:func:`kafka_acls`),
the Elasticsearch side to role descriptors for ``PUT /_security/role`` (:meth:`EsRole.descriptor`).

Names come from the services' own settings (topics from ``schemas.topics``, groups and the faust app
id from each service's defaults), so a renamed group or topic changes the permissions with it.

Kafka principals authenticate with SCRAM-SHA-512 on the client listener, except the brokers, which
authenticate to each other and to the controller with their TLS certificate (CN = :data:`BROKER_CN`).
Two super users exist: the brokers, and :data:`ADMIN`, the stack's own provisioning principal
(creates the ACLs and SCRAM users); no service gets its password. Everything else is denied
(``allow.everyone.if.no.acl.found=false``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from schemas.search_index import ALIAS
from schemas.topics import TOPICS

#: The CN of every broker's certificate, which maps to principal ``User:newswire-broker``.
BROKER_CN = "newswire-broker"
#: The stack's provisioning principal: Kafka super user and Elasticsearch file-realm superuser.
ADMIN = "admin"
USERNAME_PREFIX = "newswire-"

Operation = Literal["READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS", "ALL"]
Resource = Literal["TOPIC", "GROUP", "CLUSTER"]


def _service_defaults() -> dict[str, str]:
    """The group ids and app id the services use by default (their settings' field defaults)."""
    from services.alert.settings import Settings as AlertSettings
    from services.enrich.settings import Settings as EnrichSettings
    from services.index.settings import Settings as IndexSettings
    from services.ingest.settings import Settings as IngestSettings

    return {
        "ingest": str(IngestSettings.model_fields["group_id"].default),
        "enrich": str(EnrichSettings.model_fields["app_id"].default),
        "index": str(IndexSettings.model_fields["group_id"].default),
        "alert": str(AlertSettings.model_fields["group_id"].default),
    }


@dataclass(frozen=True)
class KafkaGrant:
    """One ALLOW ACL: ``operation`` on ``resource`` ``name`` (a prefix when ``prefixed``)."""

    operation: Operation
    resource: Resource
    name: str = "kafka-cluster"
    prefixed: bool = False


@dataclass(frozen=True)
class IndexGrant:
    names: tuple[str, ...]
    privileges: tuple[str, ...]


@dataclass(frozen=True)
class EsRole:
    """An Elasticsearch role: cluster privileges and index privileges (``PUT /_security/role/<name>``)."""

    name: str
    cluster: tuple[str, ...] = ()
    indices: tuple[IndexGrant, ...] = ()

    def descriptor(self) -> dict[str, Any]:
        return {
            "cluster": list(self.cluster),
            "indices": [{"names": list(g.names), "privileges": list(g.privileges)} for g in self.indices],
        }


@dataclass(frozen=True)
class Principal:
    """One user of the stack: its Kafka grants (none: no Kafka user) and Elasticsearch role (None: none)."""

    name: str
    description: str
    kafka: tuple[KafkaGrant, ...] = ()
    es_role: EsRole | None = None

    @property
    def username(self) -> str:
        """The SCRAM user, the Elasticsearch user and the API key's name."""
        return f"{USERNAME_PREFIX}{self.name}"

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.username}"


def _reads(topic: str, group: str) -> tuple[KafkaGrant, ...]:
    """Consume ``topic`` in ``group``."""
    return (KafkaGrant("READ", "TOPIC", topic), KafkaGrant("READ", "GROUP", group))


def _writes(*topics: str) -> tuple[KafkaGrant, ...]:
    # WRITE implies DESCRIBE, and (Kafka >= 3.0) IDEMPOTENT_WRITE for the idempotent producer.
    return tuple(KafkaGrant("WRITE", "TOPIC", topic) for topic in topics)


def _sees_the_pipeline() -> tuple[KafkaGrant, ...]:
    """See every pipeline topic and its configs, nothing more: a service's start-up lists the
    pipeline's topics and compares their configs with the wanted ones (``ensure_topics`` in
    services/runtime/kafka.py); a topic it cannot see would look missing and be created, which it
    may not do (the stack's operator creates them)."""
    return tuple(
        KafkaGrant(operation, "TOPIC", topic)
        for topic in TOPICS.all()
        for operation in ("DESCRIBE", "DESCRIBE_CONFIGS")
    )


_ARTICLE_INDICES = (ALIAS, f"{ALIAS}-*")


def principals() -> tuple[Principal, ...]:
    """Every principal of secure mode, services first, then the publisher and the operator."""
    from services.alert.settings import SENT_INDEX
    from services.watches.settings import WATCHES_INDEX

    groups = _service_defaults()
    enrich_app = groups["enrich"]
    return (
        Principal(
            "ingest",
            "reads submissions, writes the archive and dead letters",
            kafka=(
                *_reads(TOPICS.raw, groups["ingest"]),
                *_writes(TOPICS.ingested, TOPICS.dlq),
                *_sees_the_pipeline(),
            ),
        ),
        Principal(
            "enrich",
            "reads the archive, writes enriched articles and dead letters; owns faust's own topics",
            kafka=(
                *_reads(TOPICS.ingested, enrich_app),
                *_writes(TOPICS.enriched, TOPICS.dlq),
                *_sees_the_pipeline(),
                # faust's changelog and assignor topics, and its group, all start with the app id.
                KafkaGrant("ALL", "TOPIC", enrich_app, prefixed=True),
                KafkaGrant("READ", "GROUP", enrich_app, prefixed=True),
            ),
        ),
        Principal(
            "index",
            "reads enriched articles, writes dead letters and the archive's documents",
            kafka=(*_reads(TOPICS.enriched, groups["index"]), *_writes(TOPICS.dlq), *_sees_the_pipeline()),
            es_role=EsRole(
                "newswire-index",
                # health at start-up; the index template is the service's to keep up to date.
                cluster=("monitor", "manage_index_templates"),
                indices=(
                    IndexGrant(
                        _ARTICLE_INDICES,
                        # Not ``manage``: it includes deleting the index. Only the actions the service
                        # runs: create the index and its alias once, add mapping fields, change the
                        # refresh interval while catching up, refresh, read for its lineage metrics.
                        (
                            "create_index",
                            "write",
                            "read",
                            "view_index_metadata",
                            "maintenance",
                            "indices:admin/aliases",
                            "indices:admin/mapping/put",
                            "indices:admin/settings/update",
                        ),
                    ),
                ),
            ),
        ),
        Principal(
            "alert",
            "reads enriched articles, writes alerts and dead letters; reads the archive and the watches",
            kafka=(
                *_reads(TOPICS.enriched, groups["alert"]),
                *_writes(TOPICS.alerts, TOPICS.dlq),
                *_sees_the_pipeline(),
            ),
            es_role=EsRole(
                "newswire-alert",
                indices=(
                    IndexGrant((*_ARTICLE_INDICES, WATCHES_INDEX), ("read", "view_index_metadata")),
                    IndexGrant((SENT_INDEX,), ("read", "write", "create_index", "view_index_metadata")),
                ),
            ),
        ),
        Principal(
            "search",
            "reads the articles alias, nothing else",
            es_role=EsRole(
                "newswire-search", indices=(IndexGrant((ALIAS,), ("read", "view_index_metadata")),)
            ),
        ),
        Principal(
            "watches",
            "the watches API's store: its own index, and reads the archive to check a watch's search",
            es_role=EsRole(
                "newswire-watches",
                indices=(
                    IndexGrant((WATCHES_INDEX,), ("read", "write", "create_index", "view_index_metadata")),
                    IndexGrant(_ARTICLE_INDICES, ("read",)),
                ),
            ),
        ),
        Principal(
            "publisher", "may only write submissions", kafka=(KafkaGrant("WRITE", "TOPIC", TOPICS.raw),)
        ),
        Principal(
            "operator",
            "the CLI's admin tools: topics, groups, replays, reprocessing, index versions",
            kafka=(
                # Not ALTER on the cluster: that would let it change the ACLs (the admin's job).
                KafkaGrant("DESCRIBE", "CLUSTER"),
                KafkaGrant("DESCRIBE_CONFIGS", "CLUSTER"),
                KafkaGrant("CREATE", "CLUSTER"),
                KafkaGrant("ALL", "TOPIC", "articles.", prefixed=True),
                KafkaGrant("DESCRIBE", "TOPIC", "*"),
                KafkaGrant("DESCRIBE_CONFIGS", "TOPIC", "*"),
                KafkaGrant("ALL", "GROUP", "*"),
            ),
            es_role=EsRole(
                "newswire-operator",
                cluster=("monitor", "manage_index_templates"),
                indices=(IndexGrant((*_ARTICLE_INDICES, "newswire-*"), ("all",)),),
            ),
        ),
    )


def by_name(name: str, among: Iterable[Principal] | None = None) -> Principal:
    for principal in among if among is not None else principals():
        if principal.name == name:
            return principal
    raise KeyError(f"no principal {name!r}")


def kafka_acls(among: Iterable[Principal] | None = None) -> list[Any]:
    """Every ALLOW binding of every principal, as kafka-python ``ACL`` objects for ``create_acls``."""
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    acls = []
    for principal in among if among is not None else principals():
        for grant in principal.kafka:
            pattern = ResourcePattern(
                ResourceType[grant.resource],
                grant.name,
                ACLResourcePatternType.PREFIXED if grant.prefixed else ACLResourcePatternType.LITERAL,
            )
            acls.append(
                ACL(
                    principal=principal.kafka_principal,
                    host="*",
                    operation=ACLOperation[grant.operation],
                    permission_type=ACLPermissionType.ALLOW,
                    resource_pattern=pattern,
                )
            )
    return acls


def kafka_users(among: Iterable[Principal] | None = None) -> list[Principal]:
    """The principals that need a SCRAM user (those with Kafka grants)."""
    return [p for p in (among if among is not None else principals()) if p.kafka]


def es_principals(among: Iterable[Principal] | None = None) -> list[Principal]:
    return [p for p in (among if among is not None else principals()) if p.es_role is not None]
