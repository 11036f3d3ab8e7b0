"""Peak memory and restart time of an enrich worker against the archive's size, before and after the window.

``python -m bench.speed.dedup_memory [--sizes 20000,200000] [--before-sizes 20000,200000] [--per-day 500]``
against a running broker (``make up``; ``--bootstrap``, default 127.0.0.1:9092).

What a worker reads when it starts is the near-duplicate GlobalTable's changelog: its memory store
starts empty (a fresh data directory), so a restart and a first start are the same. For each archive
size the benchmark writes the changelog a worker would have left behind after enriching that many
articles, then starts a real ``python -m services.enrich`` on it and measures:

* restart-to-ready: from spawning the process to its ``enrich ready`` log line (which comes once the
  table is recovered; ``near-duplicate state recovered`` is logged just before), and the recovery alone
  (from faust's ``Restoring state from changelog topics...`` to ``near-duplicate state recovered``, by
  the log lines' timestamps; the rest is imports, the enrichers' warm-up and joining the group);
* peak RSS: the kernel's high-water mark (VmHWM) of the process once ready;
* the load average (1 min) when the worker started and when it was ready: the machine is shared.

The archive is synthetic but shaped like a wire: ``--per-day`` articles a day (default 500, so
200,000 articles span 400 days), ``ingested_at`` evenly spaced from 2025-01-01. Each article is ten
sentences drawn at random from the BBC corpus (``../shared/corpora/bbc-news``, read at run time);
``--copy-share`` of them (default 10%) are copies, made with :mod:`bench.quality.perturb`, of an
article of the previous three days. Both changelogs come from the real indexes fed that stream in
order (one signature per article, shared by both):

* ``before``: the code before the window (``--before-ref``, checked out into a temporary git
  worktree, its worker started from there): one JSON record per article, never deleted;
* ``after``: this tree's :class:`~services.enrich.dedup.NearDuplicateIndex` with its defaults,
  whose records include the tombstones of the articles that left the window. The changelog is given
  as the broker's log cleaner leaves it (the last record of each key; tombstones older than a day of
  event time gone, as ``delete.retention.ms``'s 24 h drops them): the steady state. Before the cleaner
  has run (the enrich app rolls the changelog's segments daily and cleans once a fifth of it is
  superseded; the active segment is never cleaned), a restart also reads the records not compacted
  yet: between cleanings a live restart reads up to a fifth more than this row. ``--uncompacted``
  adds a row that reads the whole log as written, every value and tombstone of the archive (the
  worst case, e.g. the first restart after upgrading from an unbounded changelog).

Each run uses its own app id, input and output topics and data directory; its topics are deleted at
the end. Results: printed and written to ``bench/results/dedup_memory.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from bench.quality.duplicates_bbc import CORPUS, load_corpus
from bench.quality.perturb import PERTURBATIONS, perturb, sentences
from services.enrich import dedup

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "bench" / "results" / "dedup_memory.json"
#: The commit before the window (HEAD when it was written): ``before`` runs its code.
BEFORE_REF = "500e96f"
START = datetime(2025, 1, 1, tzinfo=UTC)
TABLE = "near-duplicate-signatures"
READY_WITHIN_S = 1800.0
#: What compaction keeps of the tombstones: those younger than delete.retention.ms (24 h by default).
TOMBSTONE_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Synthetic:
    id: str
    ingested_at: datetime
    content_hash: str
    body: str


def archive(count: int, per_day: int, copy_share: float, seed: int) -> Iterator[Synthetic]:
    """``count`` articles, ``per_day`` a day; ``copy_share`` of them edited copies of a recent one."""
    pool = [s for doc in load_corpus(CORPUS) for p in doc.paragraphs for s in sentences(p)]
    rng = random.Random(seed)
    recent: deque[list[str]] = deque(maxlen=3 * per_day)
    kinds = sorted(PERTURBATIONS)
    step = timedelta(days=1) / per_day
    for n in range(count):
        if recent and rng.random() < copy_share:
            _, paragraphs = perturb(kinds[n % len(kinds)], seed * 1_000_003 + n, "", list(rng.choice(recent)))
        else:
            paragraphs = [" ".join(rng.sample(pool, 2)) for _ in range(5)]
            recent.append(paragraphs)
        body = "\n\n".join(paragraphs)
        yield Synthetic(
            f"{rng.getrandbits(128):032x}",
            START + n * step,
            hashlib.sha256(body.encode()).hexdigest(),
            body,
        )


class RecordingTable(dict[str, bytes]):
    """A table that keeps its changelog: (key, value or None, the event time it was written at)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, bytes | None, datetime]] = []
        self.now = START

    def __setitem__(self, key: str, value: bytes) -> None:
        super().__setitem__(key, value)
        self.log.append((key, value, self.now))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.log.append((key, None, self.now))


def load_before_dedup(worktree: Path) -> ModuleType:
    """The before-window ``services/enrich/dedup.py`` as a module of its own."""
    spec = importlib.util.spec_from_file_location("dedup_before", worktree / "services/enrich/dedup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class Changelogs:
    """Both variants' changelogs, and where each archive size ends in them."""

    before: list[tuple[str, bytes | None, datetime]]
    after: list[tuple[str, bytes | None, datetime]]
    before_at: dict[int, int]  # archive size -> records of ``before`` written by then
    after_at: dict[int, int]
    newest_at: dict[int, datetime]
    build_s: float


def build_changelogs(
    before_module: ModuleType, sizes: list[int], per_day: int, copy_share: float, seed: int
) -> Changelogs:
    began = time.monotonic()
    before_table, after_table = RecordingTable(), RecordingTable()
    before_index = before_module.NearDuplicateIndex(before_table)
    after_index = dedup.NearDuplicateIndex(after_table)
    current: list[Any] = [None]
    # Both indexes sign the text with the same function: sign once, hand both the result.
    sign = dedup.signature
    vars(before_module)["signature"] = vars(dedup)["signature"] = lambda text: current[0]
    before_at, after_at, newest_at = {}, {}, {}
    try:
        for n, article in enumerate(archive(max(sizes), per_day, copy_share, seed), start=1):
            current[0] = sign(article.body)
            before_table.now = after_table.now = article.ingested_at
            args = (article.id, article.ingested_at, article.content_hash, article.body)
            before_index.check(*args)
            after_index.check(*args)
            if n in sizes:
                before_at[n], after_at[n], newest_at[n] = (
                    len(before_table.log),
                    len(after_table.log),
                    article.ingested_at,
                )
                sys.stderr.write(
                    f"archive of {n}: {len(before_table.log)} / {len(after_table.log)} records\n"
                )
    finally:
        vars(dedup)["signature"] = sign
    return Changelogs(
        before_table.log, after_table.log, before_at, after_at, newest_at, time.monotonic() - began
    )


class ExactTable(dict[str, bytes]):
    """A table holding values as a worker does, copied to their size (orjson's buffers are larger)."""

    def __setitem__(self, key: str, value: bytes) -> None:
        super().__setitem__(key, bytes(memoryview(value)))


def bytes_per_article(module: ModuleType, count: int, per_day: int, copy_share: float, seed: int) -> float:
    """Python heap per article of ``module``'s index and its table (a dict), everything kept (no window)."""
    articles = list(archive(count, per_day, copy_share, seed))
    signatures = [dedup.signature(article.body) for article in articles]
    current: list[Any] = [None]
    sign = vars(module)["signature"]
    vars(module)["signature"] = lambda text: current[0]
    options = {"window": None} if module is dedup else {}
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        index = module.NearDuplicateIndex(ExactTable(), **options)
        for article, sig in zip(articles, signatures, strict=True):
            current[0] = sig
            index.check(article.id, article.ingested_at, article.content_hash, article.body)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    finally:
        vars(module)["signature"] = sign
    del index
    return held / count


def compacted(
    log: list[tuple[str, bytes | None, datetime]], newest: datetime
) -> list[tuple[str, bytes | None, datetime]]:
    """What the log cleaner leaves: each key's last record, in log order; old tombstones dropped."""
    last = {key: position for position, (key, _, _) in enumerate(log)}
    return [
        record
        for position, record in enumerate(log)
        if last[record[0]] == position
        and (record[1] is not None or record[2] >= newest - TOMBSTONE_RETENTION)
    ]


@dataclass
class Measured:
    variant: str
    articles: int
    changelog_records: int
    changelog_tombstones: int
    changelog_bytes: int
    ready_s: float
    recovery_s: float | None
    peak_rss_mib: float
    rss_at_ready_mib: float
    signatures: int | None
    indexed: int | None
    band_keys: int | None
    load_at_start: float
    load_at_ready: float


def create_topics(bootstrap: str, topics: dict[str, tuple[int, dict[str, str]]]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-dedup-memory")
    try:
        admin.create_topics(
            [
                NewTopic(name, partitions, 1, topic_configs=configs)
                for name, (partitions, configs) in topics.items()
            ]
        )
    finally:
        admin.close()


def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-dedup-memory")
    try:
        mine = [topic for topic in admin.list_topics() if topic.startswith(prefix)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes | None, datetime]]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024, client_id="bench-dedup"
    )
    try:
        for key, value, _ in records:
            # As faust writes the table's records: str keys as JSON, bytes values as they are.
            producer.send(topic, key=json.dumps(key).encode(), value=value, partition=0)
        producer.flush(timeout=600)
    finally:
        producer.close(timeout=30)


def read_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def log_entries(path: Path) -> list[dict[str, Any]]:
    *complete, _ = path.read_text(encoding="utf-8", errors="replace").split("\n")
    entries = []
    for line in complete:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
    return entries


def run_worker(
    code_dir: Path,
    variant: str,
    articles: int,
    records: list[tuple[str, bytes | None, datetime]],
    bootstrap: str,
    workdir: Path,
    run_id: str,
) -> Measured:
    """Write ``records`` as the changelog of a fresh app id, start a worker on it, measure until ready."""
    app_id = f"bench-dedup-{run_id}-{variant}-{articles}"
    changelog = f"{app_id}-{TABLE}-changelog"
    create_topics(
        bootstrap,
        {
            changelog: (1, {"cleanup.policy": "compact"}),
            f"{app_id}-in": (1, {}),
            f"{app_id}-out": (1, {}),
        },
    )
    produce(bootstrap, changelog, records)
    log_path = workdir / f"{app_id}.log"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NEWSWIRE_ENRICH_APP_ID": app_id,
        "NEWSWIRE_ENRICH_INPUT_TOPIC": f"{app_id}-in",
        "NEWSWIRE_ENRICH_OUTPUT_TOPIC": f"{app_id}-out",
        "NEWSWIRE_ENRICH_DATA_DIR": str(workdir / f"{app_id}-data"),
        "NEWSWIRE_ENRICH_METRICS_PORT": "0",
        "NEWSWIRE_ENRICH_STALL_TIMEOUT_S": "0",  # a long recovery is what is measured here
    }
    load_at_start = os.getloadavg()[0]
    started = time.monotonic()
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.enrich"],
            cwd=code_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{variant} worker exited {process.returncode}: see {log_path}")
            if time.monotonic() - started > READY_WITHIN_S:
                raise TimeoutError(f"{variant} worker not ready within {READY_WITHIN_S:.0f}s: see {log_path}")
            entries = log_entries(log_path)
            by_msg = {entry.get("msg"): entry for entry in entries}
            if "enrich ready" in by_msg and "near-duplicate state recovered" in by_msg:
                ready_s = time.monotonic() - started
                peak_kib = read_status_kib(process.pid, "VmHWM")
                rss_kib = read_status_kib(process.pid, "VmRSS")
                load_at_ready = os.getloadavg()[0]
                break
            time.sleep(0.25)
        recovered = by_msg["near-duplicate state recovered"]
        starting = next(
            (
                e
                for e in entries
                if str(e.get("msg", "")).endswith("Restoring state from changelog topics...")
            ),
            None,
        )
        recovery_s = (
            (datetime.fromisoformat(recovered["ts"]) - datetime.fromisoformat(starting["ts"])).total_seconds()
            if starting and "ts" in starting and "ts" in recovered
            else None
        )
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        delete_topics(bootstrap, app_id)
    return Measured(
        variant=variant,
        articles=articles,
        changelog_records=len(records),
        changelog_tombstones=sum(1 for _, value, _ in records if value is None),
        changelog_bytes=sum(len(key) + len(value or b"") for key, value, _ in records),
        ready_s=round(ready_s, 1),
        recovery_s=round(recovery_s, 1) if recovery_s is not None else None,
        peak_rss_mib=round(peak_kib / 1024, 1),
        rss_at_ready_mib=round(rss_kib / 1024, 1),
        signatures=recovered.get("signatures"),
        indexed=recovered.get("indexed"),
        band_keys=recovered.get("band_keys"),
        load_at_start=round(load_at_start, 2),
        load_at_ready=round(load_at_ready, 2),
    )


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """The repository at ``ref``, checked out into a temporary git worktree, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="dedup-before-")) / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), ref], cwd=REPO_ROOT, check=True, capture_output=True
    )
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO_ROOT, check=False)
        shutil.rmtree(path.parent, ignore_errors=True)


def table(rows: list[Measured]) -> str:
    header = (
        "| variant | articles in archive | changelog records read (tombstones) | restart to ready s "
        "| recovery s | peak RSS MiB | articles indexed | load 1 min (start / ready) |"
    )
    lines = [header, "|" + "---|" * 8]
    for row in rows:
        indexed = row.indexed if row.indexed is not None else row.signatures  # before: all it holds
        lines.append(
            f"| {row.variant} | {row.articles:,} | {row.changelog_records:,} ({row.changelog_tombstones:,}) "
            f"| {row.ready_s} | {'-' if row.recovery_s is None else row.recovery_s} | {row.peak_rss_mib} "
            f"| {indexed or 0:,} "
            f"| {row.load_at_start} / {row.load_at_ready} |"
        )
    return "\n".join(lines)


def sizes_arg(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--sizes", type=sizes_arg, default=[20_000, 200_000], help="archive sizes (after)")
    parser.add_argument("--before-sizes", type=sizes_arg, default=None, help="default: --sizes")
    parser.add_argument("--per-day", type=int, default=500)
    parser.add_argument("--copy-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--before-ref", default=BEFORE_REF)
    parser.add_argument("--uncompacted", action="store_true", help="also the after log as written")
    parser.add_argument("--heap-articles", type=int, default=10_000, help="for the heap per article")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        sys.stderr.write(f"skipped: the BBC corpus is not at {CORPUS}\n")
        return 0
    before_sizes = args.before_sizes if args.before_sizes is not None else args.sizes
    run_id = uuid.uuid4().hex[:8]
    rows: list[Measured] = []
    workdir = Path(tempfile.mkdtemp(prefix="dedup-memory-"))  # the workers' logs stay there
    sys.stderr.write(f"worker logs in {workdir}\n")
    with worktree(args.before_ref) as before_tree:
        before_module = load_before_dedup(before_tree)
        logs = build_changelogs(
            before_module,
            sorted({*args.sizes, *before_sizes}),
            args.per_day,
            args.copy_share,
            args.seed,
        )
        sys.stderr.write(f"changelogs built in {logs.build_s:.0f}s\n")
        heap = {
            "before": bytes_per_article(
                before_module, args.heap_articles, args.per_day, args.copy_share, args.seed
            ),
            "after": bytes_per_article(dedup, args.heap_articles, args.per_day, args.copy_share, args.seed),
        }
        sys.stderr.write(f"heap bytes per article: {heap}\n")
        empty: list[tuple[str, bytes | None, datetime]] = []
        rows.append(run_worker(before_tree, "before", 0, empty, args.bootstrap, workdir, run_id))
        rows.append(run_worker(REPO_ROOT, "after", 0, empty, args.bootstrap, workdir, run_id))
        for size in sorted({*args.sizes, *before_sizes}):
            if size in before_sizes:
                records = logs.before[: logs.before_at[size]]
                rows.append(run_worker(before_tree, "before", size, records, args.bootstrap, workdir, run_id))
                sys.stderr.write(f"{rows[-1]}\n")
            if size in args.sizes:
                written = logs.after[: logs.after_at[size]]
                records = compacted(written, logs.newest_at[size])
                rows.append(run_worker(REPO_ROOT, "after", size, records, args.bootstrap, workdir, run_id))
                sys.stderr.write(f"{rows[-1]}\n")
                if args.uncompacted:
                    rows.append(
                        run_worker(
                            REPO_ROOT, "after-uncompacted", size, written, args.bootstrap, workdir, run_id
                        )
                    )
                    sys.stderr.write(f"{rows[-1]}\n")
    result = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "per_day": args.per_day,
        "copy_share": args.copy_share,
        "seed": args.seed,
        "before_ref": args.before_ref,
        "window_days": dedup.DEFAULT_WINDOW / timedelta(days=1),
        "slack_days": dedup.DEFAULT_SLACK / timedelta(days=1),
        "changelog_build_s": round(logs.build_s, 1),
        "heap_articles": args.heap_articles,
        "heap_bytes_per_article": {variant: round(value) for variant, value in heap.items()},
        "cpus": os.cpu_count(),
        "rows": [asdict(row) for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(table(rows) + "\n")
    sys.stdout.write(
        f"Python heap per article, index and table, all kept ({args.heap_articles:,} articles): "
        f"before {heap['before']:,.0f} bytes, after {heap['after']:,.0f} bytes\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
