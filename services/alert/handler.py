"""The alert handler: a batch of enriched articles in, one alert per new (watch, article) match out.

Per batch, in order:

1. decode the events (an invalid one is left to the index service, which dead-letters it);
2. wait until the index service has stored the articles and searches see them
   (:meth:`AlertArchive.wait_until_searchable`), so that a watch matches what a search would;
3. run every watch's search restricted to the batch's ids (``_msearch``);
4. drop matches already delivered (the sent-alerts index) and record the rest ``pending``;
5. POST each new alert to its watch's webhook (signed, retried; a dead letter after the last try)
   and record the webhooks that took it;
6. return the alerts for the worker to produce to ``articles.alerts``; once Kafka acknowledged them
   (:meth:`AlertHandler.acknowledged`, before the offsets are committed) they are recorded
   ``delivered``.

So a restart or a replay of ``articles.enriched`` alerts nothing twice; only a crash between Kafka's
acknowledgement and step 6's record (or between a webhook's answer and step 5's record) repeats
that one alert, with the same ``event_id`` (derived from the alert's id), for receivers to drop.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import orjson

from schemas.dead_letter import FailureReason, FailureStage
from schemas.envelope import ArticleEnriched
from schemas.topics import TOPICS
from schemas.watches import AlertEvent, MatchedQuote
from services.alert.matching import DELIVERED, PENDING, AlertArchive, Match, WatchCache, now, sent_id
from services.alert.webhooks import WebhookSender
from services.runtime.dead_letters import dead_letter_record
from services.runtime.events import decode_event
from services.runtime.messages import (
    ARTICLE_HEADER,
    TRACE_HEADER,
    Dropped,
    Emit,
    Emitted,
    Message,
    Outcome,
    Rejected,
)
from services.search.results import hit_from

log = logging.getLogger(__name__)

PRODUCER = "alert"
#: Header naming the alert's sent-alerts id on each record produced to ``articles.alerts``.
ALERT_ID_HEADER = "newswire-alert-id"
#: Alert event ids are derived from the alert's id, so a repeated alert has the same event id.
EVENT_ID_NAMESPACE = uuid.UUID("0b6c7a52-51a5-4bb5-9d0e-4a3c1f1e7d15")
#: Highlighted fields an alert's snippet is taken from, in order of preference.
SNIPPET_FIELDS = ("body", "caption", "title")


def alert_from(match: Match, trace_id: str, matched_at: datetime) -> AlertEvent:
    """The alert event of one match (pure): the hit's title, url, best highlight and quote."""
    hit = hit_from(match.hit)
    source = match.hit.get("_source") or {}
    snippet = next((hit.highlights[field][0] for field in SNIPPET_FIELDS if hit.highlights.get(field)), None)
    quote = None
    if hit.quotes:
        best = hit.quotes[0]
        quote = MatchedQuote(text=best.text, speaker=best.speaker, highlight=best.highlight)
        snippet = snippet or best.highlight
    alert_id = sent_id(match.watch, match.article_id, match.revision)
    return AlertEvent(
        event_id=uuid.uuid5(EVENT_ID_NAMESPACE, alert_id),
        produced_at=matched_at,
        producer=PRODUCER,
        trace_id=trace_id,
        watch_id=match.watch.id,
        watch_name=match.watch.name,
        watch_owner=match.watch.owner,
        article_id=match.article_id,
        title=hit.title or "",
        url=hit.url,
        snippet=snippet or hit.title,
        quote=quote,
        revision=match.revision,
        published_at=source.get("published_at"),
        matched_at=matched_at,
    )


class AlertHandler:
    """Matches each batch against the watches (see the module docstring)."""

    def __init__(
        self,
        archive: AlertArchive,
        watches: WatchCache,
        sender: WebhookSender,
        output_topic: str = TOPICS.alerts,
        webhook_parallel: int = 8,
        dlq_payload_max_bytes: int = 1_048_576,
    ) -> None:
        self.archive = archive
        self.watches = watches
        self.sender = sender
        self.output_topic = output_topic
        self.dlq_payload_max_bytes = dlq_payload_max_bytes
        self._webhooks = ThreadPoolExecutor(webhook_parallel, "alert-webhook")

    def close(self) -> None:
        self._webhooks.shutdown(wait=True)
        self.sender.close()

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        events: dict[int, ArticleEnriched] = {}
        outcomes: list[Outcome | None] = [None] * len(messages)
        for position, message in enumerate(messages):
            decoded = decode_event(message, ArticleEnriched)
            if isinstance(decoded, Rejected):
                outcomes[position] = Dropped("invalid: the index service dead-letters it", decoded.article_id)
            else:
                events[position] = decoded
        revisions: dict[str, int] = {}
        for event in events.values():
            article = event.article
            revisions[article.id] = max(revisions.get(article.id, 0), article.revision)
        watches = self.watches.current() if revisions else []
        searchable = self.archive.wait_until_searchable(revisions) if watches else {}
        matches = self.archive.match(watches, list(searchable))
        records = self._deliver(matches, {e.article.id: (e.trace_id, p) for p, e in events.items()}, messages)
        for position, event in events.items():
            article_id = event.article.id
            if watches and article_id not in searchable:
                outcomes[position] = Dropped("not searchable in time: not matched", article_id)
            else:
                emitted = tuple(records.pop(article_id, ()))
                outcomes[position] = Emitted(emitted, article_id=article_id, trace_id=event.trace_id)
        return [outcome or Dropped("no event") for outcome in outcomes]

    def _deliver(
        self,
        matches: list[Match],
        traces: dict[str, tuple[str, int]],
        messages: Sequence[Message],
    ) -> dict[str, list[Emit]]:
        """The records to produce per article: new alerts, and dead letters of failed webhooks."""
        if not matches:
            return {}
        by_key = {sent_id(match.watch, match.article_id, match.revision): match for match in matches}
        sent = self.archive.sent_records(by_key)
        matched_at = now()
        # An alert matched before (and not delivered) is sent again as it was first made.
        alerts = {
            key: (
                match,
                alert_from(
                    match,
                    traces[match.article_id][0],
                    datetime.fromisoformat(sent[key]["matched_at"]) if key in sent else matched_at,
                ),
            )
            for key, match in by_key.items()
        }
        fresh = {key: pair for key, pair in alerts.items() if sent.get(key, {}).get("status") != DELIVERED}
        if not fresh:
            return {}
        self.archive.record(
            {
                key: {
                    "watch_id": match.watch.id,
                    "article_id": match.article_id,
                    "revision": match.revision,
                    "event_id": str(alert.event_id),
                    "status": PENDING,
                    "matched_at": matched_at.isoformat(),
                }
                for key, (match, alert) in fresh.items()
                if key not in sent
            },
            "matched",
        )
        bodies = {key: orjson.dumps(alert.model_dump(mode="json")) for key, (_, alert) in fresh.items()}
        deliveries = {
            key: self._webhooks.submit(
                self.sender.deliver,
                str(match.watch.webhook.url),
                match.watch.webhook.secret.get_secret_value(),
                bodies[key],
                str(alert.event_id),
                match.watch.id,
            )
            for key, (match, alert) in fresh.items()
            if match.watch.webhook is not None and sent.get(key, {}).get("webhook") != DELIVERED
        }
        records: dict[str, list[Emit]] = {}
        took: dict[str, dict[str, Any]] = {}
        for key, (match, alert) in fresh.items():
            headers = (
                (TRACE_HEADER, alert.trace_id.encode()),
                (ARTICLE_HEADER, alert.article_id.encode()),
                (ALERT_ID_HEADER, key.encode()),
            )
            out = records.setdefault(match.article_id, [])
            out.append(Emit(self.output_topic, alert.key().encode(), bodies[key], headers))
            if key not in deliveries:
                continue
            delivery = deliveries[key].result()
            if delivery.delivered:
                took[key] = {"webhook": DELIVERED}
                continue
            log.error(
                "webhook failed for good; dead-lettered",
                extra={
                    "watch_id": match.watch.id,
                    "article_id": match.article_id,
                    "problem": delivery.problem,
                },
            )
            took[key] = {"webhook": "failed"}
            failed = Message(
                topic=self.output_topic,
                partition=-1,
                offset=-1,
                key=alert.key().encode(),
                value=bodies[key],
                headers=dict(headers),
                header_pairs=headers,
            )
            rejection = Rejected(
                FailureReason.WEBHOOK_FAILED,
                f"watch {match.watch.id}: {delivery.attempts} tries, last: {delivery.problem}",
                match.article_id,
                alert.trace_id,
            )
            out.append(
                dead_letter_record(
                    failed, rejection, FailureStage.ALERT, PRODUCER, self.dlq_payload_max_bytes
                )
            )
        self.archive.record(took, "webhooks")
        log.info(
            "alerts",
            extra={
                "matches": len(matches),
                "new": len(fresh),
                "webhooks": len(deliveries),
                "batch": len(messages),
            },
        )
        return records

    def acknowledged(self, messages: Sequence[Message], outcomes: Sequence[Outcome]) -> None:
        """Kafka has every alert of the batch: record them delivered (a replay skips them)."""
        keys = [
            value.decode()
            for outcome in outcomes
            if isinstance(outcome, Emitted)
            for record in outcome.records
            if record.topic == self.output_topic
            for name, value in record.headers
            if name == ALERT_ID_HEADER
        ]
        delivered_at = now().isoformat()
        self.archive.record(
            {key: {"status": DELIVERED, "delivered_at": delivered_at} for key in keys}, "delivered"
        )
