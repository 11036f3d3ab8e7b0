"""Settings of the search service, read from ``NEWSWIRE_SEARCH_*`` (Elasticsearch from ``NEWSWIRE_ES_*``).

The service only reads the archive. With security on, give it credentials that can do nothing else
(``NEWSWIRE_SEARCH_ES_API_KEY``, or ``NEWSWIRE_SEARCH_ES_USERNAME``/``_PASSWORD``): they replace the
shared ``NEWSWIRE_ES_*`` credentials, which the index service uses to write. An API key that can only
read the alias and its indices::

    POST /_security/api_key
    {"name": "newswire-search",
     "role_descriptors": {"newswire-search": {"indices": [
         {"names": ["articles", "articles-*"], "privileges": ["read", "view_index_metadata"]}]}}}

and ``NEWSWIRE_SEARCH_ES_API_KEY`` = the ``encoded`` value of the answer.

The watches API (``/watches``) writes only the watches index, through the watch store with its own
settings and credentials (``NEWSWIRE_WATCHES_*``, see :mod:`services.watches.settings`); watches are
checked against this service's ``index``. Without ``NEWSWIRE_WATCHES_ES_*`` credentials the store
falls back to the shared ``NEWSWIRE_ES_*`` ones: give the search service a watches key instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.search_index import ALIAS
from services.runtime.settings import ElasticsearchSettings


class Settings(BaseSettings):
    """Knobs of ``python -m services.search``."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_SEARCH_", frozen=True, extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address to listen on (0.0.0.0 in a container).")
    port: int = Field(default=8080, ge=0, le=65535, description="Port of the API and the web page.")
    index: str = Field(
        default=ALIAS, min_length=1, description="Alias (or index) searched; the index service writes to it."
    )
    query_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description=(
            "Longest a search may run: Elasticsearch stops collecting hits after this (the search then "
            "answers 504), and the client gives up a little later if no answer comes."
        ),
    )
    es_connections: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Connections to each Elasticsearch node kept for searches at once.",
    )
    cors_origins: str = Field(
        default="",
        description=(
            "Comma-separated origins whose web pages may call the API from a browser "
            "(e.g. https://newsroom.example); empty: same origin only."
        ),
    )
    slow_request_log_s: float = Field(
        default=2.0, ge=0, description="Requests taking longer are logged with their parameters (0: none)."
    )
    startup_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="How long start-up waits for Elasticsearch before serving anyway (then not ready).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = Field(default=True, description="JSON lines (services) or plain text (humans).")
    es_api_key: SecretStr | None = Field(
        default=None, description="Read-only API key for Elasticsearch; replaces NEWSWIRE_ES_* credentials."
    )
    es_username: str | None = Field(
        default=None, description="Read-only Elasticsearch user; replaces NEWSWIRE_ES_* credentials."
    )
    es_password: SecretStr | None = None
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)

    def elasticsearch_settings(self) -> ElasticsearchSettings:
        """The shared connection settings with the search service's own credentials, if it has any."""
        return self.elasticsearch.with_credentials(self.es_api_key, self.es_username, self.es_password)

    def client_request_timeout_s(self) -> float:
        """How long the client waits for Elasticsearch's answer to a search: the query timeout plus a
        margin for Elasticsearch to stop and answer, so a slow search ends with its own ``timed_out``."""
        return self.query_timeout_s + min(5.0, max(0.5, self.query_timeout_s / 2))
