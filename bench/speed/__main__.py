"""``python -m bench.speed`` (``make bench``): measure the pipeline and print the table.

Results go to ``bench/results/<timestamp>/``: ``results.json``, ``table.md``, ``chart.png`` and the
services' logs. The private stack is started when needed and the parts of it this run started are
stopped at the end, unless ``--keep-stack``. After the pipeline's phases, the ``search`` phase
measures the search API's latency beside Elasticsearch's own (:mod:`bench.speed.search_latency`), and
the ``alerts`` phase publish-to-alert latency and matching cost per watch count (:mod:`bench.speed.alerts`).
Last, the ``scaling`` phase brings up a cluster of its own (3 brokers, 3 Elasticsearch nodes) once the
private stack is down, and measures enrich with 1, 2 and 3 workers (:mod:`bench.speed.scaling`).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench.speed import alerts, report, scaling, search_latency
from bench.speed.corpus import DEFAULT_CORPUS, CorpusMissing, load_corpus
from bench.speed.run import ALL_PHASES, Bench, BenchConfig
from bench.speed.stack import BenchPorts, BenchStack, bench_stack_settings, bring_up
from services.stack.settings import REPO_ROOT

log = logging.getLogger("bench.speed")

#: After the pipeline's phases: search latency of the API beside Elasticsearch (bench.speed.search_latency).
SEARCH_PHASE = "search"
#: Then watches and alerts: publish-to-alert latency and matching cost per watch count (bench.speed.alerts).
ALERTS_PHASE = "alerts"
#: Last, on a cluster of its own: enrich with 1, 2 and 3 workers, end to end (bench.speed.scaling).
SCALING_PHASE = "scaling"
KNOWN_PHASES = (*ALL_PHASES, SEARCH_PHASE, ALERTS_PHASE, SCALING_PHASE)
OWN_STACK_PHASES = (SCALING_PHASE,)

RESULTS_ROOT = REPO_ROOT / "bench" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__)
    parser.add_argument("--articles", type=int, default=defaults.articles, help="articles per stage (N)")
    parser.add_argument(
        "--partitions", type=int, default=defaults.partitions, help="partitions of every topic"
    )
    parser.add_argument(
        "--refresh-interval", default=defaults.refresh_interval, help="index refresh interval"
    )
    parser.add_argument("--enrich-budget", type=float, default=defaults.enrich_budget_s, help="time box (s)")
    parser.add_argument(
        "--enrich2-budget", type=float, default=defaults.enrich2_budget_s, help="time box (s)"
    )
    parser.add_argument(
        "--e2e-budget", type=float, default=defaults.e2e_budget_s, help="caps N end to end (s)"
    )
    parser.add_argument("--latency-seconds", type=float, default=defaults.latency_seconds)
    parser.add_argument("--latency-fraction", type=float, default=defaults.latency_fraction)
    parser.add_argument(
        "--limit-sample", type=int, default=defaults.limit_sample, help="documents per L trial"
    )
    parser.add_argument(
        "--phases",
        default=",".join(KNOWN_PHASES),
        help=f"comma-separated subset of {','.join(KNOWN_PHASES)}",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of the services per phase")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment for every service, e.g. NEWSWIRE_INDEX_MAX_BATCH=1000 (repeatable)",
    )
    parser.add_argument("--keep-stack", action="store_true", help="leave the private stack running")
    parser.add_argument("--keep-work", action="store_true", help="keep the generated inputs (corpus text)")
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="where run folders go")
    parser.add_argument("--report-only", type=Path, help="redo table.md and chart.png of a results folder")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    return parser.parse_args(argv)


def _name_value(item: str) -> tuple[str, str]:
    name, _, value = item.partition("=")
    return name, value


def write_report(out_dir: Path, results: dict[str, Any]) -> str:
    table = ""
    if results.get("phases"):
        table = report.markdown(results)
        report.chart(results, out_dir / "chart.png")
    if results.get(SEARCH_PHASE):
        table += ("\n" if table else "") + search_latency.markdown(results[SEARCH_PHASE])
    if results.get(ALERTS_PHASE):
        table += ("\n" if table else "") + alerts.markdown(results[ALERTS_PHASE])
    if results.get(SCALING_PHASE):
        table += ("\n" if table else "") + scaling.markdown(results[SCALING_PHASE])
    (out_dir / "table.md").write_text(table)
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "elastic_transport", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.report_only:
        earlier = orjson.loads((args.report_only / "results.json").read_bytes())
        sys.stdout.write(write_report(args.report_only, earlier))
        return 0
    try:
        load_corpus(args.corpus)
    except CorpusMissing as exc:
        sys.stdout.write(f"bench skipped: {exc}\n")
        return 0
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    unknown = set(phases) - set(KNOWN_PHASES)
    if unknown:
        sys.stderr.write(f"unknown phases: {sorted(unknown)}\n")
        return 2
    config = BenchConfig(
        articles=args.articles,
        partitions=args.partitions,
        refresh_interval=args.refresh_interval,
        enrich_budget_s=args.enrich_budget,
        enrich2_budget_s=args.enrich2_budget,
        e2e_budget_s=args.e2e_budget,
        latency_seconds=args.latency_seconds,
        latency_fraction=args.latency_fraction,
        limit_sample=args.limit_sample,
        phases=tuple(p for p in phases if p not in (SEARCH_PHASE, ALERTS_PHASE, SCALING_PHASE)),
        profile=args.profile,
        service_overrides=tuple(_name_value(item) for item in args.set),
    )
    out_dir = args.results / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {}
    if set(phases) - set(OWN_STACK_PHASES):
        stack = bring_up(bench_stack_settings(BenchPorts()))
        try:
            results = Bench(stack, config, out_dir).run() if config.phases else {}
            if SEARCH_PHASE in phases:
                results[SEARCH_PHASE] = _search_latency(stack, out_dir, args.corpus)
            if ALERTS_PHASE in phases:
                results[ALERTS_PHASE] = _alerts(stack, out_dir, args.corpus)
        finally:
            if not args.keep_stack:
                stack.stop_started()
    if SCALING_PHASE in phases:
        # After the private single-node stack is down: the cluster needs the memory and the cores.
        results[SCALING_PHASE] = _scaling(out_dir, args.keep_stack)
    if not args.keep_work:
        shutil.rmtree(out_dir / "work", ignore_errors=True)
        shutil.rmtree(out_dir / "scaling" / "work", ignore_errors=True)
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    (out_dir / "results.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    table = write_report(out_dir, results)
    sys.stdout.write(f"\n{table}\nresults, table and chart in {out_dir} ({results['wall_seconds']} s)\n")
    return 0


def _search_latency(stack: BenchStack, out_dir: Path, corpus: Path) -> dict[str, Any]:
    """The search phase's results; a failure is reported in the table rather than losing the run."""
    try:
        return search_latency.measure(stack, out_dir / "logs", corpus_dir=corpus)
    except Exception as exc:
        log.exception("search latency not measured")
        return {"error": f"{type(exc).__name__}: {exc}"}


def _scaling(out_dir: Path, keep_stack: bool) -> dict[str, Any]:
    """The scaling phase's results; a failure is reported in the table rather than losing the run."""
    try:
        return scaling.measure(out_dir, keep_stack=keep_stack)
    except Exception as exc:
        log.exception("scaling not measured")
        return {"error": f"{type(exc).__name__}: {exc}"}


def _alerts(stack: BenchStack, out_dir: Path, corpus: Path) -> dict[str, Any]:
    """The alerts phase's results; a failure is reported in the table rather than losing the run."""
    try:
        return alerts.measure(stack, out_dir / "logs", corpus_dir=corpus)
    except Exception as exc:
        log.exception("alerts not measured")
        return {"error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    sys.exit(main())
