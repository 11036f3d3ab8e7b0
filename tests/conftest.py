"""Session fixtures: a real Kafka broker and a real Elasticsearch for integration and e2e tests.

Where they come from, in order:
1. ``NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS`` and ``NEWSWIRE_ES_URL`` both set: those addresses are used.
2. A Docker engine answers: testcontainers starts Kafka and an Elasticsearch image built from
   ``deploy/docker/elasticsearch.Dockerfile`` (with the analysis plugin).
3. Otherwise the native stack (``services.stack.up``): real processes from Maven Central.

Unit tests never touch these fixtures, so ``pytest tests/unit`` needs no services.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
SEED_IN_SHARED = SHARED / "seed" / "presstv-putin-xi-sco.txt"
SEED_IN_REPO = REPO_ROOT / "deploy" / "samples" / "presstv-putin-xi-sco.txt"


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    es_url: str
    origin: str  # "env", "testcontainers" or "native"
    state_dir: Path


def _docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _testcontainers_endpoints(stack: pytest.ExitStack) -> tuple[str, str]:  # pragma: no cover - needs Docker
    from testcontainers.core.image import DockerImage
    from testcontainers.elasticsearch import ElasticSearchContainer
    from testcontainers.kafka import KafkaContainer

    kafka = stack.enter_context(KafkaContainer("apache/kafka:3.9.1").with_kraft())
    image = stack.enter_context(
        DockerImage(
            path=str(REPO_ROOT),
            dockerfile_path="deploy/docker/elasticsearch.Dockerfile",
            tag="newswire-elasticsearch:test",
        )
    )
    es = stack.enter_context(
        ElasticSearchContainer(str(image), mem_limit="2g").with_env("xpack.security.enabled", "false")
    )
    return kafka.get_bootstrap_server(), es.get_url()


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    """Addresses of a running Kafka and Elasticsearch; exported to the environment for subprocesses."""
    from contextlib import ExitStack

    from services.stack import StackSettings

    settings = StackSettings()
    env_kafka = os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS")
    env_es = os.environ.get("NEWSWIRE_ES_URL")
    with ExitStack() as stack:
        if env_kafka and env_es:
            found = Endpoints(env_kafka, env_es, "env", settings.state_dir)
        elif _docker_engine_answers():
            kafka, es = _testcontainers_endpoints(stack)  # type: ignore[arg-type]
            found = Endpoints(kafka, es, "testcontainers", settings.state_dir)
        else:
            from services.stack import up

            up(settings)
            found = Endpoints(
                f"{settings.kafka_host}:{settings.kafka_port}",
                f"http://{settings.es_host}:{settings.es_port}",
                "native",
                settings.state_dir,
            )
        os.environ["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"] = found.kafka_bootstrap
        os.environ["NEWSWIRE_ES_URL"] = found.es_url
        _wait_until_reachable(found)
        yield found


def _wait_until_reachable(found: Endpoints) -> None:
    from services.runtime.kafka import wait_for_broker
    from services.runtime.settings import KafkaSettings

    wait_for_broker(KafkaSettings(bootstrap_servers=found.kafka_bootstrap))
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{found.es_url}/_cluster/health", params={"wait_for_status": "yellow"}, timeout=10)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.fixture(scope="session")
def es(endpoints: Endpoints):  # type: ignore[no-untyped-def]
    from elasticsearch import Elasticsearch

    client = Elasticsearch(endpoints.es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def seed_path() -> Path:
    """The user's sample article: from shared/ when present (the reference), else the repo's copy."""
    return SEED_IN_SHARED if SEED_IN_SHARED.exists() else SEED_IN_REPO


@pytest.fixture(scope="session")
def bbc_corpus() -> Path:
    corpus = SHARED / "corpora" / "bbc-news"
    if not corpus.is_dir():
        pytest.skip(f"BBC corpus not present at {corpus} (it is not part of the project)")
    return corpus
