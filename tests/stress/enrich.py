"""Stress runs for the enrich service's consumer-group life cycle (issue 10: "the enrich stall").

Two scenarios against the real broker, each under fresh faust app ids (fresh consumer groups and
changelog topics, deleted afterwards):

``restart``  the integration test that stops enrich with SIGTERM and starts it again, N times in a
             row, optionally right after the near-duplicate test (the order in which it failed in CI).
``rounds``   enrich workers joining and leaving one group while articles flow: a worker joins, one is
             SIGKILLed in the middle of a batch, one is stopped with SIGTERM, ... After each round every
             article published so far must come out of ``articles.enriched`` within a bounded time.

The workers run with faust/aiokafka logging at DEBUG (fetch requests per partition, assignments,
pauses and resumes, recovery), kept under ``--out`` for every run; a failing round prints where.

    python3 -m tests.stress.enrich restart --runs 20 --after-dedup
    python3 -m tests.stress.enrich rounds --rounds 10
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from bench.speed.kafka_tools import reset_topics
from schemas.topics import TOPICS
from services.runtime.header_names import tolerate_non_utf8_header_names
from services.runtime.kafka import end_offsets, ensure_topics, pipeline_topics
from services.runtime.messages import TRACE_HEADER
from services.runtime.settings import KafkaSettings, TopicSettings
from tests.integration.test_enrich_service import EnrichProcess, start_group_at_end
from tests.unit.enrich.factories import article, ingested_event

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_BROKERS = {"127.0.0.1:9092", "localhost:9092"}
DEBUG_ENV = {"NEWSWIRE_ENRICH_LIBRARY_LOG_LEVEL": "DEBUG"}


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def stamp() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


# --- restart: the integration test, N times ---------------------------------------------------------


def run_restarts(runs: int, after_dedup: bool, out: Path) -> bool:
    tests = ["tests/integration/test_enrich_service.py"]
    if after_dedup:
        tests.insert(0, "tests/integration/test_dedup_service.py")
    passed = 0
    durations = []
    for run in range(1, runs + 1):
        base = out / f"restart-{run:02d}"
        started = time.monotonic()
        load_before = load()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *tests,
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                f"--basetemp={base}",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, **DEBUG_ENV},
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        durations.append(seconds)
        ok = result.returncode == 0
        passed += ok
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        print(
            f"{stamp()} restart {run}/{runs}: {'pass' if ok else 'FAIL'} {seconds:.1f}s "
            f"load {load_before} -> {load()}  {summary}",
            flush=True,
        )
        if not ok:
            (base / "pytest.out").parent.mkdir(parents=True, exist_ok=True)
            (base / "pytest.out").write_text(result.stdout + result.stderr)
            print(f"  logs under {base}", flush=True)
    print(
        f"restart: {passed}/{runs} passed, {sum(durations):.0f}s in all, "
        f"max {max(durations):.1f}s per run, load {load()}",
        flush=True,
    )
    return passed == runs


# --- rounds: workers joining and leaving while articles flow ----------------------------------------


class Publisher:
    """Publishes fresh articles to ``articles.ingested`` at a steady rate, in batches."""

    def __init__(self, kafka: KafkaSettings, run: str, rate: float) -> None:
        self.producer = KafkaProducer(**kafka.client_config(), acks="all", linger_ms=5)
        self.run = run
        self.rate = rate
        self.published: list[str] = []
        self.published_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start_batch(self, count: int) -> None:
        self._thread = threading.Thread(target=self._publish, args=(count,), daemon=True)
        self._thread.start()

    def wait_batch(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def ids(self) -> set[str]:
        with self.published_lock:
            return set(self.published)

    def _publish(self, count: int) -> None:
        for _ in range(count):
            source = article(title=f"Stress round article {uuid.uuid4().hex[:8]} {self.run}")
            event = ingested_event(source, trace_id=f"enrich-stress-{self.run}")
            self.producer.send(
                TOPICS.ingested,
                key=source.id.encode(),
                value=orjson.dumps(event.model_dump(mode="json")),
                headers=[(TRACE_HEADER, event.trace_id.encode())],
            ).get(timeout=30)
            with self.published_lock:
                self.published.append(source.id)
            time.sleep(1 / self.rate)

    def close(self) -> None:
        self.producer.close()


class EnrichedReader:
    """Follows ``articles.enriched`` from given offsets and collects the article ids it sees."""

    def __init__(self, kafka: KafkaSettings, start: dict[int, int]) -> None:
        tolerate_non_utf8_header_names()  # the bad-input tests write such headers to the shared topics
        self.consumer = KafkaConsumer(**kafka.client_config(), enable_auto_commit=False)
        partitions = [TopicPartition(TOPICS.enriched, p) for p in start]
        self.consumer.assign(partitions)
        for tp in partitions:
            self.consumer.seek(tp, start[tp.partition])
        self.seen: set[str] = set()
        self.failure: Exception | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        try:
            while not self.stopping.is_set():
                for records in self.consumer.poll(timeout_ms=300).values():
                    ids = {record.key.decode(errors="replace") for record in records if record.key}
                    with self.lock:
                        self.seen |= ids
        except Exception as exc:  # surfaced by ids(): a dead reader must not look like missing output
            self.failure = exc

    def ids(self) -> set[str]:
        if self.failure is not None:
            raise RuntimeError("the articles.enriched reader failed") from self.failure
        with self.lock:
            return set(self.seen)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.consumer.close()


class LogTail:
    """The lines of one JSON log with a given ``msg``, read incrementally (DEBUG logs grow large)."""

    def __init__(self, path: Path, messages: tuple[str, ...]) -> None:
        self.path = path
        self.markers = {msg: f'"msg": "{msg}"' for msg in messages}
        self.found: dict[str, list[dict]] = {msg: [] for msg in messages}
        self.offset = 0
        self.partial = b""

    def logged(self, msg: str) -> list[dict]:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        self.offset += len(chunk)
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", errors="replace")
            for name, marker in self.markers.items():
                if marker in line and line.startswith("{"):
                    self.found[name].append(json.loads(line))
        return self.found[msg]


@dataclass
class Worker:
    name: str
    process: EnrichProcess
    started_at: float = field(default_factory=time.monotonic)
    tail: LogTail = field(init=False)

    def __post_init__(self) -> None:
        self.tail = LogTail(self.process.log_path, ("enriched", "enrich ready"))

    def enriched(self) -> set[str]:
        return {entry["article_id"] for entry in self.tail.logged("enriched")}

    def alive(self) -> bool:
        return self.process.proc.poll() is None


class Group:
    """The enrich workers of one app id, started and stopped as the rounds say."""

    def __init__(self, kafka: KafkaSettings, app_id: str, out: Path) -> None:
        self.kafka = kafka
        self.app_id = app_id
        self.out = out
        self.running: list[Worker] = []
        self.everyone: list[Worker] = []
        self.numbers = itertools.count(1)

    def join(self, count: int = 1, ready_within_s: float = 90.0, stagger_s: float = 0.0) -> list[Worker]:
        """Start ``count`` more workers (``stagger_s`` apart) and wait until each says it is ready
        (it has its assignment then)."""
        workers = []
        for number in range(count):
            if number and stagger_s:
                time.sleep(stagger_s)
            workers.append(self._start(f"w{next(self.numbers)}"))
        deadline = time.monotonic() + ready_within_s
        for worker in workers:
            while not worker.tail.logged("enrich ready"):
                if time.monotonic() > deadline or not worker.alive():
                    raise RuntimeError(
                        f"{worker.name} not ready within {ready_within_s}s, see {worker.process.log_path}"
                    )
                time.sleep(0.2)
        return workers

    def _start(self, name: str, module: str = "services.enrich") -> Worker:
        env = {
            **os.environ,
            **DEBUG_ENV,
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "NEWSWIRE_ENRICH_APP_ID": self.app_id,
            "NEWSWIRE_ENRICH_METRICS_PORT": "0",
            "NEWSWIRE_ENRICH_DATA_DIR": str(self.out / f"faust-{name}"),
        }
        worker = Worker(name, EnrichProcess(env, self.out / f"{name}.log", module))
        self.running.append(worker)
        self.everyone.append(worker)
        return worker

    def busiest(self) -> Worker:
        """The running worker that enriches right now (the one to kill in the middle of a batch)."""
        before = {worker.name: len(worker.enriched()) for worker in self.running}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.2)
            for worker in self.running:
                if len(worker.enriched()) > before[worker.name]:
                    return worker
        return self.running[0]

    def kill(self) -> Worker:
        worker = self.busiest()
        worker.process.proc.send_signal(signal.SIGKILL)
        worker.process.proc.wait()
        worker.process.log_file.close()
        self.running.remove(worker)
        return worker

    def terminate(self) -> str:
        worker = self.running[0]
        code, seconds = worker.process.stop()
        self.running.remove(worker)
        return f"{worker.name} SIGTERM exit {code} in {seconds:.1f}s"

    def restart_all_at_once(self) -> str:
        """Stop every worker cleanly, then start two at the same moment (as ``bench.speed`` does)."""
        stopped = [self.terminate() for _ in list(self.running)]
        started = self.join(count=2)
        return f"{'; '.join(stopped)}; {' and '.join(w.name for w in started)} started together"

    def stop_all(self) -> None:
        for worker in list(self.running):
            worker.process.stop()
        self.running.clear()
        for worker in self.everyone:
            if worker.alive():
                worker.process.proc.kill()
                worker.process.proc.wait()

    def enriched(self) -> set[str]:
        return set().union(*(worker.enriched() for worker in self.everyone))


#: What each round does, starting from one running worker (always at least one left running):
#: a worker joins, one is SIGKILLed mid-batch, one stops with SIGTERM, two start at the same moment.
SCHEDULE = ("join", "kill", "join", "term", "join", "pair", "kill", "join", "term", "join")


def run_rounds(
    rounds: int, batch: int, rate: float, within_s: float, kafka: KafkaSettings, out: Path
) -> bool:
    run = uuid.uuid4().hex[:10]
    app_id = f"newswire-enrich-stress-{run}"
    out.mkdir(parents=True, exist_ok=True)
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    start_group_at_end(kafka, app_id, TOPICS.ingested)
    reader = EnrichedReader(kafka, end_offsets(kafka, TOPICS.enriched))
    publisher = Publisher(kafka, run, rate)
    group = Group(kafka, app_id, out)
    print(f"{stamp()} rounds: app id {app_id}, logs in {out}, load {load()}", flush=True)
    passed = 0
    try:
        group.join()
        # Round 0 is the start itself: one worker, one batch.
        ok = settle(0, "start", publisher, reader, group, batch, within_s, lambda: "w1 started")
        if not ok:
            return False
        for number, action in zip(range(1, rounds + 1), itertools.cycle(SCHEDULE), strict=False):

            def act(action: str = action) -> str:
                if action == "join":
                    return f"{group.join()[0].name} joined"
                if action == "kill":
                    return f"{group.kill().name} SIGKILLed"
                if action == "pair":
                    return group.restart_all_at_once()
                return group.terminate()

            ok = settle(number, action, publisher, reader, group, batch, within_s, act)
            passed += ok
            if not ok:
                break
    finally:
        group.stop_all()
        publisher.close()
        reader.close()
        delete_topics_of(kafka, app_id)
    print(f"rounds: {passed}/{rounds} passed, load {load()}", flush=True)
    return passed == rounds


def settle(
    number: int,
    action: str,
    publisher: Publisher,
    reader: EnrichedReader,
    group: Group,
    batch: int,
    within_s: float,
    act: object,
) -> bool:
    """Publish a batch, do ``act`` half-way through it, and wait until everything came out.

    The second half of the batch is published once ``act`` returned (a joining worker is ready by
    then), so a worker that joined has partitions with new articles to consume.
    """
    started = time.monotonic()
    first_half = batch // 2
    publisher.start_batch(first_half)
    time.sleep(first_half / publisher.rate / 2)
    what = act()  # type: ignore[operator]
    publisher.wait_batch()
    publisher.start_batch(batch - first_half)
    publisher.wait_batch()
    published_done = time.monotonic()
    deadline = published_done + within_s
    missing: set[str] = set()
    while time.monotonic() < deadline:
        published = publisher.ids()
        # Out of articles.enriched and enriched by one of this group's workers (other groups on the
        # shared broker may enrich the same events).
        missing = published - (reader.ids() & group.enriched())
        if not missing:
            break
        time.sleep(0.5)
    took = time.monotonic() - published_done
    counts = {worker.name: len(worker.enriched() & publisher.ids()) for worker in group.everyone}
    status = "pass" if not missing else f"FAIL ({len(missing)} of {len(publisher.ids())} missing)"
    print(
        f"{stamp()} round {number} {action}: {what}; {status}; all out {took:.1f}s after the batch "
        f"({time.monotonic() - started:.1f}s round), running {[w.name for w in group.running]}, "
        f"enriched per worker {counts}, load {load()}",
        flush=True,
    )
    if missing:
        print(f"  missing e.g. {sorted(missing)[:3]}; worker logs in {group.out}", flush=True)
    return not missing


# --- pairs: two workers started together on a backlog (bench.speed's enrich2 phase) ----------------


def run_pairs(
    runs: int,
    backlog: int,
    within_s: float,
    kafka: KafkaSettings,
    out: Path,
    workers: int,
    stagger_s: float,
    fresh_topics: int = 0,
) -> bool:
    """Each run: a fresh group, ``backlog`` articles waiting, ``workers`` workers started at the same
    moment (or ``stagger_s`` apart, so that each joins while the others recover).

    With ``fresh_topics`` (a private broker only, as ``bench.speed`` does on its own): the pipeline
    topics are deleted and created empty with that many partitions before each run, and the group
    starts without committed offsets, reading the backlog from the beginning.
    """
    if fresh_topics and kafka.bootstrap_servers.strip() in SHARED_BROKERS:
        raise SystemExit("--fresh-topics deletes the pipeline topics: never on the shared broker")
    if not fresh_topics:
        ensure_topics(kafka, pipeline_topics(TopicSettings()))
    passed = 0
    for number in range(1, runs + 1):
        run = uuid.uuid4().hex[:10]
        app_id = f"newswire-enrich-pair-{run}"
        run_out = out / f"pair-{number:02d}"
        run_out.mkdir(parents=True, exist_ok=True)
        if fresh_topics:
            reset_topics(kafka.bootstrap_servers, dict.fromkeys(TOPICS.all(), fresh_topics))
        else:
            start_group_at_end(kafka, app_id, TOPICS.ingested)
        reader = EnrichedReader(kafka, end_offsets(kafka, TOPICS.enriched))
        publisher = Publisher(kafka, run, rate=1000.0)
        group = Group(kafka, app_id, run_out)
        started = time.monotonic()
        missing: set[str] = set()
        try:
            publisher.start_batch(backlog)
            publisher.wait_batch()
            group.join(count=workers, stagger_s=stagger_s)
            deadline = time.monotonic() + within_s
            while time.monotonic() < deadline:
                missing = publisher.ids() - (reader.ids() & group.enriched())
                if not missing:
                    break
                time.sleep(0.5)
        finally:
            counts = {worker.name: len(worker.enriched() & publisher.ids()) for worker in group.everyone}
            group.stop_all()
            publisher.close()
            reader.close()
            delete_topics_of(kafka, app_id)
        passed += not missing
        status = (
            "pass" if not missing else f"FAIL ({len(missing)} of {backlog} missing after {within_s:.0f}s)"
        )
        print(
            f"{stamp()} pair {number}/{runs}: {status}; {time.monotonic() - started:.1f}s, "
            f"enriched per worker {counts}, load {load()}" + (f"; logs in {run_out}" if missing else ""),
            flush=True,
        )
    print(f"pairs: {passed}/{runs} passed, load {load()}", flush=True)
    return passed == runs


# --- window: a member joins while another one is finishing its recovery -----------------------------


def run_window(runs: int, batch: int, within_s: float, kafka: KafkaSettings, out: Path) -> bool:
    """Each run: a fresh group; a worker whose recovery callback sleeps (tests/stress/slow_recovery_worker)
    starts, a second one joins while it sleeps, then a batch must come out of the two."""
    ensure_topics(kafka, pipeline_topics(TopicSettings()))
    passed = 0
    for number in range(1, runs + 1):
        run = uuid.uuid4().hex[:10]
        app_id = f"newswire-enrich-window-{run}"
        run_out = out / f"window-{number:02d}"
        run_out.mkdir(parents=True, exist_ok=True)
        start_group_at_end(kafka, app_id, TOPICS.ingested)
        reader = EnrichedReader(kafka, end_offsets(kafka, TOPICS.enriched))
        publisher = Publisher(kafka, run, rate=20.0)
        group = Group(kafka, app_id, run_out)
        started = time.monotonic()
        missing: set[str] = set()
        try:
            publisher.start_batch(batch // 2)
            slow = group._start(f"w{next(group.numbers)}", "tests.stress.slow_recovery_worker")
            sleeping = LogTail(slow.process.log_path, ("recovery callback sleeping",))
            deadline = time.monotonic() + 90
            while not sleeping.logged("recovery callback sleeping") and time.monotonic() < deadline:
                time.sleep(0.2)
            group.join()  # joins while the first one sits in its recovery callback
            publisher.wait_batch()
            publisher.start_batch(batch - batch // 2)
            publisher.wait_batch()
            deadline = time.monotonic() + within_s
            while time.monotonic() < deadline:
                missing = publisher.ids() - (reader.ids() & group.enriched())
                if not missing:
                    break
                time.sleep(0.5)
        finally:
            counts = {worker.name: len(worker.enriched() & publisher.ids()) for worker in group.everyone}
            group.stop_all()
            publisher.close()
            reader.close()
            delete_topics_of(kafka, app_id)
        passed += not missing
        status = "pass" if not missing else f"FAIL ({len(missing)} of {batch} missing after {within_s:.0f}s)"
        print(
            f"{stamp()} window {number}/{runs}: {status}; {time.monotonic() - started:.1f}s, "
            f"enriched per worker {counts}, load {load()}" + (f"; logs in {run_out}" if missing else ""),
            flush=True,
        )
    print(f"window: {passed}/{runs} passed, load {load()}", flush=True)
    return passed == runs


def delete_topics_of(kafka: KafkaSettings, app_id: str) -> None:
    admin = KafkaAdminClient(**kafka.client_config(), client_id="newswire-enrich-stress")
    try:
        mine = [topic for topic in admin.list_topics() if topic.startswith(app_id)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="where logs go (default: a fresh dir in /tmp)")
    sub = parser.add_subparsers(dest="scenario", required=True)
    restart = sub.add_parser("restart", help="the SIGTERM-and-restart integration test, N times")
    restart.add_argument("--runs", type=int, default=20)
    restart.add_argument("--after-dedup", action="store_true", help="run the near-duplicate test before it")
    rounds = sub.add_parser("rounds", help="workers joining and leaving while articles flow")
    rounds.add_argument("--rounds", type=int, default=10)
    rounds.add_argument("--batch", type=int, default=120, help="articles published per round")
    rounds.add_argument("--rate", type=float, default=12.0, help="articles per second")
    rounds.add_argument(
        "--within",
        type=float,
        default=150.0,
        help="seconds after a batch by which all must be out (a SIGKILLed member holds its partitions "
        "until its 60 s session expires)",
    )
    pairs = sub.add_parser("pairs", help="two workers started together on a backlog, N times")
    pairs.add_argument("--runs", type=int, default=10)
    pairs.add_argument("--backlog", type=int, default=400)
    pairs.add_argument("--within", type=float, default=90.0, help="seconds for the backlog to come out")
    pairs.add_argument("--workers", type=int, default=2)
    pairs.add_argument("--stagger", type=float, default=0.0, help="seconds between the workers' starts")
    pairs.add_argument(
        "--fresh-topics",
        type=int,
        default=0,
        metavar="PARTITIONS",
        help="private broker only: recreate the pipeline topics empty before each run, no committed offsets",
    )
    window = sub.add_parser("window", help="a member joins while another finishes its recovery, N times")
    window.add_argument("--runs", type=int, default=5)
    window.add_argument("--batch", type=int, default=200)
    window.add_argument("--within", type=float, default=120.0)
    args = parser.parse_args(argv)
    out = args.out or Path(f"/tmp/enrich-stress-{datetime.now(UTC):%H%M%S}-{uuid.uuid4().hex[:4]}")
    out.mkdir(parents=True, exist_ok=True)
    kafka = KafkaSettings(
        bootstrap_servers=os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    if args.scenario == "restart":
        ok = run_restarts(args.runs, args.after_dedup, out)
    elif args.scenario == "window":
        ok = run_window(args.runs, args.batch, args.within, kafka, out)
    elif args.scenario == "pairs":
        ok = run_pairs(
            args.runs, args.backlog, args.within, kafka, out, args.workers, args.stagger, args.fresh_topics
        )
    else:
        ok = run_rounds(args.rounds, args.batch, args.rate, args.within, kafka, out)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
