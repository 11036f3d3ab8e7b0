"""The native stack: real Kafka and Elasticsearch processes started by services.stack.up.

The stack is left running at the end: later tests (and developers) reuse it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from services.stack import StackSettings, StackStatus, status, up

pytestmark = pytest.mark.integration

#: The index settings for English text (what schemas/ uses): an analyzer of the plugin's type
#: ``newswire_english`` plus a custom chain built from the plugin's token filters.
#: Stable-plugin token filters cannot be used in custom *normalizers* (Elasticsearch does not
#: treat them as normalizing filters); keyword fields use the server's built-in ``lowercase``
#: normalizer instead.
ANALYSIS_SETTINGS = {
    "analysis": {
        "analyzer": {
            "english_text": {"type": "newswire_english"},
            "english_custom": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["newswire_lowercase", "newswire_english_stop", "newswire_porter_stem"],
            },
            # the minimal distribution has no `keyword` tokenizer: the plugin's newswire_keyword
            "folded_keyword": {
                "type": "custom",
                "tokenizer": "newswire_keyword",
                "filter": ["newswire_lowercase", "newswire_asciifolding"],
            },
            "folded_keyword_builtin": {"type": "newswire_folded_keyword"},
        },
    }
}


@pytest.fixture(scope="module")
def settings() -> StackSettings:
    return StackSettings()


@pytest.fixture(scope="module")
def stack(settings: StackSettings) -> StackStatus:
    return up(settings)


def _native(stack: StackStatus) -> None:
    if not (stack.kafka.managed and stack.elasticsearch.managed):
        pytest.skip("Kafka/Elasticsearch were not started by services.stack (external services)")


@pytest.fixture(scope="module")
def http(stack: StackStatus, settings: StackSettings) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=settings.es_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def analysis_index(http: httpx.Client) -> Iterator[str]:
    name = f"test-stack-analysis-{uuid.uuid4().hex[:8]}"
    body = {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0, **ANALYSIS_SETTINGS},
        "mappings": {
            "properties": {
                "body": {"type": "text", "analyzer": "english_text"},
                "tag": {"type": "keyword", "normalizer": "lowercase"},
            }
        },
    }
    resp = http.put(f"/{name}", json=body)
    assert resp.status_code == 200, resp.text
    yield name
    http.delete(f"/{name}")


def test_up_reports_both_healthy(stack: StackStatus) -> None:
    assert stack.healthy
    assert stack.kafka.healthy and stack.elasticsearch.healthy
    assert stack.kafka.address == "127.0.0.1:9092"
    assert stack.elasticsearch.address == "http://127.0.0.1:9200"
    assert "total" in stack.timings


def test_kafka_produce_consume_roundtrip(stack: StackStatus, settings: StackSettings) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = f"test-stack-{uuid.uuid4().hex[:10]}"
    payloads = [f"message {i} {uuid.uuid4()}".encode() for i in range(5)]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for p in payloads:
            producer.send(topic, value=p, key=b"k").get(timeout=30)
        producer.flush()
    finally:
        producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"test-stack-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        consumer_timeout_ms=1000,
    )
    got: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < len(payloads) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=1000).values():
                got.extend(record.value for record in batch)
        consumer.commit()
    finally:
        consumer.close()
    assert got == payloads


def test_elasticsearch_health(http: httpx.Client) -> None:
    health = http.get("/_cluster/health", params={"wait_for_status": "yellow", "timeout": "30s"}).json()
    assert health["status"] in ("green", "yellow")
    assert health["cluster_name"] == "newswire" or health["cluster_name"]


def test_analysis_plugin_installed(http: httpx.Client, stack: StackStatus) -> None:
    _native(stack)
    plugins = {p["component"] for p in http.get("/_cat/plugins", params={"format": "json"}).json()}
    assert "newswire-analysis" in plugins


def _tokens(http: httpx.Client, index: str, **body: object) -> list[str]:
    resp = http.post(f"/{index}/_analyze" if index else "/_analyze", json=body)
    assert resp.status_code == 200, resp.text
    return [t["token"] for t in resp.json()["tokens"]]


def test_newswire_english_analyzer(http: httpx.Client, analysis_index: str) -> None:
    assert _tokens(http, analysis_index, analyzer="english_text", text="meetings") == ["meet"]
    assert _tokens(http, analysis_index, analyzer="english_text", text="The Cooperation's") == ["cooper"]
    assert _tokens(http, analysis_index, analyzer="english_text", text="Café Señor running") == [
        "cafe",
        "senor",
        "run",
    ]


def test_custom_chain_from_plugin_filters(http: httpx.Client, analysis_index: str) -> None:
    assert _tokens(http, analysis_index, analyzer="english_custom", text="The Meetings of the Leaders") == [
        "meet",
        "leader",
    ]
    # filters are also usable ad hoc, without an index
    assert _tokens(
        http,
        "",
        tokenizer="standard",
        filter=["newswire_english_possessive", "newswire_lowercase", "newswire_asciifolding"],
        text="Zoë's CAFÉ",
    ) == ["zoe", "cafe"]


def test_folded_keyword_analyzers(http: httpx.Client, analysis_index: str) -> None:
    for analyzer in ("folded_keyword", "folded_keyword_builtin"):
        assert _tokens(http, analysis_index, analyzer=analyzer, text="Économie  NEWS") == ["economie  news"]


def test_builtin_lowercase_normalizer(http: httpx.Client, analysis_index: str) -> None:
    assert _tokens(http, analysis_index, field="tag", text="United NATIONS") == ["united nations"]


def test_wildcard_query_uses_analyzer_normalization(http: httpx.Client, analysis_index: str) -> None:
    # multi-term queries go through the analyzer's normalize(): lowercase + ASCII folding
    resp = http.post(
        f"/{analysis_index}/_doc", params={"refresh": "true"}, json={"body": "Dinner at the Café Tortoni"}
    )
    assert resp.status_code == 201, resp.text
    query = {"query": {"query_string": {"query": "CAFÉ*", "default_field": "body"}}}
    hits = http.post(f"/{analysis_index}/_search", json=query).json()
    assert hits["hits"]["total"]["value"] == 1


def test_search_meeting_finds_meetings(http: httpx.Client, analysis_index: str) -> None:
    resp = http.post(
        f"/{analysis_index}/_doc",
        params={"refresh": "true"},
        json={"body": "Leaders held several meetings in Tianjin.", "tag": "Economy"},
    )
    assert resp.status_code == 201, resp.text
    hits = http.post(f"/{analysis_index}/_search", json={"query": {"match": {"body": "meeting"}}}).json()
    assert hits["hits"]["total"]["value"] == 1
    hits = http.post(f"/{analysis_index}/_search", json={"query": {"term": {"tag": "ECONOMY"}}}).json()
    assert hits["hits"]["total"]["value"] == 1


def test_second_up_is_a_noop(stack: StackStatus, settings: StackSettings) -> None:
    t0 = time.monotonic()
    again = up(settings)
    elapsed = time.monotonic() - t0
    assert elapsed < 10, f"second up() took {elapsed:.1f}s"
    assert again.kafka.action == "already-running"
    assert again.elasticsearch.action == "already-running"
    assert again.kafka.pid == stack.kafka.pid
    assert again.elasticsearch.pid == stack.elasticsearch.pid
    assert again.healthy


def test_status_reports_both_healthy(stack: StackStatus, settings: StackSettings) -> None:
    st = status(settings)
    assert st.healthy
    assert st.kafka.running and st.elasticsearch.running
    if stack.kafka.managed:
        assert st.kafka.pid == stack.kafka.pid and st.kafka.managed
        assert st.kafka.version == settings.kafka_version
        assert st.kafka.log_path is not None and st.kafka.log_path.exists()
    if stack.elasticsearch.managed:
        assert st.elasticsearch.pid == stack.elasticsearch.pid and st.elasticsearch.managed
        assert st.elasticsearch.version == settings.es_version
        assert st.elasticsearch.log_path is not None and st.elasticsearch.log_path.exists()


def test_single_node_status_has_one_broker_its_controller_and_es_health(
    stack: StackStatus, settings: StackSettings
) -> None:
    _native(stack)
    st = status(settings)
    assert [b.node for b in st.brokers] == [1] and [e.node for e in st.es_nodes] == [1]
    assert st.kafka_cluster is not None and st.kafka_cluster.brokers == [1]
    assert st.kafka_cluster.controller == 1
    assert st.es_cluster is not None and st.es_cluster.number_of_nodes == 1
    assert st.es_cluster.status in ("green", "yellow")
    assert st.es_cluster.nodes == [settings.es_node_name(1)]
