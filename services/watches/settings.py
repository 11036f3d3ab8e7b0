"""Settings of the watch store, read from ``NEWSWIRE_WATCHES_*`` (Elasticsearch from ``NEWSWIRE_ES_*``).

The store reads and writes the watches index and reads the articles alias (to check that a watch's
search runs). With security on, give it its own credentials (``NEWSWIRE_WATCHES_ES_API_KEY``, or
``NEWSWIRE_WATCHES_ES_USERNAME``/``_PASSWORD``): they replace the shared ``NEWSWIRE_ES_*`` ones. An
API key that can do just that::

    POST /_security/api_key
    {"name": "newswire-watches",
     "role_descriptors": {"newswire-watches": {"indices": [
         {"names": ["newswire-watches"],
          "privileges": ["read", "write", "create_index", "view_index_metadata"]},
         {"names": ["articles", "articles-*"], "privileges": ["read"]}]}}}

The webhook secrets are stored in the watches index: whoever can read it can sign alerts.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.search_index import ALIAS
from services.runtime.settings import ElasticsearchSettings

#: The Elasticsearch index holding one document per watch (``_id`` = the watch id).
WATCHES_INDEX = "newswire-watches"


class WatchStoreSettings(BaseSettings):
    """Where watches live and which archive their searches run on."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_WATCHES_", frozen=True, extra="ignore")

    index: str = Field(default=WATCHES_INDEX, min_length=1, description="Index of the watches.")
    articles: str = Field(
        default=ALIAS, min_length=1, description="Alias (or index) a watch's search runs on."
    )
    es_api_key: SecretStr | None = Field(
        default=None, description="API key for Elasticsearch; replaces NEWSWIRE_ES_* credentials."
    )
    es_username: str | None = Field(
        default=None, description="Elasticsearch user; replaces NEWSWIRE_ES_* credentials."
    )
    es_password: SecretStr | None = None
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)

    def elasticsearch_settings(self) -> ElasticsearchSettings:
        """The shared connection settings with the store's own credentials, if it has any."""
        return self.elasticsearch.with_credentials(self.es_api_key, self.es_username, self.es_password)
