"""The stall watchdog against real parts: a consumer frozen mid-batch is found, reported and ended.

The index service test runs ``python -m services.index`` with Elasticsearch behind a loopback
TCP proxy the test can freeze: once frozen it accepts and reads but forwards nothing, so a bulk
request hangs without an error (the service's request timeout is set far beyond the test). The
worker thread then waits on its write forever, holding its partitions with lag, while its
heartbeats keep it in the group: exactly the silent stall the watchdog exists for.

The worker test freezes the shared runtime's loop itself (a handler that blocks) in-process,
with the real sampler on a real broker: the path ingest takes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from schemas.dead_letter import FailureStage
from schemas.search_index import ALIAS
from services.runtime.kafka import ensure_topics, make_consumer, make_producer
from services.runtime.messages import Emitted, Message, Outcome
from services.runtime.metrics import ConsumerLagSampler, Health
from services.runtime.settings import KafkaSettings
from services.runtime.watchdog import STALL_EXIT_CODE, Stall, Watchdog
from services.runtime.worker import Worker
from tests.integration.endpoints import free_port
from tests.integration.test_index_service import (
    bbc_events,
    count_ids_once_created,
    delete_documents,
    index_service,
    new_group,
    produce_events,
)

STALL_TIMEOUT_S = 10.0


class FreezableProxy:
    """A TCP proxy to ``upstream`` on a free loopback port; ``freeze()`` stops all forwarding.

    Frozen, it still accepts connections and reads what clients send, but passes nothing on in
    either direction: requests hang without an error, as behind a dead middlebox. Refusing, it
    drops every connection at once: the upstream looks down, and clients get errors.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._frozen = threading.Event()
        self._refusing = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def freeze(self) -> None:
        self._frozen.set()

    def refuse(self) -> None:
        self._refusing.set()
        for sock in self._connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._refusing.clear()

    def close(self) -> None:
        self._closed.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._sockets += [client, server]
            self._connections += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while self._frozen.is_set():
                    if self._closed.wait(0.1):
                        return
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def es_proxy(endpoints: Any) -> Iterator[FreezableProxy]:
    upstream = httpx.URL(endpoints.es_url.split(",")[0])
    proxy = FreezableProxy((upstream.host, upstream.port or 9200))
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def kafka_settings(endpoints: Any) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap, startup_timeout_s=10)


def probe(url: str, path: str) -> tuple[int, str]:
    try:
        response = httpx.get(f"{url}{path}", timeout=2)
    except httpx.HTTPError as exc:
        return 0, repr(exc)
    return response.status_code, response.text


def log_lines(log_text: str) -> list[dict[str, Any]]:
    lines = []
    for line in log_text.splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return lines


def test_index_service_frozen_on_a_hanging_bulk_request_fails_its_probes_logs_the_offsets_and_exits_70(
    es: Elasticsearch,
    es_proxy: FreezableProxy,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A hanging bulk request must hang, not time out into a (known, retried) transient failure.
    monkeypatch.setenv("NEWSWIRE_ES_REQUEST_TIMEOUT_S", "600")
    group_id = new_group(kafka_settings)
    flowing, flowing_ids = bbc_events(20)
    frozen, frozen_ids = bbc_events(40)
    frozen, frozen_ids = frozen[20:], frozen_ids[20:]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        with index_service(
            tmp_path,
            es_proxy.url,
            kafka_settings,
            group_id,
            metrics_port=str(port),
            stall_timeout_s=str(STALL_TIMEOUT_S),
        ) as service:
            service.wait_until(lambda: probe(url, "/readyz")[0] == 200, 120)
            before = produce_events(kafka_settings, flowing)
            service.wait_until(
                lambda: count_ids_once_created(es, ALIAS, flowing_ids) == len(flowing_ids), 120
            )
            # Flowing for longer than the timeout is no stall: the committed offsets moved, and
            # partitions without lag are never stalled.
            time.sleep(STALL_TIMEOUT_S + 5)
            assert probe(url, "/healthz")[0] == 200 and probe(url, "/readyz")[0] == 200, service.log_tail()

            es_proxy.freeze()
            stuck = produce_events(kafka_settings, frozen)
            frozen_at = time.monotonic()

            # /healthz and /readyz both say why, for the few seconds before the exit.
            reasons: dict[str, str] = {}

            def both_probes_failed() -> bool:
                for path in ("/healthz", "/readyz"):
                    status, text = probe(url, path)
                    if status == 503 and text.startswith("stalled: "):
                        reasons[path] = text
                return len(reasons) == 2

            service.wait_until(both_probes_failed, STALL_TIMEOUT_S + 45, interval_s=0.2)
            noticed_s = time.monotonic() - frozen_at
            exit_code = service.process.wait(timeout=60)
            exited_s = time.monotonic() - frozen_at
            log_text = service.log_path.read_text(encoding="utf-8", errors="replace")
        print(f"stall noticed {noticed_s:.1f}s and the process gone {exited_s:.1f}s after the freeze")

        assert exit_code == STALL_EXIT_CODE == 70, log_text[-4000:]
        assert exited_s < STALL_TIMEOUT_S + 60, f"exited {exited_s:.0f}s after the freeze"
        (stalled,) = [
            line for line in log_lines(log_text) if line.get("msg", "").startswith("consumer stalled")
        ]
        assert stalled["level"] == "error" and stalled["exit_code"] == 70

        # Every partition the frozen events went to is named, with its committed and end offsets:
        # committed at or before the first frozen event (after the last indexed one), end past it.
        first_stuck: dict[str, int] = {}
        for record in stuck:
            name = f"{record.topic}[{record.partition}]"
            first_stuck[name] = min(first_stuck.get(name, record.offset), record.offset)
        last_indexed: dict[str, int] = {}
        for record in before:
            name = f"{record.topic}[{record.partition}]"
            last_indexed[name] = max(last_indexed.get(name, -1), record.offset)
        assert set(first_stuck) <= set(stalled["partitions"]), stalled
        for name, offset in first_stuck.items():
            assert last_indexed.get(name, -1) < stalled["committed"][name] <= offset, (name, stalled)
            assert stalled["end"][name] > offset, (name, stalled)
            assert f"{name} committed {stalled['committed'][name]}, end " in reasons["/readyz"]
        assert reasons["/healthz"] == reasons["/readyz"]
    finally:
        delete_documents(es, ALIAS, flowing_ids + frozen_ids)


class _Freezer:
    """A handler that passes messages on until told to freeze, then blocks on the next batch."""

    def __init__(self) -> None:
        self.frozen = threading.Event()
        self.thawed = threading.Event()
        self.blocked = threading.Event()

    def process(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        if self.frozen.is_set():
            self.blocked.set()
            self.thawed.wait()
        return [Emitted(()) for _ in messages]


def test_a_worker_loop_frozen_in_its_handler_is_found_by_the_sampler_and_ended(
    kafka_settings: KafkaSettings,
) -> None:
    """The shared runtime's path (ingest's): assignment published by the loop, real sampler."""
    run = uuid.uuid4().hex[:10]
    topic, group = f"test.watchdog.{run}", f"test-watchdog-{run}"
    ensure_topics(kafka_settings, {topic: 2})
    freezer = _Freezer()
    worker = Worker(
        name="watchdog-test",
        stage=FailureStage.INGEST,
        handler=freezer,
        consumer=make_consumer(kafka_settings, group, [topic], "watchdog-test", max_poll_records=10),
        producer=make_producer(kafka_settings, "watchdog-test"),
        poll_timeout_ms=200,
    )
    exits: list[int] = []
    stalls: list[list[Stall]] = []
    health = Health()
    watchdog = Watchdog(
        "watchdog-test", 4.0, health=health, assignment=worker.assignment, exit=exits.append, exit_delay_s=0
    )

    def on_sample(offsets: Any) -> None:
        found = watchdog.on_sample(offsets)
        if found:
            stalls.append(found)

    sampler = ConsumerLagSampler(kafka_settings, group, topic, interval_s=0.5, listeners=[on_sample]).start()
    loop = threading.Thread(target=worker.run, daemon=True)
    producer = KafkaProducer(**kafka_settings.client_config())
    try:
        loop.start()
        for n in range(30):
            producer.send(topic, key=f"k{n}".encode(), value=b"flowing", partition=n % 2)
        producer.flush()
        _wait_for(lambda: worker.stats.commits > 0 and worker.stats.consumed == 30, 60, "the first records")
        time.sleep(6)  # caught up for longer than the timeout: no stall
        assert exits == [] and health.liveness()[0], stalls

        freezer.frozen.set()
        sent = [producer.send(topic, value=b"stuck", partition=1) for _ in range(5)]
        producer.flush()
        first_stuck = min(future.get(timeout=10).offset for future in sent)
        _wait_for(lambda: bool(exits), 60, "the watchdog")

        assert exits[0] == STALL_EXIT_CODE
        (stall,) = stalls[0]
        assert (stall.topic, stall.partition, stall.committed) == (topic, 1, first_stuck)
        assert stall.end == first_stuck + 5 and stall.stalled_s >= 4.0
        alive, why = health.liveness()
        assert not alive and why.startswith(
            f"stalled: {topic}[1] committed {first_stuck}, end {first_stuck + 5}"
        )
    finally:
        freezer.thawed.set()
        worker.stop()
        loop.join(timeout=30)
        sampler.close()
        producer.close()


def test_index_service_retrying_a_dependency_that_is_down_is_not_restarted(
    es: Elasticsearch,
    es_proxy: FreezableProxy,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
) -> None:
    """Elasticsearch unreachable for four stall timeouts: readiness says it retries, the process stays.

    A restart does not bring a dependency back (README, Guarantees: the known retry states).
    """
    group_id = new_group(kafka_settings)
    events, ids = bbc_events(30)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    timeout_s = 5.0
    try:
        with index_service(
            tmp_path,
            es_proxy.url,
            kafka_settings,
            group_id,
            metrics_port=str(port),
            stall_timeout_s=str(timeout_s),
            retry_max_s="2",
        ) as service:
            service.wait_until(lambda: probe(url, "/readyz")[0] == 200, 120)
            es_proxy.refuse()
            produce_events(kafka_settings, events)
            service.wait_until(lambda: probe(url, "/readyz")[1].startswith("retrying"), 60)
            outage_end = time.monotonic() + 4 * timeout_s
            while time.monotonic() < outage_end:
                service.fail_if_exited()
                assert probe(url, "/healthz")[0] == 200, service.log_tail()
                time.sleep(0.5)
            es_proxy.restore()
            service.wait_until(lambda: count_ids_once_created(es, ALIAS, ids) == len(ids), 120)
            service.wait_until(lambda: probe(url, "/readyz")[0] == 200, 30)
            log_text = service.stop()
        assert '"transient failure, retrying batch"' in log_text
        assert "consumer stalled" not in log_text
    finally:
        delete_documents(es, ALIAS, ids)


def _wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s}s")
        time.sleep(0.1)
