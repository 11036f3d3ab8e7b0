"""Enrich's CPU per article on the BBC corpus, this tree beside another revision, in one run.

``python -m bench.speed.enrich_cpu --against <revision>`` checks the revision out into a temporary
git worktree and starts one worker process per tree. Each worker runs the services' own handlers in
process: ingest (not timed) turns the BBC text into the ``articles.ingested`` record, then the enrich
handler (``services.enrich.handler.handle``, every enricher of the pipeline) is timed with
``time.process_time``. The same articles go to both workers in alternating chunks, so both see the
same machine load; only one works at a time. The per-article figures are the handler's CPU, which
is what the service logs as ``cpu_ms``; the full pipeline's costs are in ``make bench``.

Prints p50, p95 and mean per tree, their ratios, and the load average before and after; writes
``bench/results/enrich_cpu.json`` unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bench.provenance import code_version
from bench.speed.corpus import DEFAULT_CORPUS, CorpusMissing, load_corpus
from bench.speed.measure import percentile

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "bench" / "results" / "enrich_cpu.json"

# Runs inside each tree's own interpreter, so it may use only what every revision has: the ingest
# and enrich handlers and the runtime's Message. One JSON line in (title, body), one number out.
WORKER = r"""
import json, sys, time
from schemas.topics import TOPICS
from services.enrich.handler import handle as enrich_handle
from services.ingest.handler import IngestHandler
from services.runtime.messages import Emitted, Message

ingest = IngestHandler()
for number, line in enumerate(sys.stdin):
    story = json.loads(line)
    text = story["title"] + "\n\n" + story["body"]
    raw = Message(TOPICS.raw, 0, number, None, text.encode(), {"content-type": b"text/plain"})
    ingested = ingest.handle(raw)
    if not isinstance(ingested, Emitted):
        print("null", flush=True)
        continue
    record = ingested.records[0]
    message = Message(TOPICS.ingested, 0, number, record.key, record.value, dict(record.headers))
    started = time.process_time()
    enriched = enrich_handle(message)
    cpu_ms = (time.process_time() - started) * 1000
    print(json.dumps(cpu_ms if isinstance(enriched, Emitted) else None), flush=True)
"""


class Worker:
    """One tree's interpreter, fed one article at a time."""

    def __init__(self, label: str, tree: Path) -> None:
        self.label = label
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.cpu_ms: list[float] = []

    def run(self, stories: Sequence[dict[str, str]], record: bool = True) -> None:
        stdin, stdout = self._pipes()
        for story in stories:
            try:
                stdin.write(json.dumps(story) + "\n")
                stdin.flush()
                line = stdout.readline()
            except BrokenPipeError:
                line = ""
            if not line:
                code = self.process.wait()
                raise RuntimeError(f"the worker for {self.label} stopped (exit {code}): its error is above")
            answer = json.loads(line)
            if record and answer is not None:
                self.cpu_ms.append(float(answer))

    def close(self) -> None:
        stdin, _ = self._pipes()
        stdin.close()
        self.process.wait(timeout=60)

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        return self.process.stdin, self.process.stdout


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean of per-article milliseconds."""
    return {
        "articles": len(values),
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "mean": round(sum(values) / len(values), 2) if values else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speed.enrich_cpu", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--against", required=True, help="git revision to measure beside this tree")
    parser.add_argument("--articles", type=int, default=1000, help="BBC articles measured (of 2,225)")
    parser.add_argument("--chunk", type=int, default=25, help="articles per turn, trees in turn")
    parser.add_argument("--warm-up", type=int, default=20, help="articles run first and not counted")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    try:
        corpus = load_corpus(args.corpus)
    except CorpusMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    # Every category in turn, so a short run is not all business news.
    corpus.sort(key=lambda article: (article.number, article.category))
    stories = [{"title": article.title, "body": article.body} for article in corpus[: args.articles]]
    base_tree = Path(tempfile.mkdtemp(prefix="enrich-cpu-")) / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(base_tree), args.against],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    workers = [Worker(f"this tree ({code_version()})", REPO_ROOT), Worker(args.against, base_tree)]
    load_before = os.getloadavg()
    try:
        for worker in workers:
            worker.run(stories[: args.warm_up], record=False)
        for start in range(0, len(stories), args.chunk):
            for worker in workers if (start // args.chunk) % 2 == 0 else reversed(workers):
                worker.run(stories[start : start + args.chunk])
        for worker in workers:
            worker.close()
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO_ROOT, check=False)
        shutil.rmtree(base_tree.parent, ignore_errors=True)
    load_after = os.getloadavg()
    this, other = (summary(worker.cpu_ms) for worker in workers)
    result: dict[str, Any] = {
        "benchmark": "enrich_cpu",
        "corpus": str(args.corpus),
        "this": {"label": workers[0].label, **this},
        "against": {"label": workers[1].label, **other},
        "ratio_this_to_against": {key: round(this[key] / other[key], 3) for key in ("p50", "p95", "mean")},
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    ratio = result["ratio_this_to_against"]
    print(f"enrich handler CPU per BBC article (ms), {this['articles']} articles, {args.chunk} per turn")
    rows = ((workers[0].label, this), (workers[1].label, other), ("ratio this/against", ratio))
    for label, figures in rows:
        print(f"  {label:<24} " + "  ".join(f"{key} {figures[key]:7.3f}" for key in ("p50", "p95", "mean")))
    print(f"  load average before {result['load_average_before']}, after {result['load_average_after']}")
    if not args.no_write:
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
