"""A real search service for tests: ``python -m services.search`` on a free loopback port, over an index
made from the archive's own template (a throwaway one, never the shared alias)."""

from __future__ import annotations

import contextlib
import copy
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import httpx
from elasticsearch import Elasticsearch

from schemas.articles import EnrichedArticle
from schemas.search_index import document_from, index_template

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def throwaway_index(es: Elasticsearch, articles: Iterable[EnrichedArticle], prefix: str) -> Iterator[str]:
    """An index with the real template's settings and mappings holding ``articles``; deleted afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    template = copy.deepcopy(index_template()["template"])
    es.indices.create(index=name, settings=template["settings"], mappings=template["mappings"])
    try:
        for source in articles:
            es.index(index=name, id=source.id, document=document_from(source, trace_id=prefix))
        es.indices.refresh(index=name)
        yield name
    finally:
        es.indices.delete(index=name, ignore_unavailable=True)


class SearchService:
    """The running process, its address and its log (stdout and stderr)."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
        self.process = process
        self.url = url
        self._log = log

    def log_text(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


@contextlib.contextmanager
def running_search_service(env: dict[str, str], tmp_dir: Path) -> Iterator[SearchService]:
    """Start the service with ``env`` (over the test session's environment) and wait for ``/healthz``."""
    port = free_port()
    log = (tmp_dir / f"search-{port}.log").open("w+b")
    child_env = {
        **os.environ,
        "NEWSWIRE_SEARCH_HOST": "127.0.0.1",
        "NEWSWIRE_SEARCH_PORT": str(port),
        "NEWSWIRE_SEARCH_LOG_JSON": "true",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.search"],
        env=child_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    service = SearchService(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the search service exited with {process.returncode}:\n{service.log_text()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{service.url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the search service did not answer /healthz:\n{service.log_text()}")
            time.sleep(0.1)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
