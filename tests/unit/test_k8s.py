"""Static checks of deploy/k8s: the manifests agree with the settings classes, the code and each other.

No cluster is needed: the YAML is parsed and compared with what the services really read (setting
names and values, metrics ports, probe endpoints) and with the topics' partition counts.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from schemas.topics import TOPIC_CONFIGS, TOPICS, min_insync_replicas, topic_configs
from services.runtime.metrics import HEALTH_PATHS
from services.runtime.settings import TopicSettings
from tests.unit.test_compose import module_exists, real_setting_names, settings_under

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
INPUT_TOPICS = {
    "ingest": TOPICS.raw,
    "enrich": TOPICS.ingested,
    "index": TOPICS.enriched,
    "alert": TOPICS.enriched,
}
SERVICE_SETTINGS = {
    "ingest": ("services.ingest.settings", "Settings"),
    "enrich": ("services.enrich.settings", "Settings"),
    "index": ("services.index.settings", "Settings"),
    "search": ("services.search.settings", "Settings"),
    "alert": ("services.alert.settings", "Settings"),
}
#: The search API and web page: reads the index, consumes no topic, has its own read-only credentials.
SEARCH = "search"
SEARCH_SECRET = "newswire-search-credentials"


@cache
def documents() -> tuple[tuple[Path, dict[str, Any]], ...]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                found.append((path, doc))
    return tuple(found)


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents() if doc.get("kind") == kind]


def deployments() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["labels"]["app.kubernetes.io/component"]: doc for doc in of_kind("Deployment")}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def config() -> dict[str, str]:
    (configmap,) = [doc for doc in of_kind("ConfigMap") if doc["metadata"]["name"] == "newswire-config"]
    return {name: str(value) for name, value in configmap["data"].items()}


#: What the downward API gives a pod for ``metadata.name`` (a Deployment's pod: <name>-<hash>-<id>).
POD_NAME = "enrich-5d8f7c9b4-x2kqp"


def container_env(deployment: dict[str, Any]) -> dict[str, str]:
    """The container's own env entries, a pod name standing in for ``fieldRef: metadata.name``."""
    env = {}
    for item in container(deployment).get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            assert item["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, item
            env[item["name"]] = POD_NAME
    return env


def service_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    module, cls = SERVICE_SETTINGS[name]
    settings_class: type[BaseSettings] = getattr(importlib.import_module(module), cls)
    env = {**config(), **container_env(deployments()[name])}
    with monkeypatch.context() as patch:
        for variable in [v for v in os.environ if v.startswith("NEWSWIRE_")]:
            patch.delenv(variable)
        for variable, value in env.items():
            patch.setenv(variable, value)
        return settings_class()


def partitions() -> int:
    return int(config()["NEWSWIRE_TOPICS_PARTITIONS"])


def test_every_manifest_parses_and_has_a_kind() -> None:
    assert documents()
    for path, doc in documents():
        if path.name == "kustomization.yaml":
            assert doc["kind"] == "Kustomization"
        assert doc.get("apiVersion") and doc.get("kind"), path


@pytest.mark.parametrize("folder", ["base", "operators"])
def test_kustomizations_list_existing_files(folder: str) -> None:
    kustomization = yaml.safe_load((K8S / folder / "kustomization.yaml").read_text(encoding="utf-8"))
    for resource in kustomization["resources"]:
        assert (K8S / folder / resource).is_file(), f"{folder}/{resource} does not exist"


def test_the_secret_example_is_not_applied() -> None:
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "secret.example.yaml" not in kustomization["resources"], (
        "placeholder passwords must not be applied"
    )


def test_one_deployment_per_service_running_its_module() -> None:
    assert set(deployments()) == {*INPUT_TOPICS, SEARCH}
    for name, deployment in deployments().items():
        command = container(deployment)["command"]
        assert command == ["python", "-m", f"services.{name}"]
        assert module_exists(command[2])
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_every_variable_is_a_real_setting() -> None:
    names = set(config())
    for _, doc in documents():
        if doc.get("kind") == "Secret":
            names |= set(doc.get("stringData", {}))
    for deployment in deployments().values():
        names |= {item["name"] for item in container(deployment).get("env", [])}
    unknown = {name for name in names if name.startswith("NEWSWIRE_")} - real_setting_names()
    assert not unknown, f"no settings field reads {sorted(unknown)}"
    assert all(name.startswith("NEWSWIRE_") for name in names)


def test_configmap_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings_under(monkeypatch, config())  # raises ValidationError on a bad value


def test_secrets_stay_out_of_the_configmap() -> None:
    for name in config():
        assert not name.endswith(("PASSWORD", "API_KEY")), f"{name} belongs in the secret"


def test_pods_read_the_configmap_and_the_optional_secret() -> None:
    for name, deployment in deployments().items():
        sources = container(deployment)["envFrom"]
        assert {"configMapRef": {"name": "newswire-config"}} in sources, name
        secrets = [source["secretRef"] for source in sources if "secretRef" in source]
        # The search service never sees the writers' credentials, only its read-only key.
        secret = SEARCH_SECRET if name == SEARCH else "newswire-credentials"
        assert secrets == [{"name": secret, "optional": True}], name


def test_the_search_secret_holds_only_search_credentials() -> None:
    (secret,) = [doc for doc in of_kind("Secret") if doc["metadata"]["name"] == SEARCH_SECRET]
    assert set(secret["stringData"]) <= {
        "NEWSWIRE_SEARCH_ES_API_KEY",
        "NEWSWIRE_SEARCH_ES_USERNAME",
        "NEWSWIRE_SEARCH_ES_PASSWORD",
    }


def test_search_probes_serve_the_api_port_and_a_service_routes_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = service_settings(SEARCH, monkeypatch)
    spec = container(deployments()[SEARCH])
    ports = {port["name"]: port["containerPort"] for port in spec["ports"]}
    assert ports == {"http": settings.port}
    assert settings.host == "0.0.0.0", "bound to loopback, neither the kubelet nor the Service could reach it"
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        assert spec[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    (service,) = [doc for doc in of_kind("Service") if doc["metadata"]["name"] == "newswire-search"]
    assert service["spec"]["selector"].items() <= (
        deployments()[SEARCH]["spec"]["template"]["metadata"]["labels"].items()
    )
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize("name", sorted(INPUT_TOPICS))
def test_probes_hit_the_metrics_endpoints_on_the_served_port(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(name, monkeypatch)
    spec = container(deployments()[name])
    ports = {port["name"]: port["containerPort"] for port in spec["ports"]}
    assert ports["metrics"] == settings.metrics_port
    assert settings.metrics_host == "0.0.0.0", "bound to loopback, the kubelet could not reach the probes"
    expected = {"startupProbe": "liveness", "livenessProbe": "liveness", "readinessProbe": "readiness"}
    for probe, kind in expected.items():
        http = spec[probe]["httpGet"]
        assert http["path"] == HEALTH_PATHS[kind], probe
        assert ports.get(http["port"], http["port"]) == settings.metrics_port, probe


@pytest.mark.parametrize("name", sorted(INPUT_TOPICS))
def test_replicas_are_bounded_by_the_input_partitions(name: str) -> None:
    replicas = deployments()[name]["spec"]["replicas"]
    assert 1 <= replicas <= partitions(), f"{name}: {replicas} replicas, {partitions()} partitions"


def test_strimzi_topics_are_the_pipeline_topics_with_the_configured_partitions() -> None:
    topics = {doc["spec"]["topicName"]: doc for doc in of_kind("KafkaTopic")}
    assert set(topics) == set(TOPICS.all())
    bootstrap_host = config()["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].split(":")[0]
    for topic, doc in topics.items():
        assert doc["spec"]["partitions"] == partitions(), topic
        assert doc["spec"]["replicas"] == int(config()["NEWSWIRE_TOPICS_REPLICATION_FACTOR"]), topic
        cluster = doc["metadata"]["labels"]["strimzi.io/cluster"]
        assert bootstrap_host.startswith(f"{cluster}-kafka-bootstrap"), "services connect to another cluster"
        assert int(doc["spec"]["config"]["max.message.bytes"]) >= 16 * 1024 * 1024


@pytest.mark.parametrize("topic", TOPICS.all())
def test_strimzi_topic_configs_are_the_schema_definition(topic: str) -> None:
    """The configs ``ensure_topics`` gives the topic at the manifest's replicas, min.insync.replicas too."""
    (doc,) = [doc for doc in of_kind("KafkaTopic") if doc["spec"]["topicName"] == topic]
    manifest = {key: str(value) for key, value in doc["spec"]["config"].items()}
    replicas = doc["spec"]["replicas"]
    assert manifest == dict(topic_configs(topic, replicas))
    assert manifest["min.insync.replicas"] == str(min_insync_replicas(replicas))
    assert 1 < int(manifest["min.insync.replicas"]) < replicas, (
        "acks=all on two copies, one broker may be down"
    )


def test_the_cluster_runs_the_code_defaults_partitions_three_copies_and_replica_shards() -> None:
    """What was proven on the local cluster (issue 14): 6 partitions, 3 copies, one replica shard."""
    assert partitions() == TopicSettings.model_fields["partitions"].default
    assert int(config()["NEWSWIRE_TOPICS_REPLICATION_FACTOR"]) == 3
    (cluster,) = of_kind("Elasticsearch")
    nodes = sum(node_set["count"] for node_set in cluster["spec"]["nodeSets"])
    replicas = int(config()["NEWSWIRE_INDEX_NUMBER_OF_REPLICAS"])
    assert nodes >= 3
    assert replicas == min(1, nodes - 1), "a copy of each shard on another node; more would only cost"


@pytest.mark.parametrize("name", sorted(INPUT_TOPICS))
def test_each_pod_of_a_consumer_has_its_own_kafka_client_id(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several replicas share a group: newswire status tells its members apart by client id."""
    assert service_settings(name, monkeypatch).client_id == POD_NAME


def test_no_manifest_changes_how_the_producers_write() -> None:
    """acks=all and idempotence are the code's (services/runtime/kafka.py, services/enrich/producer.py);
    a faust variable could undo them for enrich (NEWSWIRE_ENRICH_FAUST_PRODUCER_ACKS)."""
    for path, _ in documents():
        text = path.read_text(encoding="utf-8").upper()
        assert "PRODUCER_ACKS" not in text and "IDEMPOTENCE" not in text, path


def test_the_archive_topic_is_compacted_and_kept_forever() -> None:
    archive = TOPIC_CONFIGS[TOPICS.ingested]
    assert archive["cleanup.policy"] == "compact"
    assert archive["retention.ms"] == "-1"
    assert int(archive["min.compaction.lag.ms"]) > 0, "live consumers would race the log cleaner"


def test_eck_elasticsearch_is_the_stack_version_and_the_configured_url() -> None:
    from services.stack.settings import StackSettings

    (cluster,) = of_kind("Elasticsearch")
    assert cluster["spec"]["version"] == StackSettings.model_fields["es_version"].default
    name = cluster["metadata"]["name"]
    assert config()["NEWSWIRE_ES_URL"].startswith(f"https://{name}-es-http")
    ca_secrets = {
        volume["secret"]["secretName"]
        for deployment in deployments().values()
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
        if "secret" in volume
    }
    assert ca_secrets == {f"{name}-es-http-certs-public"}
    mounts = {m["mountPath"] for m in container(deployments()["index"])["volumeMounts"]}
    assert str(Path(config()["NEWSWIRE_ES_CA_CERTS"]).parent) in mounts


def test_pods_request_resources_and_stop_gracefully() -> None:
    for name, deployment in deployments().items():
        resources = container(deployment)["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), name
        assert "memory" in resources["limits"], name
        pod = deployment["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= 30, "time to finish the batch and commit"
        assert pod["securityContext"]["runAsNonRoot"] is True


def test_writable_tmp_for_a_read_only_root(monkeypatch: pytest.MonkeyPatch) -> None:
    enrich = service_settings("enrich", monkeypatch)
    for name, deployment in deployments().items():
        spec = container(deployment)
        if spec["securityContext"].get("readOnlyRootFilesystem"):
            assert "/tmp" in {mount["mountPath"] for mount in spec["volumeMounts"]}, name
    assert str(enrich.faust_data_dir).startswith("/tmp/")


def test_disruption_budgets_and_pod_monitor_select_the_deployments() -> None:
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments().values()]
    budgets = of_kind("PodDisruptionBudget")
    assert len(budgets) == len(labels)
    for budget in budgets:
        selector = budget["spec"]["selector"]["matchLabels"]
        assert sum(selector.items() <= pod.items() for pod in labels) == 1
    (monitor,) = of_kind("PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert all(selector.items() <= pod.items() for pod in labels)
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert all(endpoint["path"] == HEALTH_PATHS["metrics"] for endpoint in endpoints)
    scraped = {endpoint["port"] for endpoint in endpoints}
    for name, deployment in deployments().items():
        assert scraped & {p["name"] for p in container(deployment)["ports"]}, f"{name} is not scraped"
