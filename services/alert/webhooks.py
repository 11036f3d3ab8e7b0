"""Delivering an alert to a watch's webhook: a signed POST, retried with backoff, a verdict at the end.

The body is the alert event's JSON, exactly the bytes signed: ``X-Newswire-Signature:
sha256=<hex HMAC-SHA256 of the body with the watch's secret>``. A receiver recomputes it over the raw
body and compares in constant time (:func:`signature_matches`); ``X-Newswire-Event-Id`` (also the
body's ``event_id``) lets it drop a repeat. Any 2xx is a delivery; 408, 429 and 5xx, timeouts and
connection failures are tried again after a growing pause; any other answer (400, 401, 404, 410...)
will not change by trying again, and ends the delivery at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Newswire-Signature"
EVENT_ID_HEADER = "X-Newswire-Event-Id"
WATCH_HEADER = "X-Newswire-Watch"
USER_AGENT = "newswire-alert/1"
#: Answers worth another try: the receiver is overloaded, restarting or slow.
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def signature(body: bytes, secret: str) -> str:
    """The ``X-Newswire-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver checks: the header is the signature of the raw body (constant-time compare)."""
    return header is not None and hmac.compare_digest(signature(body, secret), header)


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended: delivered or not, after how many tries, and the last problem."""

    delivered: bool
    attempts: int
    problem: str | None = None


@dataclass(frozen=True)
class Backoff:
    """Tries and pauses: exponential from ``initial_s``, capped at ``max_s``, with jitter."""

    attempts: int = 5
    initial_s: float = 0.5
    max_s: float = 8.0

    def pause(self, failed_tries: int) -> float:
        ceiling = min(self.max_s, self.initial_s * 2 ** (failed_tries - 1))
        return random.uniform(ceiling / 2, ceiling)


class WebhookSender:
    """POSTs alerts with one pooled HTTP client; safe to use from several threads."""

    def __init__(
        self,
        backoff: Backoff,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.backoff = backoff
        # No redirects: a signed alert goes where the watch says, nowhere else.
        self.client = client or httpx.Client(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self._sleep = sleep

    def close(self) -> None:
        self.client.close()

    def deliver(self, url: str, secret: str, body: bytes, event_id: str, watch_id: str) -> Delivery:
        """POST ``body`` until a 2xx, a final refusal or the last try; never raises."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(body, secret),
            EVENT_ID_HEADER: event_id,
            WATCH_HEADER: watch_id,
        }
        problem = "not tried"
        for attempt in range(1, self.backoff.attempts + 1):
            try:
                response = self.client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                retry = True
            else:
                if 200 <= response.status_code < 300:
                    return Delivery(True, attempt)
                problem = f"answered {response.status_code}"
                retry = response.status_code in RETRIED_STATUSES
            if not retry or attempt == self.backoff.attempts:
                return Delivery(False, attempt, problem)
            pause = self.backoff.pause(attempt)
            # The URL may carry a token in its query: log the watch, not the URL.
            log.warning(
                "webhook failed, trying again",
                extra={
                    "watch_id": watch_id,
                    "attempt": attempt,
                    "problem": problem,
                    "pause_s": round(pause, 2),
                },
            )
            self._sleep(pause)
        return Delivery(False, self.backoff.attempts, problem)
