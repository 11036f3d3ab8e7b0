"""Static checks of deploy/k8s: the manifests agree with the settings classes, the code and each other.

No cluster is needed: the YAML is parsed and compared with what the services really read (setting
names and values, metrics ports, probe endpoints) and with the topics' partition counts.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
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
#: Secure mode's overlays (README "Security"): checked by the tests at the end, not as plain manifests.
SECURE = K8S / "secure"
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
        if SECURE in path.parents:
            continue
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


# -- secure mode: deploy/k8s/secure/operators and deploy/k8s/secure/services ------------------------

SECURE_OPERATORS = SECURE / "operators"
SECURE_SERVICES = SECURE / "services"
#: Strimzi's ACL operation names for principals.py's (Kafka's) operations.
STRIMZI_OPERATIONS = {
    "READ": "Read",
    "WRITE": "Write",
    "CREATE": "Create",
    "DELETE": "Delete",
    "ALTER": "Alter",
    "DESCRIBE": "Describe",
    "DESCRIBE_CONFIGS": "DescribeConfigs",
    "ALL": "All",
}


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def kustomization(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    return loaded


def applied_documents(folder: Path) -> list[dict[str, Any]]:
    """The documents of the files a kustomization lists as resources (not its parents', not patches)."""
    found = []
    for resource in kustomization(folder)["resources"]:
        if (folder / resource).is_file():
            found += yaml_documents(folder / resource)
    return found


def secure_kafka() -> dict[str, Any]:
    (kafka,) = [doc for doc in applied_documents(SECURE_OPERATORS) if doc["kind"] == "Kafka"]
    return kafka


def service_patches() -> dict[str, dict[str, Any]]:
    """Deployment patches of the secure services overlay, by component (newswire-<component>)."""
    patches = {}
    for entry in kustomization(SECURE_SERVICES)["patches"]:
        (doc,) = yaml_documents(SECURE_SERVICES / entry["path"])
        if doc["kind"] == "Deployment":
            patches[doc["metadata"]["name"].removeprefix("newswire-")] = doc
    return patches


def config_patch() -> dict[str, Any]:
    (doc,) = yaml_documents(SECURE_SERVICES / "configmap.yaml")
    data: dict[str, Any] = doc["data"]
    return data


def secure_config() -> dict[str, str]:
    """The ConfigMap as the overlay leaves it (a null value removes the key)."""
    merged: dict[str, Any] = {**config(), **config_patch()}
    return {name: str(value) for name, value in merged.items() if value is not None}


def strimzi_acl(grant: Any) -> dict[str, Any]:
    resource = {"type": grant.resource.lower()}
    if grant.resource != "CLUSTER":
        resource |= {"name": grant.name, "patternType": "prefix" if grant.prefixed else "literal"}
    return {"resource": resource, "operations": [STRIMZI_OPERATIONS[grant.operation]], "host": "*"}


@pytest.mark.parametrize("folder", [SECURE_OPERATORS, SECURE_SERVICES], ids=["operators", "services"])
def test_secure_kustomizations_list_existing_files(folder: Path) -> None:
    spec = kustomization(folder)
    for resource in spec["resources"]:
        assert (folder / resource).exists(), f"{resource} does not exist"
        if not (folder / resource).is_file():
            assert (folder / resource / "kustomization.yaml").is_file(), resource
    for patch in spec.get("patches", []):
        assert (folder / patch["path"]).is_file(), patch
    assert "eck-users.example.yaml" not in spec["resources"], "placeholder passwords must not be applied"


def test_strimzi_users_are_the_kafka_principals_with_exactly_their_acls() -> None:
    from services.stack.secure.principals import kafka_users

    users = {
        doc["metadata"]["name"]: doc
        for doc in applied_documents(SECURE_OPERATORS)
        if doc["kind"] == "KafkaUser"
    }
    wanted = {principal.username: principal for principal in kafka_users()}
    assert set(users) == set(wanted)
    kafka = secure_kafka()
    for username, user in users.items():
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert (
            user["metadata"]["namespace"]
            == kafka["spec"]["entityOperator"]["userOperator"]["watchedNamespace"]
        )
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        acls = user["spec"]["authorization"]["acls"]
        assert acls == [strimzi_acl(grant) for grant in wanted[username].kafka], username
    # The user operator's namespace is the services' (their pods read the Secrets it makes).
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kafka["spec"]["entityOperator"]["userOperator"]["watchedNamespace"] == base["namespace"]


def test_the_secure_kafka_listener_is_tls_with_scram_and_acls_deny_by_default() -> None:
    from schemas.topics import min_insync_replicas

    kafka = secure_kafka()
    spec = kafka["spec"]["kafka"]
    (listener,) = spec["listeners"]
    assert listener["tls"] is True and listener["type"] == "internal"
    assert listener["authentication"] == {"type": "scram-sha-512"}
    assert spec["authorization"]["type"] == "simple" and not spec["authorization"].get("superUsers")
    assert spec["config"]["allow.everyone.if.no.acl.found"] is False
    replicas = int(config()["NEWSWIRE_TOPICS_REPLICATION_FACTOR"])
    assert spec["config"]["default.replication.factor"] == replicas
    assert spec["config"]["min.insync.replicas"] == min_insync_replicas(replicas)
    (pool,) = [doc for doc in applied_documents(SECURE_OPERATORS) if doc["kind"] == "KafkaNodePool"]
    assert pool["spec"]["replicas"] >= replicas and set(pool["spec"]["roles"]) == {"broker", "controller"}
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    # The services connect to that listener, with TLS, SCRAM and Strimzi's cluster CA.
    from services.stack.secure.kafka_node import MECHANISM

    name, namespace = kafka["metadata"]["name"], kafka["metadata"]["namespace"]
    settings = secure_config()
    assert settings["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"] == (
        f"{name}-kafka-bootstrap.{namespace}.svc:{listener['port']}"
    )
    assert settings["NEWSWIRE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert settings["NEWSWIRE_KAFKA_SASL_MECHANISM"] == MECHANISM
    assert "NEWSWIRE_ES_USERNAME" not in settings, "no shared Elasticsearch user in secure mode"
    ca_dir = str(Path(settings["NEWSWIRE_KAFKA_SSL_CAFILE"]).parent)
    for component, patch in service_patches().items():
        pod = patch["spec"]["template"]["spec"]
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0].get("volumeMounts", [])}
        if INPUT_TOPICS.get(component):
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert volumes[mounts[ca_dir]]["secret"]["secretName"] == f"{name}-cluster-ca-cert", component
        else:
            assert ca_dir not in mounts, f"{component} does not use Kafka"


def test_eck_roles_and_users_are_the_elasticsearch_principals() -> None:
    from services.stack.secure.principals import es_principals

    (roles_secret,) = [doc for doc in applied_documents(SECURE_OPERATORS) if doc["kind"] == "Secret"]
    roles = yaml.safe_load(roles_secret["stringData"]["roles.yml"])
    wanted = {p.es_role.name: p.es_role.descriptor() for p in es_principals() if p.es_role}
    assert roles == wanted
    deleters = [
        name for name, role in roles.items() for grant in role["indices"] if "all" in grant["privileges"]
    ]
    assert deleters == ["newswire-operator"], "only the operator may delete an index"
    (patch,) = yaml_documents(SECURE_OPERATORS / "eck-auth.yaml")
    (cluster,) = of_kind("Elasticsearch")
    assert patch["metadata"]["name"] == cluster["metadata"]["name"]
    assert patch["spec"]["auth"]["roles"] == [{"secretName": roles_secret["metadata"]["name"]}]
    realm = [entry["secretName"] for entry in patch["spec"]["auth"]["fileRealm"]]
    assert realm == [f"newswire-es-{p.name}" for p in es_principals()]
    examples = {
        doc["metadata"]["name"]: doc for doc in yaml_documents(SECURE_OPERATORS / "eck-users.example.yaml")
    }
    assert set(examples) == set(realm)
    for principal in es_principals():
        example = examples[f"newswire-es-{principal.name}"]
        assert example["type"] == "kubernetes.io/basic-auth"
        assert principal.es_role is not None
        assert example["stringData"]["username"] == principal.username
        assert example["stringData"]["roles"] == principal.es_role.name


def test_each_secure_pod_gets_only_its_own_principals_credentials() -> None:
    """A Deployment's env names the Secrets of exactly the principals its process carries
    (services/stack/secure/clients.py), and together with the ConfigMap it sets every variable
    clients.process_env gives that process (users and passwords: no API keys on ECK)."""
    from services.stack.secure.clients import PROCESS_PRINCIPALS, process_env
    from services.stack.secure.credentials import Credentials, Login
    from services.stack.secure.principals import by_name, es_principals, kafka_users

    creds = Credentials(
        Path("-"),
        kafka={p.name: Login(p.username, "-") for p in kafka_users()},
        elasticsearch={p.name: Login(p.username, "-") for p in es_principals()},
        api_keys={},
    )
    patches = service_patches()
    assert set(patches) == set(deployments())
    for component, patch in patches.items():
        (spec,) = patch["spec"]["template"]["spec"]["containers"]
        assert spec["envFrom"] == [{"configMapRef": {"name": "newswire-config"}}], component
        env = {item["name"]: item for item in spec["env"]}
        wanted = process_env(creds, component, bootstrap="-", es_url="-", ca_file="-")
        assert set(wanted) <= set(env) | set(secure_config()), component
        secrets = {item["valueFrom"]["secretKeyRef"]["name"] for item in env.values() if "valueFrom" in item}
        principals = [by_name(name) for name in PROCESS_PRINCIPALS[component]]
        expected = {f"newswire-{p.name}" for p in principals if p.kafka}
        expected |= {f"newswire-es-{p.name}" for p in principals if p.es_role}
        assert secrets == expected, component
        for name, item in env.items():
            if name == "NEWSWIRE_KAFKA_SASL_USERNAME":
                assert item["value"] == by_name(component).username
            elif name.endswith(("PASSWORD", "USERNAME")):
                assert item["valueFrom"]["secretKeyRef"]["key"] == name.rsplit("_", 1)[1].lower(), name


def kustomize_build(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (kustomize) is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_the_secure_operators_overlay_builds_with_the_plain_resources() -> None:
    built = kustomize_build(SECURE_OPERATORS)
    kinds = sorted(doc["kind"] for doc in built)
    plain = sorted(
        doc["kind"] for _, doc in documents() if doc.get("kind") in ("KafkaTopic", "Elasticsearch")
    )
    assert [kind for kind in kinds if kind in ("KafkaTopic", "Elasticsearch")] == plain
    (cluster,) = [doc for doc in built if doc["kind"] == "Elasticsearch"]
    assert cluster["spec"]["auth"]["roles"] and cluster["spec"]["nodeSets"], "the patch keeps the node sets"


def test_the_secure_services_overlay_gives_each_service_its_principal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rendered by kustomize and read back through the services' settings classes."""
    from services.stack.secure.principals import by_name

    built = kustomize_build(SECURE_SERVICES)
    (configmap,) = [doc for doc in built if doc["kind"] == "ConfigMap"]
    for deployment in [doc for doc in built if doc["kind"] == "Deployment"]:
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        (spec,) = deployment["spec"]["template"]["spec"]["containers"]
        assert [s for s in spec["envFrom"] if "secretRef" in s] == [], component
        env = {name: str(value) for name, value in configmap["data"].items()}
        for item in spec["env"]:
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref is None:
                env[item["name"]] = str(item.get("value", POD_NAME))
            else:
                # What the Secret holds: the principal's username (newswire-es-<name> / newswire-<name>).
                principal = ref["name"].removeprefix("newswire-").removeprefix("es-")
                env[item["name"]] = by_name(principal).username if ref["key"] == "username" else "secret"
        with monkeypatch.context() as patch:
            for variable in [v for v in os.environ if v.startswith("NEWSWIRE_")]:
                patch.delenv(variable)
            for variable, value in env.items():
                patch.setenv(variable, value)
            settings = importlib.import_module(SERVICE_SETTINGS[component][0]).Settings()
            if component == SEARCH:
                from services.watches.settings import WatchStoreSettings

                assert settings.elasticsearch_settings().username == by_name("search").username
                assert WatchStoreSettings().elasticsearch_settings().username == by_name("watches").username
                continue
        assert settings.kafka.security_protocol == "SASL_SSL", component
        assert settings.kafka.sasl_username == by_name(component).username, component
        if component == "index":
            assert settings.elasticsearch.username == by_name(component).username
        if component == "alert":
            assert settings.elasticsearch_settings().username == by_name(component).username


def kafka_grants_cell(principal: Any) -> str:
    """A principal's Kafka ACLs as the README shows them: by operation; the DESCRIBE grants every
    service holds on the pipeline's topics in one phrase."""
    from services.stack.secure.principals import _sees_the_pipeline

    if not principal.kafka:
        return "-"
    sees = set(_sees_the_pipeline())
    sees_all = sees <= set(principal.kafka)
    by_operation: dict[str, list[str]] = {}
    for grant in principal.kafka:
        if sees_all and grant in sees:
            continue
        star = "*" if grant.prefixed else ""
        target = (
            "cluster" if grant.resource == "CLUSTER" else f"{grant.resource.lower()} `{grant.name}{star}`"
        )
        by_operation.setdefault(grant.operation, []).append(target)
    cell = "; ".join(f"{operation} {', '.join(targets)}" for operation, targets in by_operation.items())
    return cell + ("; DESCRIBE, DESCRIBE_CONFIGS every pipeline topic" if sees_all else "")


def es_role_cell(principal: Any) -> str:
    role = principal.es_role
    if role is None:
        return "-"
    parts = ["cluster: " + ", ".join(role.cluster)] if role.cluster else []
    for grant in role.indices:
        parts.append(", ".join(f"`{name}`" for name in grant.names) + ": " + ", ".join(grant.privileges))
    return "; ".join(parts)


def test_the_readme_permission_table_is_principals_py() -> None:
    from services.stack.secure.principals import principals

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- principals table:")
    table = readme[readme.index("\n", start) + 1 : readme.index("<!-- end of principals table -->")]
    rows = [f"| `{p.username}` | {kafka_grants_cell(p)} | {es_role_cell(p)} |" for p in principals()]
    assert table.strip().splitlines()[2:] == rows
