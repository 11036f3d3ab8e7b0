"""What the watches API reads and answers, shared with ``newswire watch``: a new watch, and a watch as shown.

A webhook's secret is write-only: it is given when a watch is made (:class:`NewWatch`) and never
shown again (:class:`ShownWatch` has the webhook's URL only), by the API or the CLI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.watches import MAX_WATCH_ID_CHARS, WATCH_ID_PATTERN, Watch, WatchSearch, Webhook, watch_id_for


class NewWatch(BaseModel):
    """A watch to save (``POST /watches``, ``newswire watch add``): ``id`` is made from the name unless
    given; the store refuses a watch whose search cannot run, with the reason."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Xi Jinping quoted",
                    "owner": "asia-desk",
                    "search": {"speaker": "Xi Jinping"},
                    "webhook": {"url": "https://hooks.example/newswire", "secret": "a-long-random-secret"},
                    "alert_on_revisions": False,
                }
            ]
        },
    )

    id: str | None = Field(
        default=None,
        pattern=WATCH_ID_PATTERN,
        max_length=MAX_WATCH_ID_CHARS,
        description="Lower-case letters, digits and hyphens; the slug of the name when left out.",
    )
    name: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=200, description="Who to ask about the watch (a label).")
    search: WatchSearch = Field(description="The parameters of ``GET /search`` that choose articles.")
    webhook: Webhook | None = Field(
        default=None, description="Also POST each alert here, signed with the secret (HMAC-SHA256)."
    )
    alert_on_revisions: bool = Field(
        default=False, description="Alert again when a new revision of an alerted article still matches."
    )

    def watch(self, now: datetime | None = None) -> Watch:
        """The watch to store, created ``now``; ``ValueError`` when no id can be made from the name."""
        return Watch(
            id=self.id or watch_id_for(self.name),
            name=self.name,
            owner=self.owner,
            search=self.search,
            webhook=self.webhook,
            alert_on_revisions=self.alert_on_revisions,
            created_at=now or datetime.now(UTC),
        )


class ShownWebhook(BaseModel):
    """Where a watch's alerts are POSTed; its secret is never shown."""

    url: str


class ShownWatch(BaseModel):
    """A saved watch as the API and ``newswire watch --json`` show it (no webhook secret)."""

    id: str
    name: str
    owner: str
    search: dict[str, Any] = Field(description="The search parameters given (defaults left out).")
    webhook: ShownWebhook | None
    alert_on_revisions: bool
    created_at: datetime

    @classmethod
    def of(cls, watch: Watch) -> ShownWatch:
        return cls(
            id=watch.id,
            name=watch.name,
            owner=watch.owner,
            search=watch.search.model_dump(mode="json", exclude_defaults=True),
            webhook=ShownWebhook(url=str(watch.webhook.url)) if watch.webhook else None,
            alert_on_revisions=watch.alert_on_revisions,
            created_at=watch.created_at,
        )
