"""``python -m services.enrich``: wait for Kafka, create the topics, run the faust worker until SIGTERM.

faust's worker installs the SIGTERM/SIGINT handlers: it stops the agent after the event in hand,
commits the acked offsets, closes the Kafka clients and exits 0. Logging stays ours (JSON lines
on stderr): the worker is told not to configure logging, print its banner or redirect stdout.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any

import faust

from schemas.topics import min_insync_replicas
from services.enrich.app import CHANGELOG_CONFIGS, app, duplicate_signatures, route, settings
from services.enrich.log_throttle import throttle_repeats
from services.enrich.pipeline import warm_up
from services.runtime.kafka import ensure_topics, pipeline_topics, wait_for_broker
from services.runtime.logging import configure_logging

log = logging.getLogger("services.enrich")


class EnrichWorker(faust.Worker):
    """faust's worker, reporting readiness in our log format instead of its terminal banner."""

    def __init__(self, *args: Any, started_at: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started_at = started_at
        self.ready = False
        self.spinner = None  # it writes terminal escapes to stdout even when stdout is a file

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        self.ready = True
        log.info(
            "enrich ready",
            extra={"app_id": settings.app_id, "startup_s": round(time.monotonic() - self.started_at, 2)},
        )

    def on_worker_shutdown(self) -> None:
        log.info("enrich stopping", extra={"app_id": settings.app_id})


_START_ATTEMPT = "NEWSWIRE_ENRICH_START_ATTEMPT"
_MAX_START_ATTEMPTS = 10


def _exit_now(signum: int, frame: object) -> None:
    log.info("enrich stopped before start", extra={"signal": signum})
    raise SystemExit(0)


def main() -> None:
    started_at = time.monotonic()
    configure_logging("enrich", settings.log_level, settings.log_json)
    if settings.library_log_level != "WARNING":  # to see fetches, assignments, pauses and recovery
        for library in ("faust", "mode", "aiokafka"):
            logging.getLogger(library).setLevel(settings.library_log_level)
    if settings.library_log_level != "DEBUG":
        throttle_repeats()
    # Until faust's worker installs its own handlers, SIGTERM has nothing to finish: just leave.
    signal.signal(signal.SIGTERM, _exit_now)
    log.info(
        "enrich starting", extra={"app_id": settings.app_id, "bootstrap": settings.kafka.bootstrap_servers}
    )
    warm_up()  # first: the shorter the gap between our broker check and faust's start, the better
    try:
        wait_for_broker(settings.kafka)
    except (TimeoutError, PermissionError) as exc:  # PermissionError: refused (diagnose.AccessRefused)
        log.error("Kafka unreachable, giving up", extra={"error": str(exc)})
        raise SystemExit(1) from exc
    partitions = ensure_topics(
        settings.kafka,
        # The route's topics too: a reprocess run's or a test's own (no configs: not the pipeline's).
        {route.input_topic: settings.topics.partitions, route.output_topic: settings.topics.partitions}
        | pipeline_topics(settings.topics),
        settings.topics.replication_factor,
    )
    ensure_changelog_topic()
    if partitions[route.input_topic] != app.conf.topic_partitions:
        log.warning(
            "input topic partition count differs from settings; using the topic's",
            extra={
                "topic": route.input_topic,
                "topic_partitions": partitions[route.input_topic],
                "configured": app.conf.topic_partitions,
            },
        )
        app.conf.topic_partitions = partitions[route.input_topic]
    worker = EnrichWorker(
        app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
        started_at=started_at,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        _start_over_if_kafka_left_during_startup(worker, exc)
        raise


def ensure_changelog_topic() -> None:
    """Create the near-duplicate changelog before faust starts, and wait until every broker knows it.

    faust creates it itself, but on a fresh multi-broker cluster its first worker then hangs for good:
    the consumer's metadata does not have the just-created topic yet, faust ignores it as missing and
    never joins its group (seen on the 3-broker cluster, tests/cluster). Created here, it is in the
    metadata before faust looks; an existing one gets its configs put back if they were changed.
    """
    changelog = duplicate_signatures.changelog_topic.get_topic_name()
    replication_factor = settings.topics.replication_factor
    configs = {
        "cleanup.policy": "compact",
        **CHANGELOG_CONFIGS,
        "min.insync.replicas": str(min_insync_replicas(replication_factor)),
    }
    ensure_topics(settings.kafka, {changelog: 1}, replication_factor, configs={changelog: configs})


def _start_over_if_kafka_left_during_startup(worker: EnrichWorker, exc: SystemExit) -> None:
    """Re-exec this process when faust failed before it was ready (the broker vanished meanwhile).

    faust's clients try to bootstrap once and give up; a broker restarting between our wait and
    faust's start must delay the service, not stop it. The pid stays the same (exec), a few tries.
    """
    attempt = int(os.environ.get(_START_ATTEMPT, "1"))
    if exc.code in (0, None) or worker.ready or attempt >= _MAX_START_ATTEMPTS:
        return
    log.warning("faust could not start; waiting for Kafka and starting over", extra={"attempt": attempt})
    os.environ[_START_ATTEMPT] = str(attempt + 1)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.execv(sys.executable, [sys.executable, "-m", "services.enrich"])


if __name__ == "__main__":
    main()
