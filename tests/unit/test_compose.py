"""Static checks of docker-compose.yml, the Dockerfiles, .dockerignore and .env.example.

They need no Docker engine: the files are parsed and compared with the code they start (settings
classes, modules, the CLI, the analysis plugin's pom). Only the last test runs
``docker compose config``, and only where the compose CLI is installed.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
APP_DOCKERFILE = REPO_ROOT / "Dockerfile"
ES_DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "elasticsearch.Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
PLUGIN_DIR = REPO_ROOT / "deploy" / "analysis-plugin"

# The settings classes whose variables the compose file may set. A module that does not exist
# (yet) makes the tests that need it fail: a compose file that sets unknown variables is wrong.
SETTINGS_CLASSES = (
    ("services.runtime.settings", "KafkaSettings"),
    ("services.runtime.settings", "ElasticsearchSettings"),
    ("services.runtime.settings", "TopicSettings"),
    ("services.runtime.settings", "IndexReplicaSettings"),
    ("services.ingest.settings", "Settings"),
    ("services.enrich.settings", "Settings"),
    ("services.index.settings", "Settings"),
    ("services.search.settings", "Settings"),
    ("services.alert.settings", "Settings"),
    # The watches API's store (hosted by the search service): its own Elasticsearch credentials.
    ("services.watches.settings", "WatchStoreSettings"),
)
#: The Kafka consumers: the three stages and the alert service (beside index on articles.enriched).
PIPELINE_SERVICES = ("ingest", "enrich", "index", "alert")
#: The search API and web page: an HTTP server on the index, no Kafka.
SEARCH_SERVICE = "search"
BROKERS = ("kafka", "elasticsearch")

# ${NAME}, ${NAME:-default} or ${NAME-default}; "$$" is compose's escape for a literal "$".
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")
NEWSWIRE_NAME = re.compile(r"\bNEWSWIRE_[A-Z0-9_]+\b")


# -- reading the files ----------------------------------------------------------------------------


@cache
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(compose_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's variable substitution, with ``env`` (default: nothing set, so the defaults apply)."""
    variables = env or {}

    def substitute(match: re.Match[str]) -> str:
        name, op, default = match["name"], match["op"], match["default"] or ""
        if name in variables and (variables[name] or op != ":-"):
            return variables[name]
        return default if op else ""

    return INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def environment(service: str) -> dict[str, str]:
    """A service's container environment as compose would pass it with no variables set."""
    env = services()[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def command(service: str) -> list[str]:
    raw = services()[service].get("command")
    assert raw, f"{service} has no command"
    parts = shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]
    return [interpolate(part) for part in parts]


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def compose_interpolations() -> list[re.Match[str]]:
    return list(INTERPOLATION.finditer(compose_text()))


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def pom_property(name: str) -> str:
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(PLUGIN_DIR / "pom.xml").getroot()
    element = root.find(f"m:properties/m:{name}", namespace)
    assert element is not None and element.text, f"pom.xml has no <{name}>"
    return element.text.strip()


def image_tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def port_of(address: str) -> int:
    port = urlsplit(address if "://" in address else f"//{address}").port
    assert port is not None, f"no port in {address!r}"
    return port


# -- the settings classes -------------------------------------------------------------------------


def settings_classes() -> list[type[BaseSettings]]:
    """The listed classes and every settings class they compose (e.g. ``Settings.kafka``)."""
    found: list[type[BaseSettings]] = []

    def visit(cls: type[BaseSettings]) -> None:
        if cls in found:
            return
        found.append(cls)
        for field in cls.model_fields.values():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
                visit(field.annotation)

    for module, name in SETTINGS_CLASSES:
        visit(getattr(importlib.import_module(module), name))
    return found


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variables ``cls`` reads (pydantic-settings: prefix + field name, or alias)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def real_setting_names() -> set[str]:
    return set().union(*(env_names(cls) for cls in settings_classes()))


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No NEWSWIRE_* variables from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("NEWSWIRE_"):
            monkeypatch.delenv(name)
    yield monkeypatch


def settings_under(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[type[BaseSettings], Any]:
    """Every settings class instantiated with ``env`` (only NEWSWIRE_* variables matter)."""
    with monkeypatch.context() as patch:
        for name, value in env.items():
            if name.startswith("NEWSWIRE_"):
                patch.setenv(name, value)
        return {cls: cls() for cls in settings_classes()}


# -- service graph --------------------------------------------------------------------------------


def depends_on(service: str) -> dict[str, dict[str, Any]]:
    deps = services()[service].get("depends_on") or {}
    assert isinstance(deps, dict), f"{service}: depends_on must use the long form with a condition"
    return deps


def waits_for_healthy(service: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
    """``service`` starts only once ``target`` is healthy, directly or through services it waits for."""
    for dep, spec in depends_on(service).items():
        condition = spec.get("condition")
        if dep == target and condition == "service_healthy":
            return True
        waits_for_dep = condition in ("service_healthy", "service_completed_successfully")
        if waits_for_dep and dep not in seen and waits_for_healthy(dep, target, seen | {service}):
            return True
    return False


# -- tests: structure ----------------------------------------------------------------------------


def test_every_service_has_an_image_or_a_build() -> None:
    for name, service in services().items():
        assert service.get("image") or service.get("build"), f"{name} has neither image nor build"
        build = service.get("build")
        if isinstance(build, dict):
            context = REPO_ROOT / build.get("context", ".")
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: no Dockerfile"


def test_the_expected_services_exist() -> None:
    assert {*BROKERS, "init", *PIPELINE_SERVICES, SEARCH_SERVICE} <= set(services())
    assert services()["kibana"].get("profiles") == ["kibana"], "Kibana is optional: profile 'kibana'"


@pytest.mark.parametrize("broker", BROKERS)
def test_brokers_have_healthchecks(broker: str) -> None:
    healthcheck = services()[broker].get("healthcheck") or {}
    assert healthcheck.get("test"), f"{broker} needs a healthcheck for service_healthy to mean anything"
    assert not healthcheck.get("disable")
    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")


def test_elasticsearch_healthcheck_waits_for_yellow() -> None:
    probe = " ".join(services()["elasticsearch"]["healthcheck"]["test"])
    assert "_cluster/health" in probe and "wait_for_status=yellow" in probe and "curl -f" in probe


def test_init_waits_for_healthy_brokers_and_runs_once() -> None:
    for broker in BROKERS:
        assert depends_on("init")[broker]["condition"] == "service_healthy"
    assert services()["init"].get("restart", "no") == "no"


@pytest.mark.parametrize("service", PIPELINE_SERVICES)
def test_pipeline_services_start_after_init_and_healthy_brokers(service: str) -> None:
    assert depends_on(service)["init"]["condition"] == "service_completed_successfully"
    assert waits_for_healthy(service, "kafka"), f"{service} may start before Kafka is healthy"
    if "NEWSWIRE_ES_URL" in environment(service):
        assert waits_for_healthy(service, "elasticsearch")
    assert services()[service].get("restart") == "unless-stopped"


def test_index_waits_for_elasticsearch_directly() -> None:
    # init finishing means Elasticsearch was healthy once; a restarted index must check again.
    assert depends_on("index")["elasticsearch"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", PIPELINE_SERVICES)
def test_pipeline_services_can_be_scaled(service: str) -> None:
    spec = services()[service]
    assert "container_name" not in spec, "a fixed name forbids --scale"
    assert not spec.get("ports"), "a fixed host port forbids --scale"


def test_pipeline_services_share_one_image() -> None:
    images = {services()[name].get("image") for name in (*PIPELINE_SERVICES, SEARCH_SERVICE, "init")}
    builds = {str(services()[name].get("build")) for name in (*PIPELINE_SERVICES, SEARCH_SERVICE, "init")}
    assert len(images) == 1 and None not in images
    assert len(builds) == 1


# -- tests: agreement with the settings classes ---------------------------------------------------


def test_compose_variables_are_real_settings() -> None:
    used = set(NEWSWIRE_NAME.findall(compose_text()))
    assert used, "the compose file configures the services through NEWSWIRE_* variables"
    unknown = used - real_setting_names()
    assert not unknown, f"no settings field reads {sorted(unknown)}"


def test_pipeline_connections_use_the_settings_default_ports(isolated_env: pytest.MonkeyPatch) -> None:
    from services.runtime.settings import ElasticsearchSettings, KafkaSettings

    kafka_port = port_of(KafkaSettings().bootstrap_servers.split(",")[0])
    es_port = port_of(ElasticsearchSettings().url.split(",")[0])
    kafka_env = environment("kafka")
    assert f"PLAINTEXT://:{kafka_port}" in kafka_env["KAFKA_LISTENERS"].split(",")
    assert f"PLAINTEXT://kafka:{kafka_port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert f"--bootstrap-server localhost:{kafka_port}" in " ".join(
        services()["kafka"]["healthcheck"]["test"]
    )
    assert f"localhost:{es_port}/" in " ".join(services()["elasticsearch"]["healthcheck"]["test"])
    assert any(str(mapping).endswith(f":{es_port}") for mapping in services()["elasticsearch"]["ports"])
    for service in ("init", *PIPELINE_SERVICES):
        env = environment(service)
        assert env["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"] == f"kafka:{kafka_port}"
        if "NEWSWIRE_ES_URL" in env or service in ("init", "index"):
            assert env["NEWSWIRE_ES_URL"] == f"http://elasticsearch:{es_port}"


def test_host_clients_reach_elasticsearch_with_the_default_url(isolated_env: pytest.MonkeyPatch) -> None:
    from services.runtime.settings import ElasticsearchSettings

    published = [interpolate(str(mapping)) for mapping in services()["elasticsearch"]["ports"]]
    host_ports = {int(mapping.split(":")[-2]) for mapping in published}
    assert port_of(ElasticsearchSettings().url) in host_ports


def test_kafka_external_listener_is_published_and_advertised() -> None:
    env = environment("kafka")
    listeners = dict(item.split("://", 1) for item in env["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://", 1) for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    container_port = port_of(listeners["EXTERNAL"])
    published = [interpolate(str(mapping)).split(":") for mapping in services()["kafka"]["ports"]]
    host_port = next(int(parts[-2]) for parts in published if int(parts[-1]) == container_port)
    assert advertised["EXTERNAL"] == f"localhost:{host_port}"
    assert "EXTERNAL:PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    controller = port_of(listeners["CONTROLLER"])
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:{controller}"
    for name in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG"):
        assert env[f"KAFKA_{name}_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"


def test_a_single_broker_and_node_get_one_copy_and_the_code_defaults_partitions() -> None:
    """RF 1 with min.insync.replicas 1 (schemas/topics.py), no replica shards, the code's 6 partitions."""
    from schemas.topics import min_insync_replicas
    from services.runtime.settings import IndexReplicaSettings, TopicSettings

    broker, init = environment("kafka"), environment("init")
    replication = int(init["NEWSWIRE_TOPICS_REPLICATION_FACTOR"])
    assert replication == int(broker["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 1
    assert int(broker["KAFKA_MIN_INSYNC_REPLICAS"]) == min_insync_replicas(replication)
    assert environment("elasticsearch")["discovery.type"] == "single-node"
    assert int(init["NEWSWIRE_INDEX_NUMBER_OF_REPLICAS"]) == 0
    assert IndexReplicaSettings.model_fields["number_of_replicas"].default == 0
    default_partitions = TopicSettings.model_fields["partitions"].default
    assert (
        int(init["NEWSWIRE_TOPICS_PARTITIONS"]) == int(broker["KAFKA_NUM_PARTITIONS"]) == default_partitions
    )
    for service in PIPELINE_SERVICES:
        env = environment(service)
        assert env["NEWSWIRE_TOPICS_REPLICATION_FACTOR"] == init["NEWSWIRE_TOPICS_REPLICATION_FACTOR"], (
            service
        )
        assert env["NEWSWIRE_INDEX_NUMBER_OF_REPLICAS"] == init["NEWSWIRE_INDEX_NUMBER_OF_REPLICAS"], service
    text = compose_text().upper()
    assert "PRODUCER_ACKS" not in text and "IDEMPOTENCE=" not in text, "producers write as the code says"


@pytest.mark.parametrize("service", ["init", *PIPELINE_SERVICES, SEARCH_SERVICE])
def test_compose_values_are_valid_settings(service: str, isolated_env: pytest.MonkeyPatch) -> None:
    env = environment(service)
    for name in env:
        if name.startswith("NEWSWIRE_"):
            assert name in real_setting_names()
    settings_under(isolated_env, env)  # raises ValidationError on a bad value


def test_compose_defaults_equal_the_settings_defaults(isolated_env: pytest.MonkeyPatch) -> None:
    defaults = settings_under(isolated_env, {})
    checked = 0
    for match in compose_interpolations():
        name, default = match["name"], match["default"]
        if not name.startswith("NEWSWIRE_") or default is None:
            continue
        configured = settings_under(isolated_env, {name: default})
        for cls, instance in configured.items():
            assert instance == defaults[cls], f"${{{name}:-{default}}} differs from the default of {cls}"
        checked += 1
    assert checked, "expected NEWSWIRE_* variables with defaults in the compose file"


@pytest.mark.parametrize("service", PIPELINE_SERVICES)
def test_pipeline_healthchecks_poll_the_liveness_endpoint(
    service: str, isolated_env: pytest.MonkeyPatch
) -> None:
    from services.runtime.metrics import HEALTH_PATHS

    settings_class = importlib.import_module(f"services.{service}.settings").Settings
    settings = settings_under(isolated_env, environment(service))[settings_class]
    probe = " ".join(services()[service]["healthcheck"]["test"])
    endpoints = set(re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\w*)", probe))
    assert endpoints == {(str(settings.metrics_port), HEALTH_PATHS["liveness"])}
    assert settings.metrics_host == "0.0.0.0", "a Prometheus container could not scrape a loopback address"


def test_search_service_waits_for_elasticsearch_and_serves_the_published_port(
    isolated_env: pytest.MonkeyPatch,
) -> None:
    from services.search.settings import Settings

    spec = services()[SEARCH_SERVICE]
    assert command(SEARCH_SERVICE) == ["python", "-m", "services.search"]
    assert depends_on(SEARCH_SERVICE)["elasticsearch"]["condition"] == "service_healthy"
    assert depends_on(SEARCH_SERVICE)["init"]["condition"] == "service_completed_successfully"
    assert spec.get("restart") == "unless-stopped"
    env = environment(SEARCH_SERVICE)
    es_port = port_of(settings_under(isolated_env, {})[Settings].elasticsearch.url)
    assert env["NEWSWIRE_ES_URL"] == f"http://elasticsearch:{es_port}"
    settings = settings_under(isolated_env, env)[Settings]
    assert settings.host == "0.0.0.0", "the published port could not reach a loopback address"
    published = [interpolate(str(mapping)) for mapping in spec["ports"]]
    assert published == [f"127.0.0.1:{Settings.model_fields['port'].default}:{settings.port}"]
    probe = " ".join(spec["healthcheck"]["test"])
    endpoints = set(re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\w*)", probe))
    assert endpoints == {(str(settings.port), "/healthz")}
    # Start-up waits for Elasticsearch up to startup_timeout_s before it serves /healthz.
    start_period = int(str(spec["healthcheck"]["start_period"]).removesuffix("s"))
    assert start_period > settings.startup_timeout_s


def test_every_interpolated_variable_has_a_documented_default() -> None:
    documented = env_example()
    for match in compose_interpolations():
        name = match["name"]
        assert match["op"] == ":-", f"${{{name}}} needs a default (:-) so that no .env is required"
        assert name in documented, f"{name} is missing from .env.example"
        assert documented[name] == match["default"], f".env.example: {name} differs from the compose default"


def test_env_example_lists_only_variables_compose_reads() -> None:
    # .env only feeds compose's substitution: a variable the compose file never names reaches no
    # container, so listing it would suggest a knob that does nothing.
    interpolated = {match["name"] for match in compose_interpolations()}
    documented = env_example()
    assert documented
    assert set(documented) <= interpolated, (
        f"not used by docker-compose.yml: {set(documented) - interpolated}"
    )
    newswire = {name for name in documented if name.startswith("NEWSWIRE_")}
    assert newswire <= real_setting_names()


def test_env_example_values_are_valid_settings(isolated_env: pytest.MonkeyPatch) -> None:
    defaults = settings_under(isolated_env, {})
    assert settings_under(isolated_env, env_example()) == defaults, ".env.example must show the defaults"


def test_native_and_docker_stacks_run_the_same_versions() -> None:
    from services.stack.settings import StackSettings

    fields = StackSettings.model_fields
    assert image_tag(services()["kafka"]["image"]) == fields["kafka_version"].default
    es_base = next(
        args
        for keyword, args in dockerfile_instructions(ES_DOCKERFILE)
        if keyword == "FROM" and "elasticsearch/elasticsearch" in args
    )
    versions = {image_tag(es_base), pom_property("elasticsearch.version"), fields["es_version"].default}
    versions.add(image_tag(services()["kibana"]["image"]))
    assert len(versions) == 1, f"Elasticsearch versions disagree: {versions}"


# -- tests: what the containers run ---------------------------------------------------------------


def module_exists(module: str) -> bool:
    path = REPO_ROOT.joinpath(*module.split("."))
    return (path / "__main__.py").is_file() or path.with_suffix(".py").is_file()


def console_script(name: str) -> str:
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    target: str = scripts[name]
    return target


def assert_runnable(argv: list[str], where: str) -> None:
    """``python -m <existing module>``, or a CLI subcommand that the CLI really has."""
    if argv[:2] == ["python", "-m"]:
        assert module_exists(argv[2]), f"{where}: no module {argv[2]} (needs {argv[2]}/__main__.py)"
        return
    assert argv[0] == "newswire", f"{where}: unexpected program {argv[0]}"
    module, _, function = console_script("newswire").partition(":")
    assert module_exists(module), f"{where}: the newswire script's module {module} does not exist"
    # --help after the real arguments: click rejects unknown commands and options before it.
    runner = f"import sys; from {module} import {function}; sys.argv[0] = 'newswire'; sys.exit({function}())"
    result = subprocess.run(
        [sys.executable, "-c", runner, *argv[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, f"{where}: `{shlex.join(argv)}` is not a valid command:\n{result.stderr}"


def shell_commands(argv: list[str]) -> list[list[str]]:
    """``sh -c "a && b"`` -> [a, b]; anything else is one command."""
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in argv[2].split("&&")]
    return [argv]


@pytest.mark.parametrize("service", ["init", *PIPELINE_SERVICES, SEARCH_SERVICE])
def test_service_commands_run_existing_code(service: str) -> None:
    for argv in shell_commands(command(service)):
        assert_runnable(argv, service)


def test_pipeline_services_run_their_own_module() -> None:
    for service in PIPELINE_SERVICES:
        assert command(service) == ["python", "-m", f"services.{service}"]


def test_init_creates_topics_and_the_index() -> None:
    steps = [argv[1:3] for argv in shell_commands(command("init"))]
    assert steps == [["topics", "create"], ["index", "init"]]
    topics = shell_commands(command("init"))[0]
    partitions = topics[topics.index("--partitions") + 1]
    assert partitions == environment("init")["NEWSWIRE_TOPICS_PARTITIONS"]


def test_topics_get_their_configs_only_from_newswire_topics_create() -> None:
    # `newswire topics create` applies schemas/topics.py's TOPIC_CONFIGS (and migrates existing
    # topics): a topic made by Kafka's own tools, or configs set on the broker, would bypass it.
    text = compose_text()
    assert "kafka-topics" not in text and "kafka-configs" not in text
    broker_env = environment("kafka")
    for key in ("CLEANUP_POLICY", "RETENTION", "SEGMENT", "COMPACTION"):
        assert not [name for name in broker_env if key in name], f"broker-wide {key} in compose"


def test_app_dockerfile() -> None:
    instructions = dockerfile_instructions(APP_DOCKERFILE)
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert any(keyword == "RUN" and "pip install" in args and " ." in args for keyword, args in instructions)
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the services must not run as root"
    cmd = next(args for keyword, args in reversed(instructions) if keyword == "CMD")
    assert_runnable(yaml.safe_load(cmd), "Dockerfile CMD")


def test_the_installed_package_ships_every_data_file() -> None:
    # The image installs the package (not editable): a template, stylesheet or schema that no
    # package-data pattern names would be missing in the container only.
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]
    unshipped = []
    for top in ("services", "schemas"):
        for path in sorted((REPO_ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(REPO_ROOT)
            shipped = False
            for package, patterns in package_data.items():
                package_dir = Path(*package.split("."))
                if package_dir in relative.parents:
                    inside = relative.relative_to(package_dir).as_posix()
                    shipped = shipped or any(fnmatch.fnmatchcase(inside, pattern) for pattern in patterns)
            if not shipped:
                unshipped.append(str(relative))
    assert not unshipped, f"pyproject.toml's package-data leaves out {unshipped}"


def test_elasticsearch_image_installs_the_analysis_plugin() -> None:
    build = services()["elasticsearch"]["build"]
    assert (REPO_ROOT / build["context"] / build["dockerfile"]).resolve() == ES_DOCKERFILE
    text = ES_DOCKERFILE.read_text(encoding="utf-8")
    assert "deploy/analysis-plugin" in text and (PLUGIN_DIR / "pom.xml").is_file()
    froms = [args for keyword, args in dockerfile_instructions(ES_DOCKERFILE) if keyword == "FROM"]
    assert froms[0].startswith("maven:3.9-eclipse-temurin-17 ")
    assert froms[-1].startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    artifact = ET.parse(PLUGIN_DIR / "pom.xml").getroot().findtext("m:artifactId", namespaces=namespace)
    assert f"target/{artifact}-*.zip" in text
    assert re.search(r"bin/elasticsearch-plugin install --batch file:///\S+\.zip", text)


def dockerignore_excludes(path: str) -> bool:
    """Whether .dockerignore leaves ``path`` (relative to the context) out; no "!" rules here."""
    patterns = [
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(pattern.startswith("!") for pattern in patterns), "extend dockerignore_excludes for '!'"
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or fnmatch.fnmatchcase(Path(prefix).name, pattern):
                return True
    return False


def test_dockerignore_keeps_build_inputs_and_drops_local_state() -> None:
    copied = []
    for dockerfile in (APP_DOCKERFILE, ES_DOCKERFILE):
        for keyword, args in dockerfile_instructions(dockerfile):
            if keyword == "COPY" and "--from=" not in args:
                copied += [source for source in args.split()[:-1] if not source.startswith("--")]
    assert copied
    for source in copied:
        assert (REPO_ROOT / source).exists(), f"COPY {source}: no such path"
        assert not dockerignore_excludes(source), f".dockerignore drops {source}, which a Dockerfile copies"
    for local in (".git", ".state", ".env", "deploy/analysis-plugin/target", "services/__pycache__"):
        assert dockerignore_excludes(local), f".dockerignore should leave out {local}"


# -- tests: secure mode (profile "secure") ---------------------------------------------------------

#: Secure service -> the process (services/stack/secure/clients.py) whose env file it mounts.
SECURE_PROCESSES = {
    "secure-init": "operator",
    "ingest-secure": "ingest",
    "enrich-secure": "enrich",
    "index-secure": "index",
    "alert-secure": "alert",
    "search-secure": "search",
}
SECURE_ONE_SHOTS = ("secure-setup", "secure-provision", "secure-init")
SECURE_BROKERS = {"kafka": "kafka-secure", "elasticsearch": "elasticsearch-secure"}
SECURE_ENV_DIR = "/run/newswire"


def secure_services() -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in services().items() if "secure" in (spec.get("profiles") or [])}


def volume_mounts(service: str) -> dict[str, str]:
    """``{volume: "target[:ro]"}`` of a service's named-volume mounts."""
    mounts = {}
    for entry in services()[service].get("volumes") or []:
        source, _, target = str(entry).partition(":")
        mounts[source] = target
    return mounts


def kafka_secure_properties() -> dict[str, str]:
    (mounted,) = services()["kafka-secure"]["configs"]
    content = interpolate(compose()["configs"][mounted["source"]]["content"])
    properties = {}
    for line in content.splitlines():
        if line.strip() and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, line
            properties[key] = value
    return properties


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def dockerfile_uid() -> int:
    useradd = next(a for k, a in dockerfile_instructions(APP_DOCKERFILE) if k == "RUN" and "useradd" in a)
    return int(option(useradd.split(), "--uid"))


def test_the_secure_profile_is_a_separate_stack_and_the_default_stays_plain() -> None:
    secure = secure_services()
    assert set(secure) == {*SECURE_PROCESSES, *SECURE_ONE_SHOTS, *SECURE_BROKERS.values()}
    plain = {name: spec for name, spec in services().items() if not spec.get("profiles")}
    assert set(plain) == {*BROKERS, "init", *PIPELINE_SERVICES, SEARCH_SERVICE}
    for name in plain:
        assert not set(volume_mounts(name)) & {v for s in secure for v in volume_mounts(s)}, name
        for dep in depends_on(name):
            assert dep not in secure, f"{name} would pull in secure service {dep}"
    plain_ports = {interpolate(str(p)).rsplit(":", 1)[0] for s in plain.values() for p in s.get("ports", [])}
    secure_ports = {
        interpolate(str(p)).rsplit(":", 1)[0] for s in secure.values() for p in s.get("ports", [])
    }
    assert secure_ports and not plain_ports & secure_ports, "both stacks can run side by side"
    for name in secure:
        for dep in depends_on(name):
            assert dep in secure, f"{name} depends on plain {dep}"


def test_secure_kafka_is_the_secure_node_settings_of_principals_and_kafka_node() -> None:
    """The node's properties are kafka_node.secure_server_properties for host kafka-secure, exactly."""
    from services.stack.secure import __main__ as setup
    from services.stack.secure.certs import CertificateAuthority, NodeCert
    from services.stack.secure.kafka_node import secure_server_properties
    from services.stack.secure.principals import ADMIN, BROKER_CN, USERNAME_PREFIX

    props = kafka_secure_properties()
    listeners = dict(item.split("://", 1) for item in props["listeners"].split(","))
    tls_dir = volume_mounts("kafka-secure")["kafka-secure-tls"].removesuffix(":ro")
    wanted = secure_server_properties(
        host="kafka-secure",
        client_port=port_of(listeners["CLIENT"]),
        broker_port=port_of(listeners["BROKER"]),
        controller_port=port_of(listeners["CONTROLLER"]),
        node_cert=NodeCert("kafka-secure", Path("-"), Path("-"), Path(tls_dir, setup.KAFKA_BUNDLE)),
        ca=CertificateAuthority(Path(tls_dir, setup.CA_FILE), Path("-")),
        admin_username=f"{USERNAME_PREFIX}{ADMIN}",
    )
    assert {key: props[key] for key in wanted} == wanted
    # The listeners: SASL_SSL (SCRAM-SHA-512) for clients, TLS with certificates between nodes, no plaintext.
    protocols = dict(item.split(":") for item in props["listener.security.protocol.map"].split(","))
    assert protocols == {"CLIENT": "SASL_SSL", "BROKER": "SSL", "CONTROLLER": "SSL"}
    assert "PLAINTEXT" not in " ".join(props.values())
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["super.users"] == f"User:{BROKER_CN};User:{USERNAME_PREFIX}{ADMIN}"
    assert (
        props["controller.quorum.voters"]
        == f"{props['node.id']}@kafka-secure:{port_of(listeners['CONTROLLER'])}"
    )
    # The clients' bootstrap is the CLIENT listener; setup and provision agree with the mounts.
    client = listeners["CLIENT"]
    assert environment("ingest-secure")["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"] == client
    assert option(command("secure-provision"), "--bootstrap") == client
    assert (
        option(command("secure-setup"), "--kafka-host")
        == "kafka-secure"
        == services()["kafka-secure"]["hostname"]
    )
    assert option(command("secure-setup"), "--kafka-ca-path") == props["ssl.truststore.location"]
    assert volume_mounts("secure-setup")["kafka-secure-tls"] == f"/secure/{setup.KAFKA}"


def test_secure_kafka_formats_with_every_scram_user_and_checks_health_as_the_admin() -> None:
    from services.stack.secure import __main__ as setup

    script = " ".join(command("kafka-secure"))
    (mounted,) = services()["kafka-secure"]["configs"]
    tls_dir = volume_mounts("kafka-secure")["kafka-secure-tls"].removesuffix(":ro")
    assert f"mapfile -t scram < {tls_dir}/{setup.SCRAM_ARGS}" in script
    assert re.search(
        rf'kafka-storage.sh format --ignore-formatted -t "\$CLUSTER_ID" '
        rf'-c {mounted["target"]} "\$\{{scram\[@\]\}}"',
        script,
    )
    assert f"exec /opt/kafka/bin/kafka-server-start.sh {mounted['target']}" in script
    assert len(environment("kafka-secure")["CLUSTER_ID"]) == 22
    probe = " ".join(services()["kafka-secure"]["healthcheck"]["test"])
    listeners = dict(item.split("://", 1) for item in kafka_secure_properties()["listeners"].split(","))
    assert (
        f"--bootstrap-server {listeners['CLIENT']} --command-config {tls_dir}/{setup.KAFKA_ADMIN_CONFIG}"
        in probe
    )


def test_secure_elasticsearch_is_the_secure_node_settings_with_tls_on_both_layers() -> None:
    from services.stack.secure import __main__ as setup
    from services.stack.secure.es_node import CERTS_DIR, secure_es_settings

    env = environment("elasticsearch-secure")

    def rendered(value: object) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        return ",".join(value) if isinstance(value, list) else str(value)

    wanted = {key: rendered(value) for key, value in secure_es_settings().items()}
    assert {key: env.get(key) for key in wanted} == wanted
    certs_dir = f"/usr/share/elasticsearch/config/{CERTS_DIR}"
    assert volume_mounts("elasticsearch-secure")["es-secure-certs"] == f"{certs_dir}:ro"
    assert env["ELASTIC_PASSWORD_FILE"] == f"{certs_dir}/{setup.ES_BOOTSTRAP_PASSWORD}"
    assert volume_mounts("secure-setup")["es-secure-certs"] == f"/secure/{setup.ELASTICSEARCH}"
    probe = " ".join(services()["elasticsearch-secure"]["healthcheck"]["test"])
    assert "https://localhost:9200/_cluster/health?wait_for_status=yellow" in probe
    assert f"--cacert config/{CERTS_DIR}/ca.crt" in probe and "curl -f" in probe
    url = "https://elasticsearch-secure:9200"
    assert option(command("secure-provision"), "--es-url") == url
    for name in ("index-secure", "alert-secure", "search-secure", "secure-init"):
        assert environment(name)["NEWSWIRE_ES_URL"] == url, name
    assert services()["elasticsearch-secure"]["build"] == services()["elasticsearch"]["build"]


def test_each_secure_service_gets_only_its_own_principals_credentials() -> None:
    from services.stack.secure import __main__ as setup
    from services.stack.secure.clients import PROCESS_PRINCIPALS

    provision = volume_mounts("secure-provision")
    assert provision == {
        "secure-state": f"/secure/{setup.STATE}",
        **{f"secure-env-{p}": f"/secure/{setup.ENV}/{p}" for p in PROCESS_PRINCIPALS},
    }
    env_file = f"{SECURE_ENV_DIR}/{setup.ENV_FILE}"
    assert option(command("secure-provision"), "--env-ca-path") == f"{SECURE_ENV_DIR}/{setup.CA_FILE}"
    for name, process in SECURE_PROCESSES.items():
        assert volume_mounts(name) == {f"secure-env-{process}": f"{SECURE_ENV_DIR}:ro"}, name
        argv = command(name)
        assert argv[:6] == ["python", "-m", "services.stack.secure", "exec", env_file, "--"], name
        assert_runnable(argv[:3], name)
        for inner in shell_commands(argv[6:]):
            assert_runnable(inner, name)
        # Nothing secret in the compose file itself: it all comes from the env file.
        assert not [key for key in environment(name) if key.endswith(("PASSWORD", "API_KEY", "USERNAME"))]
    for name in SECURE_PROCESSES:
        if name != "secure-init":
            assert command(name)[6:] == ["python", "-m", f"services.{name.removesuffix('-secure')}"]
    # The CA key and every password: only the two one-shot setup steps mount them.
    holders = {name for name in services() if "secure-state" in volume_mounts(name)}
    assert holders == {"secure-setup", "secure-provision"}
    # Node material: only its node and the setup that writes it.
    for volume, node in (("kafka-secure-tls", "kafka-secure"), ("es-secure-certs", "elasticsearch-secure")):
        assert {name for name in services() if volume in volume_mounts(name)} == {"secure-setup", node}


def test_the_secure_processes_cover_every_principal() -> None:
    """Compose's env volumes are the processes of clients.py, which carry every principal of principals.py."""
    from services.stack.secure.clients import PROCESS_PRINCIPALS
    from services.stack.secure.principals import principals

    volumes = {
        name.removeprefix("secure-env-") for name in compose()["volumes"] if name.startswith("secure-env-")
    }
    assert volumes == set(PROCESS_PRINCIPALS)
    carried = {principal for process in volumes for principal in PROCESS_PRINCIPALS[process]}
    assert carried == {p.name for p in principals()}
    assert set(SECURE_PROCESSES.values()) == volumes - {"publisher"}, "a publisher mounts its own volume"


def test_secure_start_order_and_owners() -> None:
    for broker in SECURE_BROKERS.values():
        assert depends_on(broker)["secure-setup"]["condition"] == "service_completed_successfully"
    for broker in SECURE_BROKERS.values():
        assert depends_on("secure-provision")[broker]["condition"] == "service_healthy"
    assert depends_on("secure-init")["secure-provision"]["condition"] == "service_completed_successfully"
    for name in SECURE_PROCESSES:
        if name != "secure-init":
            assert depends_on(name)["secure-init"]["condition"] == "service_completed_successfully"
            assert services()[name].get("restart") == "unless-stopped"
    for one_shot in SECURE_ONE_SHOTS:
        assert services()[one_shot].get("restart") == "no"
    assert services()["secure-setup"]["user"] == services()["secure-provision"]["user"] == "0:0"
    uid = dockerfile_uid()
    assert option(command("secure-provision"), "--service-owner") == f"{uid}:{uid}"
    assert "user" not in services()["ingest-secure"], "the services run as the image's own user"
    # The official images' users: apache/kafka's appuser and Elasticsearch's (uid 1000, group 0).
    assert option(command("secure-setup"), "--kafka-owner") == "1000:1000"
    assert option(command("secure-setup"), "--es-owner") == "1000:0"
    assert image_tag(services()["kafka-secure"]["image"]) == image_tag(services()["kafka"]["image"])


@pytest.mark.parametrize("service", [*PIPELINE_SERVICES, SEARCH_SERVICE])
def test_secure_services_probe_and_configure_like_their_plain_twins(service: str) -> None:
    """Same healthcheck, same non-secret settings; only the connections (and credentials) differ."""
    secure = f"{service}-secure"
    assert services()[secure]["healthcheck"] == services()[service]["healthcheck"]
    connections = ("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "NEWSWIRE_ES_URL")
    plain = {k: v for k, v in environment(service).items() if k not in connections}
    assert {k: v for k, v in environment(secure).items() if k not in connections} == plain


def test_secure_setup_writes_each_nodes_files_and_the_scram_users(tmp_path: Path) -> None:
    """The setup's real first step: node certificates with the container names, 0600 files, and one
    ``--add-scram`` per Kafka principal of principals.py plus the admin."""
    from cryptography import x509

    from services.stack.secure import __main__ as setup
    from services.stack.secure.credentials import load_credentials
    from services.stack.secure.principals import kafka_users

    argv = command("secure-setup")
    setup.compose_setup(
        tmp_path,
        kafka_host=option(argv, "--kafka-host"),
        es_host=option(argv, "--es-host"),
        kafka_ca_path=option(argv, "--kafka-ca-path"),
        kafka_owner=None,
        es_owner=None,
    )
    creds = load_credentials(tmp_path / setup.STATE)
    lines = (tmp_path / setup.KAFKA / setup.SCRAM_ARGS).read_text().splitlines()
    users = sorted(line.split("name=")[1].split(",")[0] for line in lines[1::2])
    assert lines[0::2] == ["--add-scram"] * len(users)
    assert users == sorted([creds.kafka_admin.username, *(p.username for p in kafka_users())])
    for node, folder in (("kafka-secure", setup.KAFKA), ("elasticsearch-secure", setup.ELASTICSEARCH)):
        for path in (tmp_path / folder).iterdir():
            assert path.stat().st_mode & 0o777 == 0o600, path
        cert_file = setup.KAFKA_BUNDLE if folder == setup.KAFKA else setup.ES_CERT
        cert = x509.load_pem_x509_certificates((tmp_path / folder / cert_file).read_bytes())[0]
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert node in names.get_values_for_type(x509.DNSName), node
    admin_config = (tmp_path / setup.KAFKA / setup.KAFKA_ADMIN_CONFIG).read_text()
    assert "security.protocol=SASL_SSL" in admin_config and option(argv, "--kafka-ca-path") in admin_config
    assert (
        tmp_path / setup.ELASTICSEARCH / setup.ES_BOOTSTRAP_PASSWORD
    ).read_text() == creds.es_admin.password


def test_secure_exec_starts_the_command_with_the_env_files_variables(tmp_path: Path) -> None:
    from services.stack.secure import __main__ as setup

    values = {"NEWSWIRE_ES_API_KEY": "a2V5OnNlY3JldA==+/", "NEWSWIRE_KAFKA_SASL_PASSWORD": "p w'\"$x"}
    env_file = tmp_path / setup.ENV_FILE
    env_file.write_text(setup.env_file_text(values))
    show = f"import json, os; print(json.dumps({{k: os.environ[k] for k in {sorted(values)!r}}}))"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.stack.secure",
            "exec",
            str(env_file),
            "--",
            sys.executable,
            "-c",
            show,
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=True,
    )
    import json

    assert json.loads(result.stdout) == values


# -- the real thing, where available --------------------------------------------------------------


def compose_cli_missing() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "the docker compose plugin is not installed"
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    # `docker compose config` validates against the compose specification; it needs the compose
    # CLI but no running engine.
    missing = compose_cli_missing()
    if missing:
        pytest.skip(f"cannot run `docker compose config`: {missing}")
    for profile in ([], ["--profile", "kibana"], ["--profile", "secure"]):
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE_FILE), *profile, "config", "--quiet"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
