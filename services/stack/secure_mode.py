"""Secure mode of the native stack (``stack up --secure``): the glue between the stack's nodes and
the material of :mod:`services.stack.secure` (CA, node certificates, credentials, ACLs, roles).

Everything secret lives in ``<state>/secrets/`` (0700, files 0600), never in the repository:
``ca.crt`` (what clients trust), one certificate per node, ``credentials.json`` (SCRAM passwords,
file-realm passwords, API keys). Kafka node i gets the ``CLIENT`` (SASL_SSL, SCRAM-SHA-512) listener
on its client port, ``BROKER`` (mTLS) on ``kafka_broker_port_of(i)`` and ``CONTROLLER`` (mTLS) on
its controller port; Elasticsearch node i TLS on HTTP and transport, security on, the file realm,
and (with the ``newswire-security-analysis`` plugin, deploy/security-analysis-plugin) API keys.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import StackPaths, effective_state_dir
from .settings import StackSettings

log = logging.getLogger(__name__)

#: The broker certificates' CN: the principal brokers (and controllers) have among themselves.
KAFKA_CERT_PREFIX = "kafka-"
ES_CERT_PREFIX = "elasticsearch-"


def secrets_dir(settings: StackSettings, paths: StackPaths | None = None) -> Path:
    root = paths.root if paths is not None else effective_state_dir(settings)
    return root / "secrets"


def ca_file(settings: StackSettings, paths: StackPaths | None = None) -> Path:
    return secrets_dir(settings, paths) / "ca.crt"


def credentials_file(settings: StackSettings, paths: StackPaths | None = None) -> Path:
    from .secure.credentials import CREDENTIALS_FILE

    return secrets_dir(settings, paths) / CREDENTIALS_FILE


@dataclass(frozen=True)
class Material:
    ca: Any
    creds: Any
    kafka_certs: dict[int, Any]
    es_certs: dict[int, Any]


def ensure_material(settings: StackSettings, paths: StackPaths) -> Material:
    """The CA, a certificate per node and every principal's credentials (made once, kept)."""
    from .secure import certs, credentials
    from .secure.principals import BROKER_CN

    secrets = secrets_dir(settings, paths)
    ca, _ = certs.ensure_ca(secrets)
    kafka_certs = {
        node: certs.ensure_node_cert(secrets, f"{KAFKA_CERT_PREFIX}{node}", ca, common_name=BROKER_CN)[0]
        for node in settings.kafka_node_ids
    }
    es_certs = {
        node: certs.ensure_node_cert(secrets, f"{ES_CERT_PREFIX}{node}", ca)[0]
        for node in settings.es_node_ids
    }
    creds, _ = credentials.ensure_credentials(secrets)
    return Material(ca=ca, creds=creds, kafka_certs=kafka_certs, es_certs=es_certs)


def load_credentials(settings: StackSettings, paths: StackPaths | None = None) -> Any:
    from .secure.credentials import load_credentials as load

    return load(secrets_dir(settings, paths))


# -- Kafka ----------------------------------------------------------------------------------------
def kafka_node_properties(settings: StackSettings, material: Material, node: int) -> dict[str, str]:
    """What replaces the plain node's listeners (``secure_server_properties``)."""
    from .secure.kafka_node import secure_server_properties

    return secure_server_properties(
        host=settings.kafka_host,
        client_port=settings.kafka_port_of(node),
        broker_port=settings.kafka_broker_port_of(node),
        controller_port=settings.kafka_controller_port_of(node),
        node_cert=material.kafka_certs[node],
        ca=material.ca,
        admin_username=material.creds.kafka_admin.username,
    )


def format_args(material: Material) -> list[str]:
    """``--add-scram`` per user for ``kafka-storage format`` (carry passwords: never logged)."""
    from .secure.kafka_node import format_scram_args

    return format_scram_args(material.creds)


def kafka_admin_config(settings: StackSettings, paths: StackPaths | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments of the stack's own admin client: empty in plain mode."""
    if not settings.secure:
        return {}
    from .secure.kafka_node import admin_client_config

    config = admin_client_config(
        load_credentials(settings, paths), settings.kafka_bootstrap, str(ca_file(settings, paths))
    )
    config.pop("bootstrap_servers")
    return config


def tls_context(settings: StackSettings, paths: StackPaths | None = None) -> ssl.SSLContext | None:
    """A client TLS context trusting the stack's CA (None in plain mode)."""
    if not settings.secure:
        return None
    return ssl.create_default_context(cafile=str(ca_file(settings, paths)))


# -- Elasticsearch --------------------------------------------------------------------------------
def es_http_options(settings: StackSettings, paths: StackPaths | None = None) -> dict[str, Any]:
    """httpx.Client keyword arguments of the stack's probes: TLS with the CA, the admin's password."""
    if not settings.secure:
        return {}
    admin = load_credentials(settings, paths).es_admin
    return {"verify": str(ca_file(settings, paths)), "auth": (admin.username, admin.password)}


def install_es_node_material(
    settings: StackSettings, paths: StackPaths, node: int, owner: tuple[int, int] | None
) -> dict[str, object]:
    """Certificates and the file realm into node ``node``'s config dir; its elasticsearch.yml additions."""
    from .secure.es_node import install_node_material, secure_es_settings

    material = ensure_material(settings, paths)
    install_node_material(
        paths.es_node(node).config_dir, material.es_certs[node], material.ca, material.creds, owner=owner
    )
    return secure_es_settings()


# -- after up -------------------------------------------------------------------------------------
def apply_security(settings: StackSettings, paths: StackPaths) -> dict[str, int]:
    """As the admin: SCRAM users and ACLs; the pipeline's topics as the operator (through the
    services' own ``ensure_topics``: in secure mode no service may create a topic); an API key per
    principal. Every step is idempotent (a second ``up`` changes nothing)."""
    from services.runtime.kafka import ensure_topics, pipeline_topics
    from services.runtime.settings import KafkaSettings, TopicSettings

    from .secure.es_node import ensure_api_keys
    from .secure.kafka_node import apply_kafka_security
    from .settings import PIPELINE_PARTITIONS

    material = ensure_material(settings, paths)
    ca = str(ca_file(settings, paths))
    result = apply_kafka_security(material.creds, settings.kafka_bootstrap, ca)
    operator = material.creds.kafka["operator"]
    kafka = KafkaSettings(
        bootstrap_servers=settings.kafka_bootstrap,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=operator.username,
        sasl_password=operator.password,
        ssl_cafile=ca,
    )
    topics = pipeline_topics(
        TopicSettings(partitions=PIPELINE_PARTITIONS, replication_factor=settings.replication_factor)
    )
    ensure_topics(kafka, topics, settings.replication_factor)
    result["topics"] = len(topics)
    result["api_keys_made"] = ensure_api_keys(settings.es_url, ca, material.creds)
    log.info("secure stack: security applied", extra=result)
    return result


def secure_client_env(settings: StackSettings, process: str = "operator") -> dict[str, str]:
    """The credentials of ``process`` on this stack (``secure.clients.process_env``)."""
    from .secure.clients import process_env

    return process_env(
        load_credentials(settings),
        process,
        bootstrap=settings.kafka_bootstrap,
        es_url=settings.es_url,
        ca_file=str(ca_file(settings)),
    )


#: Endings of the variables that carry a credential (``NEWSWIRE_KAFKA_SASL_PASSWORD``,
#: ``NEWSWIRE_SEARCH_ES_API_KEY``, ...): a process started in secure mode gets only its own.
_CREDENTIAL_ENDINGS = ("_SASL_USERNAME", "_SASL_PASSWORD", "_API_KEY", "ES_USERNAME", "ES_PASSWORD")


def own_env(settings: StackSettings, process: str, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without anyone's credentials, plus those of ``process`` (ingest, enrich, index, alert,
    search, publisher, operator): one process never carries another principal's secret."""
    env = {
        key: value
        for key, value in base.items()
        if not (key.startswith("NEWSWIRE_") and key.endswith(_CREDENTIAL_ENDINGS))
    }
    env.update(secure_client_env(settings, process))
    return env
