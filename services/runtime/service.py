"""One way to start a service: settings, logging, endpoints, watchdog, signals, worker.

``python -m services.ingest`` and ``python -m services.index`` are :func:`run_service` with their
settings class and worker factory. enrich (a faust worker, with its own loop and signal
handling) uses the parts: :func:`start_monitoring` for the endpoints, lag sampler and watchdog,
and publishes its assignment into the returned watchdog's ``assignment`` from a timer.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from kafka.errors import KafkaError

from services.runtime.logging import configure_logging
from services.runtime.metrics import ConsumerLagSampler, MetricsServer, serve
from services.runtime.settings import ServiceSettings, load_settings
from services.runtime.watchdog import Watchdog, sample_interval
from services.runtime.worker import Worker, run_forever

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)

#: Failures of the bounded start-up waits (broker, topics, Elasticsearch): logged in one line, exit 1.
STARTUP_ERRORS: tuple[type[Exception], ...] = (TimeoutError, PermissionError, RuntimeError, KafkaError)


def run_service(
    service: str,
    settings_class: type[S],
    build_worker: Callable[[S], Worker],
    *,
    group_id: Callable[[S], str],
    input_topic: str,
    startup_errors: tuple[type[Exception], ...] = (),
) -> None:
    """Run one service until SIGTERM/SIGINT (exit 0), a failed start-up (1) or a stall (70).

    In order: settings (one line per bad variable, exit 1), logging, a stop request before the
    worker exists just exits 0, ``/metrics``, ``/healthz`` and ``/readyz`` (alive while starting),
    the worker (``build_worker`` waits for its dependencies within their startup timeouts; any of
    :data:`STARTUP_ERRORS` or ``startup_errors`` ends the process with one error line), the
    watchdog on the worker's assignment, then the worker with its graceful stop handlers.
    """
    settings = load_settings(settings_class)
    configure_logging(service, settings.log_level, settings.log_json)
    group = group_id(settings)
    signal.signal(signal.SIGTERM, _exit_before_start)
    signal.signal(signal.SIGINT, _exit_before_start)
    log.info(
        "starting",
        extra={
            "group_id": group,
            "topic": input_topic,
            "bootstrap": settings.kafka.bootstrap_servers,
            "stall_timeout_s": settings.stall_timeout_s,
        },
    )
    watchdog = start_monitoring(service, settings, group_id=group, input_topic=input_topic)
    try:
        worker = build_worker(settings)
    except (*STARTUP_ERRORS, *startup_errors) as exc:
        log.error("startup failed", extra={"error": str(exc) or repr(exc)})
        raise SystemExit(1) from exc
    if watchdog is not None:
        watchdog.assignment = worker.assignment
    run_forever(lambda: worker)


def start_monitoring(
    service: str, settings: ServiceSettings, *, group_id: str, input_topic: str
) -> Watchdog | None:
    """Serve the endpoints (unless ``metrics_port`` is 0) and sample the group's offsets.

    One sampler thread with its own Kafka clients feeds the lag gauge and the watchdog (None
    when ``stall_timeout_s`` is 0). Whoever consumes publishes its assignment into the
    watchdog's ``assignment`` (or replaces it with its own, as :func:`run_service` does with
    the worker's); until then no partition is watched. A faust app (enrich) calls this once
    started, instead of ``metrics.serve``, and publishes from a timer on its event loop, so that
    a blocked loop leaves the last assignment in place::

        watchdog = start_monitoring("enrich", settings, group_id=settings.app_id, input_topic=TOPICS.ingested)

        @app.timer(interval=5.0)
        async def heartbeat() -> None:
            metrics.HEALTH.beat()
            if watchdog is not None:
                held = app.consumer.assignment()
                watchdog.assignment.publish(tp for tp in held if tp.topic == TOPICS.ingested)

    and marks its known retries with ``metrics.HEALTH.set_retrying(reason)`` (then
    ``set_ready(True)``), which the watchdog does not restart.
    """
    server: MetricsServer | None = None
    if settings.metrics_port:
        server = serve(service, settings.metrics_host, settings.metrics_port)
    watchdog = Watchdog(service, settings.stall_timeout_s) if settings.stall_timeout_s else None
    if watchdog is None and server is None:
        return None  # nobody reads the lag gauge, nobody watches
    ConsumerLagSampler(
        settings.kafka,
        group_id,
        input_topic,
        interval_s=sample_interval(settings.stall_timeout_s),
        listeners=[watchdog.on_sample] if watchdog is not None else [],
    ).start()
    return watchdog


def _exit_before_start(signum: int, _frame: FrameType | None) -> None:
    # The worker installs its graceful handlers once built; a stop request while waiting for the
    # broker or Elasticsearch has nothing to finish.
    log.info("stopped before the worker started", extra={"signal": signum})
    raise SystemExit(0)
