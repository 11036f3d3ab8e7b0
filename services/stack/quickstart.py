"""``make up`` and ``make down``: the whole pipeline on this machine, from nothing to a search.

``up`` starts Kafka and Elasticsearch (native processes), creates the topics and the index, starts
the ingest, enrich, index and search services in the background, publishes the sample articles
with the CLI, waits until every one of them is searchable (or reports where it got stuck), runs a
search and ends with the address of the search web page beside it. Every step is idempotent, so
``make up`` twice is safe.

``--workers enrich=3,index=2`` (``make up WORKERS=enrich=3,index=2``) runs that many workers of those
services, each its own process in the service's consumer group (``services.stack.pipeline``). On a
stack of several brokers and nodes the topics, the index and the services get its addresses,
replication factor and replicas (``StackSettings.client_env``) unless the environment sets them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from urllib.parse import urlencode

from elasticsearch import Elasticsearch

from schemas.search_index import ALIAS
from services.index.bootstrap import ensure_index
from services.runtime.kafka import ensure_topics, pipeline_topics
from services.runtime.logging import configure_logging
from services.runtime.settings import ElasticsearchSettings, KafkaSettings, TopicSettings
from services.stack import StackSettings, down, pipeline, up
from services.stack.manager import effective_settings
from services.stack.settings import REPO_ROOT

log = logging.getLogger("newswire.quickstart")

SAMPLES = REPO_ROOT / "deploy" / "samples"
DEMO_QUERY = "Shanghai Cooperation Organization"


def _newswire(
    *args: str, capture: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        env=env,
    )


def _wait_searchable(es: Elasticsearch, trace_ids: list[str], timeout_s: float) -> list[str]:
    """Trace ids still missing from the index after ``timeout_s`` (empty when all arrived)."""
    deadline = time.monotonic() + timeout_s
    missing = list(trace_ids)
    while missing and time.monotonic() < deadline:
        es.indices.refresh(index=ALIAS)
        found = es.search(
            index=ALIAS,
            query={"terms": {"trace_id": missing}},
            source_includes=["trace_id"],
            size=len(missing),
        )
        seen = {hit["_source"]["trace_id"] for hit in found["hits"]["hits"]}
        missing = [trace for trace in missing if trace not in seen]
        if missing:
            time.sleep(0.5)
    return missing


def run_up(timeout_s: float, workers: dict[str, int] | None = None, secure: bool = False) -> int:
    started = time.monotonic()
    stack_settings = StackSettings(secure=True) if secure else StackSettings()
    up(stack_settings)
    log.info("Kafka and Elasticsearch are up after %.1fs", time.monotonic() - started)
    # What follows (topics, index, services, the CLI) reaches this stack with its replication,
    # unless the environment says otherwise.
    # The recorded topology: after `newswire stack up --brokers 3 --es-nodes 3`, a plain `make up` uses it.
    # Secure mode: this process is the operator (topics, the index); each service, the publisher and
    # the search below get their own principal's credentials only.
    stack_settings = effective_settings(stack_settings)
    for name, value in stack_settings.client_env().items():
        os.environ.setdefault(name, value)
    as_publisher = as_searcher = None
    if stack_settings.secure:
        from services.stack.secure_mode import credentials_file, own_env

        as_publisher = own_env(stack_settings, "publisher", os.environ)
        as_searcher = own_env(stack_settings, "search", os.environ)
        # The CLI reads the generic NEWSWIRE_ES_* credentials; the search service its own override.
        for ending in ("API_KEY", "USERNAME", "PASSWORD"):
            if f"NEWSWIRE_SEARCH_ES_{ending}" in as_searcher:
                as_searcher[f"NEWSWIRE_ES_{ending}"] = as_searcher[f"NEWSWIRE_SEARCH_ES_{ending}"]
        log.info(
            "secure mode: credentials and the CA are kept in %s", credentials_file(stack_settings).parent
        )

    topic_settings = TopicSettings()
    partitions = ensure_topics(
        KafkaSettings(), pipeline_topics(topic_settings), topic_settings.replication_factor
    )
    log.info(
        "topics ready: %s", ", ".join(f"{name} ({count} partitions)" for name, count in partitions.items())
    )
    es = Elasticsearch(**ElasticsearchSettings().client_kwargs())
    ensure_index(es)
    # The services run as this user, so they keep their pids and logs in the configured state dir
    # even when Elasticsearch had to fall back to another one.
    state_dir = stack_settings.state_dir
    for proc in pipeline.start(state_dir, pipeline.ALL_SERVICES, workers=workers, stack=stack_settings):
        log.info(
            "service %s %s (pid %s; its supervisor, pid %s, restarts it if it exits unexpectedly), log: %s",
            proc.name,
            proc.state,
            proc.pid,
            proc.supervisor_pid,
            proc.log_path,
        )

    published = json.loads(
        _newswire("publish", str(SAMPLES), "--json", capture=True, env=as_publisher).stdout
    )
    trace_ids = [message["trace_id"] for message in published["messages"]]
    log.info(
        "published %d sample articles from %s; waiting until they are searchable", len(trace_ids), SAMPLES
    )
    missing = _wait_searchable(es, trace_ids, timeout_s)
    if missing:
        log.error(
            "%d of %d samples did not reach the index within %.0fs (trace ids %s); look at articles.dlq "
            "and the service logs in %s",
            len(missing),
            len(trace_ids),
            timeout_s,
            ", ".join(missing),
            state_dir / "logs",
        )
        return 1
    log.info("all %d samples searchable; make up took %.1fs", len(trace_ids), time.monotonic() - started)
    sys.stdout.write(f'\n$ newswire search "{DEMO_QUERY}"\n')
    sys.stdout.flush()
    _newswire("search", DEMO_QUERY, env=as_searcher)
    web = search_address()
    if not _wait_ready(f"{web}/readyz", timeout_s=30.0):
        log.warning("search service at %s not ready yet; its log: %s", web, state_dir / "logs" / "search.log")
    sys.stdout.write(next_steps(web, secure=stack_settings.secure))
    if stack_settings.secure:
        from services.stack.secure_mode import credentials_file

        sys.stdout.write(
            f"\nSecure mode: passwords and API keys in {credentials_file(stack_settings)}, the CA beside it;"
            f" a process's environment: newswire stack env --process <ingest|index|search|...>\n"
        )
    return 0


def next_steps(web: str, secure: bool = False) -> str:
    """What ``make up`` prints last: what to try next, ending with the demo search on the web page."""
    # In secure mode the CLI needs a principal's credentials, and Elasticsearch is not open to curl.
    login = (
        '  eval "$(newswire stack env --process operator)"   # the CLI as the operator\n' if secure else ""
    )
    direct = "" if secure else "  curl -s 'localhost:9200/articles/_search?q=Astana'\n"
    return (
        "\nThe pipeline keeps running in the background (a service that crashes is restarted). Try:\n"
        f"{login}"
        '  newswire search "Astana"\n'
        f"  {web}/                   # the web page; the API: {web}/docs\n"
        f"  curl -s '{web}/search?q=Astana'\n"
        f"{direct}"
        "  newswire publish <files or folders>\n"
        "  newswire status          # lag, dead letters, restarts and last errors\n"
        f"  make down{' SECURE=1' if secure else ''}\n"
        f"\nThe same search in a browser: {web}/?{urlencode({'q': DEMO_QUERY})}\n"
    )


def _wait_ready(url: str, timeout_s: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def search_address() -> str:
    """Where the search service's web page and API answer (``NEWSWIRE_SEARCH_HOST``/``_PORT``)."""
    from services.search.settings import Settings as SearchSettings

    settings = SearchSettings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def run_down() -> int:
    settings = StackSettings()
    pipeline.stop(settings.state_dir)
    down(settings)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack.quickstart", description=__doc__)
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the samples")
    parser.add_argument(
        "--workers",
        type=_workers,
        default={},
        metavar="SERVICE=N,...",
        help=f"workers per service, e.g. enrich=3,index=2 (default 1 each, at most {pipeline.MAX_WORKERS})",
    )
    parser.add_argument(
        "--secure", action="store_true", help="secure mode (TLS, credentials, least privilege)"
    )
    args = parser.parse_args(argv)
    configure_logging("quickstart", json_lines=False)
    if args.action == "down":
        return run_down()
    if args.secure:
        return run_up(args.timeout, args.workers, secure=True)
    return run_up(args.timeout, args.workers)


def _workers(text: str) -> dict[str, int]:
    """``--workers``'s value, checked against the services ``make up`` runs."""
    try:
        counts = pipeline.parse_workers(text)
        pipeline.validate_workers(pipeline.ALL_SERVICES, counts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
