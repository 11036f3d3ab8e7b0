"""Secure mode, for real: ``stack up --secure`` (services.stack in secure mode) on private ports
and a private state dir (tests/security/secure_stack.py), and every principal allowed its own job
and refused the rest, each refusal with the line that names it; the whole pipeline end to end as
its principals, the seed article included.

Every refusal line is printed at the end (``-s`` shows it) and written to ``refusals.txt`` in the
run's pytest tmp dir (and to ``NEWSWIRE_SECURITY_REFUSALS=<file>`` when set).
``NEWSWIRE_SECURE_KEEP=1`` leaves the stack running (``python3 -m tests.security.secure_stack down``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import (
    CoordinatorNotAvailableError,
    GroupAuthorizationFailedError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.stack import pipeline
from services.stack.manager import cluster
from services.stack.secure import kafka_node
from services.stack.secure.clients import process_env
from services.stack.secure.credentials import Credentials
from services.stack.settings import REPO_ROOT

from . import secure_stack
from .secure_stack import BOOTSTRAP, ES_URL, SecureStack

SEED = REPO_ROOT.parent / "shared" / "seed" / "presstv-putin-xi-sco.txt"

_REFUSALS: list[tuple[str, str]] = []


def refused(what: str, line: str) -> None:
    """Record one refusal and the line that named it (printed at the end, for the closing note)."""
    _REFUSALS.append((what, line))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    """A fresh secure stack: data of an earlier run wiped (artifacts, CA and passwords kept), up."""
    settings = secure_stack.settings()
    nodes = cluster(settings)
    if not any(b.managed_pid() for b in nodes.brokers) and not any(e.managed_pid() for e in nodes.es_nodes):
        nodes.wipe_data()
    started = time.monotonic()
    stack = secure_stack.up()
    print(f"\nstack up --secure took {time.monotonic() - started:.1f}s ({stack.root})")
    try:
        yield stack
    finally:
        if os.environ.get("NEWSWIRE_SECURE_KEEP") != "1":
            pipeline.stop(stack.root / "run", pipeline.SERVICES)
            secure_stack.down()
        lines = [f"{what}: {line}" for what, line in _REFUSALS]
        print("\n== refusals ==\n" + "\n".join(lines))
        for target in (
            tmp_path_factory.getbasetemp() / "refusals.txt",
            os.environ.get("NEWSWIRE_SECURITY_REFUSALS"),
        ):
            if target:
                Path(target).write_text("\n".join(lines) + "\n")
        print(f"(written to {tmp_path_factory.getbasetemp() / 'refusals.txt'})")


@pytest.fixture(scope="module")
def creds(stack: SecureStack) -> Credentials:
    return stack.credentials()


def kafka_config(stack: SecureStack, creds: Credentials, principal: str, **extra: Any) -> dict[str, Any]:
    login = creds.kafka[principal]
    return {**kafka_node.client_config(BOOTSTRAP, stack.ca_file, login.username, login.password), **extra}


def es_as(stack: SecureStack, creds: Credentials, principal: str, **extra: Any) -> Elasticsearch:
    login = creds.elasticsearch[principal]
    kwargs: dict[str, Any] = {
        "basic_auth": (login.username, login.password),
        "ca_certs": stack.ca_file,
        "request_timeout": 20,
        **extra,
    }
    return Elasticsearch([ES_URL], **kwargs)


def produce(config: dict[str, Any], topic: str, value: bytes) -> Any:
    """Send one record keyed by a fresh id (the archive is compacted: it takes keyed records only)."""
    producer = KafkaProducer(**{"max_block_ms": 15_000, **config})
    try:
        return producer.send(topic, value, key=uuid.uuid4().hex.encode()).get(timeout=20)
    finally:
        producer.close(timeout=5)


def consume(
    config: dict[str, Any],
    topic: str,
    group: str,
    want: bytes,
    timeout: float = 60,
    match: bytes | None = None,
) -> list[bytes]:
    """Values read from ``topic`` in ``group`` until ``want`` is among them (or one contains ``match``),
    committing what was read, or until ``timeout``."""
    consumer = KafkaConsumer(**config, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
    consumer.subscribe([topic])
    seen: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and want not in seen:
            if match is not None and any(match in value for value in seen):
                break
            for records in consumer.poll(timeout_ms=1000).values():
                seen += [r.value for r in records]
        consumer.commit()
    finally:
        consumer.close()
    return seen


def committed(stack: SecureStack, creds: Credentials, group: str) -> dict[Any, int]:
    admin = KafkaAdminClient(**kafka_node.admin_client_config(creds, BOOTSTRAP, stack.ca_file))
    try:
        for _ in range(30):  # the offsets topic may still be coming up on a fresh broker
            try:
                offsets = admin.list_group_offsets(group).get(group, {})
                return {tp: meta.offset for tp, meta in offsets.items()}
            except CoordinatorNotAvailableError:
                time.sleep(1)
        raise AssertionError(f"no coordinator for {group}")
    finally:
        admin.close()


# -- Kafka: each principal does its own job ------------------------------------------------------------


def test_each_service_principal_does_its_own_job(stack: SecureStack, creds: Credentials) -> None:
    """publisher -> raw -> ingest -> ingested -> enrich -> enriched -> index (and alert), as their
    own principals and groups, over SASL_SSL."""
    marker = uuid.uuid4().hex.encode()
    produce(kafka_config(stack, creds, "publisher"), TOPICS.raw, marker)
    assert marker in consume(kafka_config(stack, creds, "ingest"), TOPICS.raw, "newswire-ingest", marker)
    produce(kafka_config(stack, creds, "ingest"), TOPICS.ingested, marker)
    produce(kafka_config(stack, creds, "ingest"), TOPICS.dlq, marker)
    assert marker in consume(kafka_config(stack, creds, "enrich"), TOPICS.ingested, "newswire-enrich", marker)
    produce(kafka_config(stack, creds, "enrich"), TOPICS.enriched, marker)
    assert marker in consume(kafka_config(stack, creds, "index"), TOPICS.enriched, "newswire-index", marker)
    assert marker in consume(kafka_config(stack, creds, "alert"), TOPICS.enriched, "newswire-alert", marker)
    produce(kafka_config(stack, creds, "alert"), TOPICS.alerts, marker)
    produce(kafka_config(stack, creds, "index"), TOPICS.dlq, marker)


def test_enrich_owns_its_internal_topics(stack: SecureStack, creds: Credentials) -> None:
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(**kafka_config(stack, creds, "enrich"))
    name = f"newswire-enrich-{uuid.uuid4().hex[:8]}-changelog"
    try:
        admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        admin.close()
    marker = uuid.uuid4().hex.encode()
    produce(kafka_config(stack, creds, "enrich"), name, marker)
    assert marker in consume(kafka_config(stack, creds, "enrich"), name, "newswire-enrich", marker)


# -- Kafka: refused what it must not do ----------------------------------------------------------------


def test_ingest_may_not_produce_to_enriched(stack: SecureStack, creds: Credentials) -> None:
    with pytest.raises(TopicAuthorizationFailedError) as info:
        produce(kafka_config(stack, creds, "ingest"), TOPICS.enriched, b"x")
    refused("ingest producing to articles.enriched", str(info.value))
    assert TOPICS.enriched in str(info.value)


def read_refused(config: dict[str, Any], topic: str, caplog: pytest.LogCaptureFixture) -> str:
    """Try to read ``topic`` (assigned, no group) and return the refusal's line; fail if a record arrives.

    Kafka refuses in one of two places: a principal that may DESCRIBE the topic (a writer) sees it in
    the metadata and its fetch fails (kafka-python raises); one that may not is told the topic is not
    authorized in the metadata answer (kafka-python logs it and never fetches).
    """
    consumer = KafkaConsumer(**config, enable_auto_commit=False, auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, 0)])
    caplog.clear()
    try:
        with caplog.at_level(logging.ERROR, logger="kafka"):
            for _ in range(8):
                assert not consumer.poll(timeout_ms=1000), f"read {topic}"
    except TopicAuthorizationFailedError as exc:
        return f"raised {exc}"
    finally:
        consumer.close()
    lines = [r.getMessage() for r in caplog.records if "not authorized" in r.getMessage()]
    assert lines, f"no refusal seen reading {topic}"
    return f"logged {lines[-1]}"


def test_index_may_not_read_raw(
    stack: SecureStack, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    refused(
        "index reading articles.raw", read_refused(kafka_config(stack, creds, "index"), TOPICS.raw, caplog)
    )
    # In its own group: the same (it sees the topic, so its fetch is refused).
    with pytest.raises(TopicAuthorizationFailedError) as info:
        consume(kafka_config(stack, creds, "index"), TOPICS.raw, "newswire-index", b"never", timeout=20)
    refused("index reading articles.raw in its group", str(info.value))


def test_publisher_may_not_read_any_topic(
    stack: SecureStack, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    for topic in TOPICS.all():
        line = read_refused(kafka_config(stack, creds, "publisher"), topic, caplog)
        refused(f"publisher reading {topic}", line)
    with pytest.raises(GroupAuthorizationFailedError) as group_info:
        consume(kafka_config(stack, creds, "publisher"), TOPICS.raw, "newswire-publisher", b"x", timeout=20)
    refused("publisher reading articles.raw in a group", str(group_info.value))


def test_operator_manages_topics_but_not_acls(stack: SecureStack, creds: Credentials) -> None:
    """The operator creates and deletes pipeline topics, and may not grant itself (or anyone) more."""
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, NewTopic, ResourcePattern, ResourceType
    from kafka.errors import ClusterAuthorizationFailedError

    admin = KafkaAdminClient(**kafka_config(stack, creds, "operator"))
    scratch = f"articles.reprocess.{uuid.uuid4().hex[:8]}"
    try:
        assert set(TOPICS.all()) <= set(admin.list_topics())
        admin.create_topics([NewTopic(scratch, 1, 1)])
        admin.delete_topics([scratch])
        grant = ACL(
            principal="User:newswire-publisher",
            host="*",
            operation=ACLOperation.READ,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(ResourceType.TOPIC, TOPICS.raw),
        )
        result = admin.create_acls([grant])
    finally:
        admin.close()
    assert not result["succeeded"] and result["failed"], result
    error = result["failed"][0]
    assert error is ClusterAuthorizationFailedError or isinstance(error, ClusterAuthorizationFailedError)
    refused(
        "operator creating an ACL",
        f"{error.__name__ if isinstance(error, type) else error}: {error.description}",
    )


def test_wrong_password_is_refused_and_nothing_is_consumed(
    stack: SecureStack, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    marker = uuid.uuid4().hex.encode()
    produce(kafka_config(stack, creds, "publisher"), TOPICS.raw, marker)
    before = committed(stack, creds, "newswire-ingest")
    config = kafka_config(stack, creds, "ingest", sasl_plain_password="not-the-password")
    with caplog.at_level(logging.ERROR, logger="kafka"), pytest.raises(KafkaTimeoutError) as info:
        consume(config, TOPICS.raw, "newswire-ingest", marker, timeout=20)
    line = next(r.getMessage() for r in caplog.records if "SaslAuthenticationFailed" in r.getMessage())
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in line
    refused("wrong password (client)", line)
    refused("wrong password (raised)", str(info.value))
    assert committed(stack, creds, "newswire-ingest") == before
    broker = _broker_log_line(stack, "invalid credentials")
    refused("wrong password (broker log)", broker)


def _broker_log_line(stack: SecureStack, needle: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = stack.kafka_log.read_text(errors="replace").splitlines()
        found = [line for line in lines if needle in line]
        if found:
            return found[-1]
        time.sleep(0.5)
    raise AssertionError(f"no broker log line with {needle!r}")


def test_client_without_the_ca_is_refused(
    stack: SecureStack, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    config = kafka_config(stack, creds, "publisher")
    config.pop("ssl_cafile")
    with caplog.at_level(logging.ERROR, logger="kafka"), pytest.raises(KafkaTimeoutError):
        produce(config, TOPICS.raw, b"x")
    line = next(r.getMessage() for r in caplog.records if "CERTIFICATE_VERIFY_FAILED" in r.getMessage())
    refused("client without the CA (client)", line)


def test_plaintext_client_is_refused(stack: SecureStack, caplog: pytest.LogCaptureFixture) -> None:
    log = stack.kafka_log
    size = log.stat().st_size
    with caplog.at_level(logging.ERROR, logger="kafka"), pytest.raises(KafkaTimeoutError) as info:
        produce({"bootstrap_servers": [BOOTSTRAP], "max_block_ms": 10_000}, TOPICS.raw, b"x")
    refused("plaintext client (raised)", str(info.value))
    deadline = time.monotonic() + 10
    new: list[str] = []
    while not new and time.monotonic() < deadline:
        with log.open(errors="replace") as handle:
            handle.seek(size)
            new = [line.strip() for line in handle if "SSL handshake failed" in line]
        time.sleep(0.5)
    assert new, "the broker logged no failed handshake"
    refused("plaintext client (broker log)", new[-1])


# -- Elasticsearch -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(stack: SecureStack, creds: Credentials) -> str:
    """The index service bootstraps the archive (template, index, alias) with its own role, and writes."""
    from services.index.bootstrap import ensure_index

    es = es_as(stack, creds, "index")
    ensure_index(es)
    es.index(index=ALIAS, id="secure-1", document={"title": "secure"}, refresh=True, require_alias=True)
    es.indices.put_settings(index=ALIAS, settings={"index": {"refresh_interval": "30s"}})
    es.indices.refresh(index=ALIAS)
    concrete = sorted(es.indices.get_alias(name=ALIAS))
    es.close()
    return concrete[0]


def _refusal(exc: ApiError) -> str:
    """Status and reason; for a refused credential also what Elasticsearch says was wrong with it."""
    error = exc.body.get("error", {}) if isinstance(exc.body, dict) else {}
    line = f"{exc.meta.status} {error.get('reason') or exc.message}"
    detail = error.get("additional_unsuccessful_credentials")
    return f"{line} ({detail})" if detail else line


def test_search_may_read_the_alias_only(stack: SecureStack, creds: Credentials, archive: str) -> None:
    es = es_as(stack, creds, "search")
    assert es.search(index=ALIAS, query={"match_all": {}})["hits"]["total"]["value"] >= 1
    with pytest.raises(AuthorizationException) as write:
        es.index(index=ALIAS, id="x", document={"title": "x"})
    refused("search user writing", _refusal(write.value))
    with pytest.raises(AuthorizationException) as delete_doc:
        es.delete(index=archive, id="secure-1")
    refused("search user deleting a document", _refusal(delete_doc.value))
    with pytest.raises(AuthorizationException) as delete:
        es.indices.delete(index=archive)
    refused("search user deleting the index", _refusal(delete.value))
    with pytest.raises(AuthorizationException) as concrete:
        es.search(index=archive, query={"match_all": {}})
    refused("search user reading the index behind the alias", _refusal(concrete.value))


def test_index_may_not_delete_the_index(stack: SecureStack, creds: Credentials, archive: str) -> None:
    es = es_as(stack, creds, "index")
    with pytest.raises(AuthorizationException) as delete:
        es.indices.delete(index=archive)
    refused("index user deleting the index", _refusal(delete.value))
    with pytest.raises(AuthorizationException) as other:
        es.index(index="newswire-watches", id="x", document={"name": "x"})
    refused("index user writing the watches index", _refusal(other.value))
    assert es.indices.exists(index=archive)


def test_only_the_operator_deletes_an_index(stack: SecureStack, creds: Credentials) -> None:
    es = es_as(stack, creds, "operator")
    scratch = f"{ALIAS}-scratch-{uuid.uuid4().hex[:6]}"
    es.indices.create(index=scratch)
    assert es.indices.delete(index=scratch)["acknowledged"]


def test_watches_and_alert_keep_to_their_indices(
    stack: SecureStack, creds: Credentials, archive: str
) -> None:
    watches = es_as(stack, creds, "watches")
    watches.index(index="newswire-watches", id="w1", document={"name": "w"}, refresh=True)
    with pytest.raises(AuthorizationException) as write:
        watches.index(index=ALIAS, id="x", document={"title": "x"})
    refused("watches user writing the archive", _refusal(write.value))
    alert = es_as(stack, creds, "alert")
    alert.index(index="newswire-alerts-sent", id="w1:secure-1", document={"sent": True})
    assert alert.get(index="newswire-watches", id="w1")["found"]
    with pytest.raises(AuthorizationException) as alert_write:
        alert.index(index="newswire-watches", id="w2", document={"name": "x"})
    refused("alert user writing a watch", _refusal(alert_write.value))


def _cause(exc: EsConnectionError) -> str:
    """The transport's own error (``str()`` is only ``TLS error`` / ``Connection error``)."""
    return f"{type(exc).__name__}: {exc.message}"


def test_es_wrong_password_is_refused(stack: SecureStack, creds: Credentials) -> None:
    login = creds.elasticsearch["search"]
    es = Elasticsearch([ES_URL], basic_auth=(login.username, "not-the-password"), ca_certs=stack.ca_file)
    with pytest.raises(AuthenticationException) as info:
        es.search(index=ALIAS)
    refused("Elasticsearch wrong password", _refusal(info.value))


def test_es_client_without_the_ca_is_refused(stack: SecureStack, creds: Credentials) -> None:
    login = creds.elasticsearch["search"]
    es = Elasticsearch([ES_URL], basic_auth=(login.username, login.password), max_retries=0)
    with pytest.raises(EsConnectionError) as info:
        es.search(index=ALIAS)
    refused("Elasticsearch client without the CA", _cause(info.value))


def test_es_plaintext_is_refused(stack: SecureStack) -> None:
    es = Elasticsearch([ES_URL.replace("https://", "http://")], max_retries=0, request_timeout=10)
    with pytest.raises(EsConnectionError) as info:
        es.info()
    refused("Elasticsearch plaintext HTTP (client)", _cause(info.value))
    logs = stack.es_log
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while not lines and time.monotonic() < deadline:
        lines = [line for line in logs.read_text(errors="replace").splitlines() if "plaintext http" in line]
        time.sleep(0.5)
    assert lines
    refused("Elasticsearch plaintext HTTP (node log)", lines[-1].strip())


def test_client_env_configures_the_real_settings(
    stack: SecureStack, creds: Credentials, archive: str
) -> None:
    """The env each process gets builds working clients through the services' own settings classes."""
    from services.runtime.settings import KafkaSettings
    from services.search.settings import Settings as SearchSettings

    env = process_env(creds, "publisher", bootstrap=BOOTSTRAP, es_url=ES_URL, ca_file=stack.ca_file)
    with _environ(env):
        kafka = KafkaSettings()
    produce(kafka.client_config(), TOPICS.raw, b"via settings")
    env = process_env(creds, "search", bootstrap=BOOTSTRAP, es_url=ES_URL, ca_file=stack.ca_file)
    with _environ(env):
        search = SearchSettings()
    es = Elasticsearch(**search.elasticsearch_settings().client_kwargs())
    assert es.search(index=ALIAS)["hits"]["total"]["value"] >= 1
    with pytest.raises(AuthorizationException):
        es.indices.delete(index=archive)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- Elasticsearch API keys (the node has a security index thanks to newswire-security-analysis) -------


@pytest.fixture(scope="module")
def api_keys(creds: Credentials) -> dict[str, str]:
    if not creds.api_keys:
        pytest.skip(
            "no API keys: the node runs without the security-analysis plugin (NEWSWIRE_SECURE_API_KEYS=0)"
        )
    return {name: key["encoded"] for name, key in creds.api_keys.items()}


def es_with_key(stack: SecureStack, encoded: str) -> Elasticsearch:
    return Elasticsearch([ES_URL], api_key=encoded, ca_certs=stack.ca_file, request_timeout=20)


def test_search_api_key_reads_the_alias_only(
    stack: SecureStack, api_keys: dict[str, str], archive: str
) -> None:
    es = es_with_key(stack, api_keys["search"])
    assert es.search(index=ALIAS)["hits"]["total"]["value"] >= 1
    with pytest.raises(AuthorizationException) as write:
        es.index(index=ALIAS, id="x", document={"title": "x"})
    refused("search API key writing", _refusal(write.value))
    with pytest.raises(AuthorizationException) as delete:
        es.indices.delete(index=archive)
    refused("search API key deleting the index", _refusal(delete.value))


def test_index_api_key_writes_but_may_not_delete_the_index(
    stack: SecureStack, api_keys: dict[str, str], archive: str
) -> None:
    from services.index.bootstrap import ensure_index

    es = es_with_key(stack, api_keys["index"])
    ensure_index(es)  # the real bootstrap, again: template, alias, mapping check
    es.index(index=ALIAS, id="secure-key", document={"title": "by key"}, require_alias=True)
    with pytest.raises(AuthorizationException) as delete:
        es.indices.delete(index=archive)
    refused("index API key deleting the index", _refusal(delete.value))


def test_revoked_and_expired_api_keys_are_refused(
    stack: SecureStack, creds: Credentials, archive: str
) -> None:
    from services.stack.secure import es_node

    admin = es_node.admin_client(ES_URL, stack.ca_file, creds)
    role = {"newswire-search": {"indices": [{"names": [ALIAS], "privileges": ["read"]}]}}
    revoked = admin.security.create_api_key(name="newswire-search-revoked", role_descriptors=role)
    key = es_with_key(stack, revoked["encoded"])
    assert key.search(index=ALIAS)["hits"]["total"]["value"] >= 1
    admin.security.invalidate_api_key(ids=[revoked["id"]])
    with pytest.raises(AuthenticationException) as info:
        key.search(index=ALIAS)
    refused("revoked API key", _refusal(info.value))
    expiring = admin.security.create_api_key(
        name="newswire-search-expiring", role_descriptors=role, expiration="1s"
    )
    time.sleep(2.5)
    with pytest.raises(AuthenticationException) as expired:
        es_with_key(stack, expiring["encoded"]).search(index=ALIAS)
    refused("expired API key", _refusal(expired.value))
    admin.close()


def test_the_pipeline_runs_end_to_end_as_its_principals(stack: SecureStack, creds: Credentials) -> None:
    """``pipeline.start`` (what ``make up`` runs) on the secure stack: ingest, enrich (faust) and index,
    unchanged, each with only its own principal's env (SASL_SSL + SCRAM-SHA-512 to Kafka; the index
    service's API key over HTTPS). The seed article and a fresh one, published with the CLI as the
    publisher, become documents the search key finds."""
    run_dir = stack.root / "run"
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")},
        **stack.settings.client_env("operator"),  # what make up's process has; pipeline.start strips it
        **{f"NEWSWIRE_{name.upper()}_METRICS_PORT": "0" for name in pipeline.SERVICES},
        "NEWSWIRE_ENRICH_DATA_DIR": str(run_dir / "enrich-data"),
    }
    marker = uuid.uuid4().hex
    fresh = run_dir / f"secure-{marker}.txt"
    run_dir.mkdir(parents=True, exist_ok=True)
    fresh.write_text(
        f"Secure pipeline headline {marker}\n\nThe city council in Leeds approved the budget on Monday, "
        f"officials said. The vote on {marker} passed.\n"
    )
    procs = pipeline.start(run_dir, pipeline.SERVICES, base, supervised=False, stack=stack.settings)
    for proc in procs:  # each carries its own principal's secret and no other's
        env = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        users = [v for v in env if v.startswith(b"NEWSWIRE_KAFKA_SASL_USERNAME=")]
        assert users == [f"NEWSWIRE_KAFKA_SASL_USERNAME=newswire-{proc.name}".encode()], (proc.name, users)
    try:
        published = []
        for path in (SEED, fresh):
            out = subprocess.run(
                [sys.executable, "-m", "services.cli", "publish", str(path), "--json"],
                env={**base, **stack.env("publisher", base)},
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert out.returncode == 0, out.stderr[-2000:]
            published += [m["trace_id"] for m in json.loads(out.stdout)["messages"]]
        search = es_with_key(stack, creds.api_keys["search"]["encoded"])
        deadline = time.monotonic() + 180
        found: dict[str, Any] = {}
        while len(found) < 2 and time.monotonic() < deadline:
            for proc in pipeline.status(run_dir):
                log_file = run_dir / "logs" / f"{proc.name}.log"
                assert proc.running, f"{proc.name} exited: " + (
                    log_file.read_text()[-2000:] if log_file.exists() else ""
                )
            with contextlib.suppress(ApiError):  # the index may not exist yet
                for query in ("Shanghai Cooperation Organization", marker):
                    hits = search.search(index=ALIAS, query={"match": {"title": query}})["hits"]["hits"]
                    hits += search.search(index=ALIAS, query={"match_phrase": {"body": query}})["hits"][
                        "hits"
                    ]
                    for hit in hits:
                        if hit["_source"].get("trace_id") in published:
                            found[query] = hit["_source"]
            time.sleep(1)
        assert set(found) == {"Shanghai Cooperation Organization", marker}, found.keys()
        assert all(source["enrichers"] for source in found.values())
    finally:
        pipeline.stop(run_dir, pipeline.SERVICES)
    for name in pipeline.SERVICES:
        log_text = (run_dir / "logs" / f"{name}.log").read_text()
        assert '"level": "error"' not in log_text, f"{name} logged an error:\n{log_text[-3000:]}"


# -- the services' own start-up: one clear line, exit 1, nothing consumed or committed ---------------


def _start_refused(stack: SecureStack, service: str, tmp_path: Path, **changes: str | None) -> str:
    """Run ``python -m services.<service>`` with its own env changed by ``changes`` (None: unset);
    return the error line it ended with (it must exit non-zero within a minute)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(stack.env(service))
    env[f"NEWSWIRE_{service.upper()}_METRICS_PORT"] = "0"
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout[-2000:]
    errors = []
    for line in (done.stdout + done.stderr).splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            # the service's own error line (kafka-python's records of the attempt are logged too)
            own = isinstance(record, dict) and not str(record.get("logger", "")).startswith("kafka")
            if own and record.get("level") == "error":
                errors.append(f"{record.get('msg')}: {record.get('error')}")
    assert len(errors) == 1, (errors, done.stdout[-3000:], done.stderr[-3000:])
    (tmp_path / f"{service}.log").write_text(done.stdout + done.stderr)
    return errors[0]


def test_services_end_with_one_line_naming_the_refusal(
    stack: SecureStack, creds: Credentials, tmp_path: Path
) -> None:
    from services.stack.secure import certs

    marker = uuid.uuid4().hex.encode()
    produce(kafka_config(stack, creds, "publisher"), TOPICS.raw, marker)
    before = committed(stack, creds, "newswire-ingest")
    line = _start_refused(stack, "ingest", tmp_path, NEWSWIRE_KAFKA_SASL_PASSWORD="not-the-password")
    assert (
        "refused the credentials of user newswire-ingest (SASL SCRAM-SHA-512 authentication failed)" in line
    )
    refused("ingest service, wrong password", line)
    other_ca, _ = certs.ensure_ca(tmp_path / "other-ca")
    line = _start_refused(stack, "ingest", tmp_path, NEWSWIRE_KAFKA_SSL_CAFILE=str(other_ca.cert))
    assert f"not trusted by NEWSWIRE_KAFKA_SSL_CAFILE={other_ca.cert}: certificate verify failed" in line
    refused("ingest service, a CA that did not sign the broker's certificate", line)
    line = _start_refused(stack, "ingest", tmp_path, NEWSWIRE_KAFKA_SSL_CAFILE=None)
    assert "not trusted by the system's CAs" in line
    refused("ingest service, no CA file", line)
    line = _start_refused(
        stack,
        "ingest",
        tmp_path,
        NEWSWIRE_KAFKA_SECURITY_PROTOCOL="PLAINTEXT",
        NEWSWIRE_KAFKA_SASL_MECHANISM=None,
        NEWSWIRE_KAFKA_SASL_USERNAME=None,
        NEWSWIRE_KAFKA_SASL_PASSWORD=None,
    )
    assert f"the broker at {BOOTSTRAP} speaks TLS/SASL; NEWSWIRE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT" in line
    refused("ingest service, plaintext", line)
    assert committed(stack, creds, "newswire-ingest") == before, "a refused ingest consumed or committed"


def test_index_service_with_a_revoked_api_key_ends_with_one_line(
    stack: SecureStack, creds: Credentials, archive: str, tmp_path: Path
) -> None:
    from services.stack.secure import es_node

    admin = es_node.admin_client(ES_URL, stack.ca_file, creds)
    login = creds.elasticsearch["index"]
    key = admin.security.grant_api_key(
        grant_type="password", username=login.username, password=login.password, api_key={"name": "revoked"}
    )
    admin.security.invalidate_api_key(ids=[key["id"]])
    admin.close()
    before = committed(stack, creds, "newswire-index")
    line = _start_refused(stack, "index", tmp_path, NEWSWIRE_ES_API_KEY=key["encoded"])
    assert "refused our credentials: 401" in line and "has been invalidated" in line, line
    refused("index service, revoked API key", line)
    line = _start_refused(stack, "index", tmp_path, NEWSWIRE_ES_CA_CERTS=None)
    assert "the TLS certificate of Elasticsearch at" in line and "certificate verify failed" in line, line
    refused("index service, no CA for Elasticsearch", line)
    assert committed(stack, creds, "newswire-index") == before, "a refused index consumed or committed"
