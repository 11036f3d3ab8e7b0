"""Settings of the alert service, read from ``NEWSWIRE_ALERT_*`` (connections from the shared prefixes).

With Elasticsearch security on, give the service its own credentials (``NEWSWIRE_ALERT_ES_API_KEY``,
or ``NEWSWIRE_ALERT_ES_USERNAME``/``_PASSWORD``): read on the articles alias and the watches index,
write on the sent-alerts index::

    POST /_security/api_key
    {"name": "newswire-alert",
     "role_descriptors": {"newswire-alert": {"indices": [
         {"names": ["articles", "articles-*", "newswire-watches"], "privileges": ["read"]},
         {"names": ["newswire-alerts-sent"], "privileges": ["read", "write", "create_index"]}]}}}
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.runtime.settings import ElasticsearchSettings, ServiceSettings
from services.search.query import MAX_PAGE_SIZE
from services.watches.settings import WATCHES_INDEX

#: One document per alert sent (``_id`` = ``<watch id>:<article id>``, ``:<revision>`` for a watch
#: that alerts on revisions): what makes a restart or a replay not alert twice.
SENT_INDEX = "newswire-alerts-sent"


class Settings(ServiceSettings):
    """Knobs of ``python -m services.alert`` (the common ones, from ``ServiceSettings``, too)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_ALERT_", frozen=True, extra="ignore")

    group_id: str = Field(default="newswire-alert", min_length=1, description="Kafka consumer group.")
    input_topic: str = Field(default=TOPICS.enriched, min_length=1, description="Articles to match.")
    output_topic: str = Field(default=TOPICS.alerts, min_length=1, description="Where alerts go.")
    alias: str = Field(default=ALIAS, min_length=1, description="The archive the watches search.")
    watches_index: str = Field(default=WATCHES_INDEX, min_length=1, description="Where the watches are.")
    sent_index: str = Field(default=SENT_INDEX, min_length=1, description="The record of alerts sent.")
    max_batch: int = Field(
        default=100,
        ge=1,
        le=MAX_PAGE_SIZE,
        description="Most articles matched per batch: one search per watch covers them all.",
    )
    index_wait_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How long to wait for a batch's articles to be searchable (stored by the index service "
            "and refreshed) before matching; then the missing ones are skipped if some of the batch "
            "arrived, else the batch is retried (the index is behind or down)."
        ),
    )
    index_poll_s: float = Field(default=0.25, gt=0, description="First pause between looks at the index.")
    watches_refresh_s: float = Field(
        default=5.0, ge=0, description="How long the list of watches is reused before it is read again."
    )
    searches_per_request: int = Field(
        default=200, ge=1, le=10_000, description="Watches' searches sent in one _msearch request."
    )
    webhook_attempts: int = Field(
        default=5, ge=1, le=20, description="Tries of a webhook before a dead letter."
    )
    webhook_initial_s: float = Field(default=0.5, gt=0, description="Pause after the first failed try.")
    webhook_max_s: float = Field(default=8.0, gt=0, description="Longest pause between tries.")
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Longest wait for an answer.")
    webhook_parallel: int = Field(default=8, ge=1, le=64, description="Webhook deliveries at once.")
    retry_initial_s: float = Field(default=0.5, gt=0, description="First delay of a whole-batch retry.")
    retry_max_s: float = Field(default=30.0, gt=0, description="Longest delay between whole-batch retries.")
    metrics_port: int = Field(default=9104, ge=0, le=65535, description="Their port; 0 turns them off.")
    es_api_key: SecretStr | None = Field(
        default=None, description="API key for Elasticsearch; replaces NEWSWIRE_ES_* credentials."
    )
    es_username: str | None = Field(
        default=None, description="Elasticsearch user; replaces NEWSWIRE_ES_* credentials."
    )
    es_password: SecretStr | None = None
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)

    def elasticsearch_settings(self) -> ElasticsearchSettings:
        """The shared connection settings with the alert service's own credentials, if it has any."""
        return self.elasticsearch.with_credentials(self.es_api_key, self.es_username, self.es_password)
