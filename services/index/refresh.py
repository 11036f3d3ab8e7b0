"""Catch-up mode: a longer refresh interval while the index service works through a backlog.

Refreshing makes new documents searchable and costs Elasticsearch a new segment, and later merges,
every time: with the template's 1 s interval, a bulk load costs it well over a third more CPU per
document than with refresh off (``make bench``, L with and without). While the service is far
behind (``catch_up_lag`` messages or more), its documents wait for their turn anyway, so it sets
``refresh_interval`` of the index behind the alias to ``catch_up_interval``, still refreshing now
and then; once it is less than a batch behind it restores the template's interval and refreshes
at once, so that everything written becomes searchable right away.

Only transitions touch the setting, so a caught-up replica never undoes another's catch-up. A
replica that starts and finds the catch-up interval in place (its predecessor was killed during
a catch-up) restores the normal one; any other value was set by an operator and is left alone.
Failures to change the setting are logged and tried again at the next transition: they cost
speed or freshness, never documents.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from elasticsearch import ApiError, TransportError

from schemas.search_index import ALIAS, index_template

log = logging.getLogger(__name__)


class IndicesApi(Protocol):
    """The part of ``Elasticsearch.indices`` catch-up mode uses."""

    def get_settings(self, *, index: str, name: str) -> Any: ...

    def put_settings(self, *, index: str, settings: dict[str, Any]) -> Any: ...

    def refresh(self, *, index: str) -> Any: ...


def normal_refresh_interval() -> str:
    """The template's refresh interval: what the index has when no catch-up is running."""
    return str(index_template()["template"]["settings"]["refresh_interval"])


class CatchUpRefresh:
    """Decides, from the consumer lag after each poll, when to enter and leave catch-up mode."""

    def __init__(
        self,
        indices: IndicesApi,
        *,
        catch_up_lag: int,
        leave_below_lag: int,
        catch_up_interval: str = "30s",
        normal_interval: str | None = None,
        alias: str = ALIAS,
    ) -> None:
        self.indices = indices
        self.catch_up_lag = catch_up_lag
        self.leave_below_lag = leave_below_lag
        self.catch_up_interval = catch_up_interval
        self.normal_interval = normal_interval or normal_refresh_interval()
        self.alias = alias
        self.catching_up = False

    @property
    def enabled(self) -> bool:
        return self.catch_up_lag > 0

    def restore_after_crash(self) -> None:
        """At start-up: put the normal interval back if a killed predecessor left the catch-up one."""
        if not self.enabled:
            return
        try:
            current = self._current_intervals()
        except (ApiError, TransportError) as exc:
            log.warning("could not read the refresh interval", extra={"error": str(exc)})
            return
        if any(value == self.catch_up_interval for value in current.values()):
            log.warning(
                "refresh interval left at the catch-up value; restoring it",
                extra={"found": current, "restored": self.normal_interval},
            )
            self._set(self.normal_interval)

    def observe(self, lag: int | None) -> None:
        """React to the lag measured after a poll (None: not known yet)."""
        if not self.enabled or lag is None:
            return
        if not self.catching_up and lag >= self.catch_up_lag:
            if self._set(self.catch_up_interval):
                self.catching_up = True
                log.info(
                    "catch-up mode on",
                    extra={"lag": lag, "refresh_interval": self.catch_up_interval},
                )
        elif self.catching_up and lag < self.leave_below_lag:
            self.leave(lag)

    def leave(self, lag: int | None = None) -> None:
        """Restore the normal interval and refresh now (also on the way out, if catching up)."""
        if not self.catching_up:
            return
        if self._set(self.normal_interval):
            self.catching_up = False
            try:
                self.indices.refresh(index=self.alias)
            except (ApiError, TransportError) as exc:
                log.warning("refresh after catch-up failed", extra={"error": str(exc)})
            log.info("catch-up mode off", extra={"lag": lag, "refresh_interval": self.normal_interval})

    def _current_intervals(self) -> dict[str, str | None]:
        response = self.indices.get_settings(index=self.alias, name="index.refresh_interval")
        return {
            index: body.get("settings", {}).get("index", {}).get("refresh_interval")
            for index, body in dict(response).items()
        }

    def _set(self, interval: str) -> bool:
        try:
            self.indices.put_settings(index=self.alias, settings={"index": {"refresh_interval": interval}})
        except (ApiError, TransportError) as exc:
            log.warning(
                "could not change the refresh interval",
                extra={"refresh_interval": interval, "error": str(exc)},
            )
            return False
        return True
