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
    for profile in ([], ["--profile", "kibana"]):
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE_FILE), *profile, "config", "--quiet"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
