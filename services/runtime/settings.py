"""Connection settings shared by every service, read from ``NEWSWIRE_KAFKA_*`` and ``NEWSWIRE_ES_*``.

Each service composes these into its own ``Settings`` class (with its own env prefix), so one set
of connection variables serves the whole pipeline while per-service knobs stay separate; what
every service has in common is :class:`ServiceSettings`, their base.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How to reach the Kafka cluster."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    startup_timeout_s: float = Field(default=60.0, gt=0, description="How long to wait for the broker.")

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients."""
        from services.runtime.header_names import tolerate_in_kafka_python

        # Every consumer built from these settings (services, CLI, tests) must survive a record
        # whose header name is not UTF-8, or it cannot read past it (header_names.py).
        tolerate_in_kafka_python()
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.ssl_cafile:
            config["ssl_cafile"] = self.ssl_cafile
        return config


class ElasticsearchSettings(BaseSettings):
    """How to reach Elasticsearch."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_ES_", frozen=True, extra="ignore")

    url: str = Field(default="http://127.0.0.1:9200", description="Comma-separated node URLs.")
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    request_timeout_s: float = Field(default=30.0, gt=0)
    startup_timeout_s: float = Field(default=120.0, gt=0)

    def with_credentials(
        self, api_key: SecretStr | None, username: str | None, password: SecretStr | None
    ) -> ElasticsearchSettings:
        """These settings with a service's own credentials, when it has any (an API key wins)."""
        if api_key is not None:
            return self.model_copy(update={"api_key": api_key, "username": None, "password": None})
        if username is not None:
            return self.model_copy(update={"api_key": None, "username": username, "password": password})
        return self

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``elasticsearch.Elasticsearch``."""
        kwargs: dict[str, Any] = {
            "hosts": self.url.split(","),
            "request_timeout": self.request_timeout_s,
        }
        if self.api_key:
            kwargs["api_key"] = self.api_key.get_secret_value()
        elif self.username and self.password:
            kwargs["basic_auth"] = (self.username, self.password.get_secret_value())
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        return kwargs


class TopicSettings(BaseSettings):
    """Partition counts and replication used when a service or the CLI creates the pipeline's topics."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_TOPICS_", frozen=True, extra="ignore")

    partitions: int = Field(
        default=6,
        ge=1,
        description="Partitions of every pipeline topic: the most workers of one service that get work "
        "(1, 2, 3 or 6 workers share them evenly). An existing topic keeps its count.",
    )
    replication_factor: int = Field(
        default=1,
        ge=1,
        description="Replicas of each partition: 1 on a single broker, 3 on a cluster "
        "(min.insync.replicas follows: schemas/topics.py).",
    )


class IndexReplicaSettings(BaseSettings):
    """Replica shards of every index the project creates (``NEWSWIRE_INDEX_NUMBER_OF_REPLICAS``)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_INDEX_", frozen=True, extra="ignore")

    number_of_replicas: int = Field(
        default=0,
        ge=0,
        description="Replicas of each shard of the articles index (its template), the watches, sent-alerts "
        "and reprocess-runs indices: 0 on a single node (a replica there could never be assigned: the "
        "cluster would stay yellow), 1 on a cluster of two nodes or more.",
    )


def index_replicas() -> int:
    """``NEWSWIRE_INDEX_NUMBER_OF_REPLICAS``: what every index the project creates (or keeps) gets."""
    return load_settings(IndexReplicaSettings).number_of_replicas


class ServiceSettings(BaseSettings):
    """What every service has: its endpoints, logging, dead letters, stall watchdog and connections.

    Each service derives its ``Settings`` with its own env prefix (``NEWSWIRE_INGEST_`` ...) and
    its own default ``metrics_port``; the connection settings keep their shared prefixes.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    metrics_host: str = Field(
        default="127.0.0.1", description="Address of /metrics, /healthz and /readyz (0.0.0.0 in a container)."
    )
    metrics_port: int = Field(default=0, ge=0, le=65535, description="Their port; 0 turns them off.")
    client_id: str | None = Field(
        default=None,
        min_length=1,
        description="Kafka client id of this process (default newswire-<service>); each worker of a "
        "service gets its own, so that the group's members can be told apart (newswire status).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = Field(default=True, description="JSON lines (services) or plain text (humans).")
    dlq_payload_max_bytes: int = Field(
        default=1_048_576, ge=0, description="How much of a rejected message the DLQ record keeps."
    )
    stall_timeout_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "A held partition with lag whose committed offset has not moved for this long fails "
            "/healthz and /readyz, is logged as an error, and the process exits with status 70 so "
            "that its supervisor restarts it (services/runtime/watchdog.py). 0: no watchdog."
        ),
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """``cls()``, or exit with one line per bad variable: ``invalid setting NEWSWIRE_X: why``.

    Values are never echoed, so a mistyped password does not end up in a log.
    """
    try:
        return cls()
    except ValidationError as exc:
        raise SystemExit(describe_settings_error(cls, exc)) from None


def describe_settings_error(cls: type[BaseSettings], exc: ValidationError) -> str:
    """``invalid setting NAME: message`` for each error (joined with ``; ``), naming the env variable."""
    # A composed class (``Settings.kafka``) fails inside its default factory: its own title names it.
    failing = next((c for c in _settings_tree(cls) if c.__name__ == exc.title), cls)
    prefix = str(failing.model_config.get("env_prefix", ""))
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "<settings>"
        name = f"{prefix}{field.split('.')[0]}".upper()
        verb = "missing setting" if error["type"] == "missing" else "invalid setting"
        problems.append(f"{verb} {name}: {error['msg']}")
    return "; ".join(problems)


def _settings_tree(cls: type[BaseSettings]) -> list[type[BaseSettings]]:
    found = [cls]
    for field in cls.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            found.extend(_settings_tree(field.annotation))
    return found
