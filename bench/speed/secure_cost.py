"""What TLS and authentication cost: the same articles through ingest -> enrich -> index on a plain and
on a secure single-node stack, back to back in one run, CPU per article per process.

``python -m bench.speed.secure_cost [--articles 300] [--rounds 1]``

Each mode gets its own private stack (``services.stack``; plain: Kafka 28092, ES 28200, state
``.state/bench-plain``; secure: ``stack up --secure``, Kafka 28492/28493/28592, ES 28600/28700, state
``.state/bench-secure``) and the three services started by ``pipeline.start`` (in secure mode each
with its own principal: SASL_SSL + SCRAM-SHA-512 to Kafka, an API key over HTTPS to Elasticsearch).
A warm-up article goes through first; then ``--articles`` fresh articles are published with the CLI
(as the publisher) and the run waits until every one is in the index. CPU = user + system time from
``/proc/<pid>/stat`` of every process (ingest, enrich, index, the broker's JVM, Elasticsearch's JVM)
between just before publishing and the last article indexed, divided by the number of articles; the
publisher's own process is counted too. The 1-minute load average at the start and end is printed
beside it: the machine is shared, so other work inflates both columns alike.

Results: printed and written to ``bench/results/secure_cost.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from schemas.search_index import ALIAS
from services.stack import StackSettings, down, pipeline, up
from services.stack.manager import cluster
from services.stack.secure_mode import own_env
from services.stack.settings import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results" / "secure_cost.json"
TICKS = os.sysconf("SC_CLK_TCK")


def stack_settings(secure: bool) -> StackSettings:
    if secure:
        return StackSettings(
            secure=True,
            state_dir=REPO_ROOT / ".state" / "bench-secure",
            fallback_state_dir=Path("/var/lib/newswire-bench-secure"),
            kafka_port=28492,
            kafka_controller_port=28493,
            kafka_broker_port=28592,
            es_port=28600,
            es_transport_port=28700,
            kafka_heap="384m",
            es_heap="512m",
        )
    return StackSettings(
        state_dir=REPO_ROOT / ".state" / "bench-plain",
        fallback_state_dir=Path("/var/lib/newswire-bench-plain"),
        kafka_port=28092,
        kafka_controller_port=28093,
        es_port=28200,
        es_transport_port=28300,
        kafka_heap="384m",
        es_heap="512m",
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def write_articles(directory: Path, count: int, batch: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (directory / f"{batch}-{number:05d}.txt").write_text(
            f"Council budget vote {batch} number {number}\n\n"
            f"The city council in Leeds approved the budget on Monday, officials said. Item {number} of "
            f"batch {batch} passed after a debate about schools, roads and housing in the north of "
            "England. The mayor said the plan would be reviewed in the spring.\n"
        )


def publish(directory: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "publish", str(directory), "--json"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return [message["trace_id"] for message in json.loads(done.stdout)["messages"]]


def wait_indexed(es: Elasticsearch, trace_ids: list[str], timeout: float = 900) -> float:
    deadline = time.monotonic() + timeout
    missing = set(trace_ids)
    while missing and time.monotonic() < deadline:
        for chunk in [sorted(missing)[i : i + 500] for i in range(0, len(missing), 500)]:
            if not es.indices.exists_alias(name=ALIAS):  # the index service has not made it yet
                break
            found = es.search(
                index=ALIAS,
                query={"terms": {"trace_id": chunk}},
                source_includes=["trace_id"],
                size=len(chunk),
            )
            missing -= {hit["_source"]["trace_id"] for hit in found["hits"]["hits"]}
        if missing:
            time.sleep(0.5)
    if missing:
        raise RuntimeError(f"{len(missing)} of {len(trace_ids)} articles not indexed within {timeout:.0f}s")
    return time.monotonic()


def run_mode(secure: bool, articles: int, workdir: Path) -> dict[str, Any]:
    settings = stack_settings(secure)
    up(settings)
    nodes = cluster(settings)
    run_dir = nodes.paths.root / "run"
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")},
        **settings.client_env("operator"),
        **{f"NEWSWIRE_{name.upper()}_METRICS_PORT": "0" for name in pipeline.SERVICES},
        "NEWSWIRE_ENRICH_DATA_DIR": str(run_dir / "enrich-data"),
    }
    publisher_env = own_env(settings, "publisher", base) if secure else base
    reader_env = own_env(settings, "search", base) if secure else base
    credentials: dict[str, Any] = (
        {"ca_certs": reader_env["NEWSWIRE_ES_CA_CERTS"], "api_key": reader_env["NEWSWIRE_SEARCH_ES_API_KEY"]}
        if secure
        else {}
    )
    es = Elasticsearch([settings.es_url], request_timeout=30, **credentials)
    try:
        if not secure:  # in secure mode the stack's up made them, as the operator
            from services.runtime.kafka import ensure_topics, pipeline_topics
            from services.runtime.settings import KafkaSettings, TopicSettings

            ensure_topics(
                KafkaSettings(bootstrap_servers=settings.kafka_bootstrap), pipeline_topics(TopicSettings()), 1
            )
        procs = pipeline.start(run_dir, pipeline.SERVICES, base, supervised=False, stack=settings)
        warm = workdir / f"warm-{'secure' if secure else 'plain'}"
        write_articles(warm, 1, uuid.uuid4().hex)
        wait_indexed(es, publish(warm, publisher_env), timeout=300)
        pids = {proc.name: proc.pid for proc in procs if proc.pid}
        pids["kafka"] = nodes.brokers[0].managed_pid() or 0
        pids["elasticsearch"] = nodes.es_nodes[0].managed_pid() or 0
        batch = workdir / f"batch-{'secure' if secure else 'plain'}"
        write_articles(batch, articles, uuid.uuid4().hex)
        load_start = os.getloadavg()[0]
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.monotonic()
        children_before = os.times().children_user + os.times().children_system
        trace_ids = publish(batch, publisher_env)
        publisher_cpu = os.times().children_user + os.times().children_system - children_before
        finished = wait_indexed(es, trace_ids)
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        per_article = {name: round((after[name] - before[name]) * 1000 / articles, 2) for name in pids}
        per_article["publisher (CLI)"] = round(publisher_cpu * 1000 / articles, 2)
        per_article["total"] = round(sum(per_article.values()), 2)
        return {
            "mode": "secure" if secure else "plain",
            "articles": articles,
            "seconds": round(finished - started, 1),
            "cpu_ms_per_article": per_article,
            "load_1min_start": round(load_start, 2),
            "load_1min_end": round(os.getloadavg()[0], 2),
        }
    finally:
        es.close()
        pipeline.stop(run_dir, pipeline.SERVICES)
        down(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.speed.secure_cost", description=__doc__)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1, help="plain then secure, this many times")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="newswire-secure-cost-") as tmp:
        for round_number in range(args.rounds):
            for secure in (False, True):
                row = run_mode(secure, args.articles, Path(tmp) / str(round_number))
                row["round"] = round_number + 1
                print(json.dumps(row), flush=True)
                rows.append(row)
    names = list(rows[0]["cpu_ms_per_article"])
    print(f"\n{'CPU ms per article':<22}" + "".join(f"{row['mode']:>12}" for row in rows))
    for name in names:
        print(f"{name:<22}" + "".join(f"{row['cpu_ms_per_article'][name]:>12.2f}" for row in rows))
    print(
        f"{'load (1 min) start/end':<22}"
        + "".join(f"{row['load_1min_start']:>6}/{row['load_1min_end']:<5}" for row in rows)
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
