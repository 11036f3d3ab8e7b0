"""The environment each process needs to reach the secure stack as its own principal.

Kafka settings use the shared ``NEWSWIRE_KAFKA_*`` names (services/runtime/settings.py); for
Elasticsearch, the index service and the operator use the shared ``NEWSWIRE_ES_*`` credentials,
while search, watches and alert use their own override (``NEWSWIRE_<SERVICE>_ES_API_KEY``,
``ElasticsearchSettings.with_credentials``), so one process never carries another's key.
"""

from __future__ import annotations

from .credentials import Credentials
from .kafka_node import MECHANISM

#: Principal -> the variable of its Elasticsearch API key (``..._USERNAME``/``_PASSWORD`` beside it).
_ES_KEY_VARIABLE = {
    "index": "NEWSWIRE_ES_API_KEY",
    "operator": "NEWSWIRE_ES_API_KEY",
    "search": "NEWSWIRE_SEARCH_ES_API_KEY",
    "watches": "NEWSWIRE_WATCHES_ES_API_KEY",
    "alert": "NEWSWIRE_ALERT_ES_API_KEY",
}

#: A process -> the principals whose credentials it carries (the search service also serves the
#: watches API, whose store has its own key).
PROCESS_PRINCIPALS = {
    "ingest": ("ingest",),
    "enrich": ("enrich",),
    "index": ("index",),
    "alert": ("alert",),
    "search": ("search", "watches"),
    "publisher": ("publisher",),
    "operator": ("operator",),
}


def kafka_env(creds: Credentials, principal: str, bootstrap: str, ca_file: str) -> dict[str, str]:
    login = creds.kafka[principal]
    return {
        "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NEWSWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSWIRE_KAFKA_SASL_MECHANISM": MECHANISM,
        "NEWSWIRE_KAFKA_SASL_USERNAME": login.username,
        "NEWSWIRE_KAFKA_SASL_PASSWORD": login.password,
        "NEWSWIRE_KAFKA_SSL_CAFILE": ca_file,
    }


def es_env(creds: Credentials, principal: str, es_url: str, ca_file: str) -> dict[str, str]:
    """The principal's API key when it has one, else its file-realm user and password."""
    prefix = _ES_KEY_VARIABLE[principal].removesuffix("API_KEY")
    env = {"NEWSWIRE_ES_URL": es_url, "NEWSWIRE_ES_CA_CERTS": ca_file}
    key = creds.api_keys.get(principal)
    if key is not None:
        env[f"{prefix}API_KEY"] = key["encoded"]
    else:
        login = creds.elasticsearch[principal]
        env[f"{prefix}USERNAME"] = login.username
        env[f"{prefix}PASSWORD"] = login.password
    return env


def process_env(
    creds: Credentials, process: str, *, bootstrap: str, es_url: str, ca_file: str
) -> dict[str, str]:
    """Every variable ``process`` (a key of :data:`PROCESS_PRINCIPALS`) needs in secure mode."""
    env: dict[str, str] = {}
    for principal in PROCESS_PRINCIPALS[process]:
        if principal in creds.kafka:
            env.update(kafka_env(creds, principal, bootstrap, ca_file))
        if principal in _ES_KEY_VARIABLE:
            env.update(es_env(creds, principal, es_url, ca_file))
    return env
