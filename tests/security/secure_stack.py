"""One secure KRaft broker and one secure Elasticsearch node, started by hand in a private state
directory from the material of ``services.stack.secure`` (not through ``services.stack``, which does
not know secure mode yet).

Ports are private (Kafka 27092 client, 27093 controller, 27094 inter-broker; ES 27200 HTTP,
27300 transport; ``NEWSWIRE_SECURE_PORT_BASE`` moves them all), so the shared plain stack on
9092/9200 is untouched. They are below Linux's ephemeral range (32768-60999): a port in it can be
held by any outgoing connection, and 47200 was, twice (``BindHttpException: Failed to bind to
127.0.0.1:47200 ... Address already in use``). The Kafka libraries and the
unpacked Elasticsearch home come from the plain stack's ``<state>/dist`` (``make up`` stages them).

By hand::

    python3 -m tests.security.secure_stack up /tmp/newswire-secure    # prints the env of each process
    python3 -m tests.security.secure_stack down /tmp/newswire-secure
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from services.stack.secure import certs, credentials, es_node, kafka_node
from services.stack.secure.clients import PROCESS_PRINCIPALS, process_env

REPO = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("NEWSWIRE_STACK_STATE_DIR", REPO / ".state")) / "dist"
KAFKA_LIBS = DIST / "kafka-3.9.1" / "libs"
ES_HOME = DIST / "elasticsearch-8.19.21"
JAVA_HOME = Path(os.environ.get("NEWSWIRE_SECURE_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"))
ES_USER = "newswire"
HOST = "127.0.0.1"
_BASE = int(os.environ.get("NEWSWIRE_SECURE_PORT_BASE", "27000"))
KAFKA_PORT, CONTROLLER_PORT, BROKER_PORT = _BASE + 92, _BASE + 93, _BASE + 94
ES_PORT, ES_TRANSPORT_PORT = _BASE + 200, _BASE + 300
BOOTSTRAP = f"{HOST}:{KAFKA_PORT}"
ES_URL = f"https://{HOST}:{ES_PORT}"


@dataclass(frozen=True)
class SecureStack:
    root: Path

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def ca_file(self) -> str:
        return str(self.secrets / "ca.crt")

    @property
    def kafka_dir(self) -> Path:
        return self.root / "kafka"

    @property
    def es_dir(self) -> Path:
        return self.root / "elasticsearch"

    @property
    def es_home(self) -> Path:
        """A private copy of the distribution with the security-analysis plugin (API keys), else the
        plain stack's home (file-realm users only)."""
        private = self.root / "es-home"
        return private if private.is_dir() else ES_HOME

    def credentials(self) -> credentials.Credentials:
        return credentials.load_credentials(self.secrets)

    def env(self, process: str) -> dict[str, str]:
        return process_env(
            self.credentials(), process, bootstrap=BOOTSTRAP, es_url=ES_URL, ca_file=self.ca_file
        )


def _log(message: str) -> None:
    print(f"[secure-stack] {message}", file=sys.stderr, flush=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


PLUGIN_DIR = Path(__file__).resolve().parent / "security-analysis-plugin"
PLUGIN_NAME = "newswire-security-analysis"


def with_api_keys() -> bool:
    """Build and install the security-analysis plugin so the node has a security index (API keys)."""
    return os.environ.get("NEWSWIRE_SECURE_API_KEYS", "1") == "1"


def prepare_es_home(stack: SecureStack) -> None:
    """``<root>/es-home``: the distribution plus ``newswire-security-analysis`` (built offline from
    the local Maven repository, which ``make up``'s plugin build fills). The shared home is left alone."""
    import zipfile

    home = stack.root / "es-home"
    if (home / "plugins" / PLUGIN_NAME).is_dir():
        return
    archive = PLUGIN_DIR / "target" / f"{PLUGIN_NAME}-1.0.0.zip"
    if not archive.is_file():
        subprocess.run(
            ["mvn", "-B", "-q", "-o", "-f", str(PLUGIN_DIR / "pom.xml"), "package"],
            check=True,
            timeout=600,
            env={**os.environ, "JAVA_HOME": str(JAVA_HOME)},
        )
    tmp = stack.root / "es-home.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(ES_HOME, tmp, symlinks=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp / "plugins" / PLUGIN_NAME)
    tmp.rename(home)
    _log(f"private Elasticsearch home with {PLUGIN_NAME}: {home}")


def prepare(root: Path) -> SecureStack:
    """Secrets (CA, node certificates, credentials) and both nodes' configuration."""
    stack = SecureStack(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the ES user must reach its own directory below it
    ca, _ = certs.ensure_ca(stack.secrets)
    kafka_cert, _ = certs.ensure_node_cert(stack.secrets, "kafka-1", ca, common_name="newswire-broker")
    es_cert, _ = certs.ensure_node_cert(stack.secrets, "elasticsearch-1", ca)
    creds, _ = credentials.ensure_credentials(stack.secrets)

    # Kafka
    stack.kafka_dir.mkdir(exist_ok=True)
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{CONTROLLER_PORT}",
        "log.dirs": str(stack.kafka_dir / "data"),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        **kafka_node.secure_server_properties(
            host=HOST,
            client_port=KAFKA_PORT,
            broker_port=BROKER_PORT,
            controller_port=CONTROLLER_PORT,
            node_cert=kafka_cert,
            ca=ca,
            admin_username=creds.kafka_admin.username,
        ),
    }
    config = stack.kafka_dir / "server.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    (stack.kafka_dir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, file\n"
        "log4j.appender.file=org.apache.log4j.FileAppender\n"
        f"log4j.appender.file.File={stack.kafka_dir / 'kafka.log'}\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka.authorizer.logger=INFO\n"
    )

    # Elasticsearch: a private copy of the distribution's config dir, with our files in it.
    conf = stack.es_dir / "config"
    if not conf.is_dir():
        shutil.copytree(ES_HOME / "config", conf)
    for sub in ("data", "logs"):
        (stack.es_dir / sub).mkdir(parents=True, exist_ok=True)
    settings: dict[str, object] = {
        "cluster.name": "newswire-secure",
        "node.name": "newswire-secure-1",
        "discovery.type": "single-node",
        "network.host": HOST,
        "http.port": ES_PORT,
        "transport.port": ES_TRANSPORT_PORT,
        "path.data": str(stack.es_dir / "data"),
        "path.logs": str(stack.es_dir / "logs"),
        "cluster.routing.allocation.disk.threshold_enabled": False,
        **es_node.secure_es_settings(),
    }
    (conf / "elasticsearch.yml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()))
    logs = stack.es_dir / "logs"
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    (conf / "jvm.options.d" / "newswire.options").write_text(
        "-Xlog:disable\n-Xlog:all=warning:stderr:utctime,level,tags\n"
        f"-XX:ErrorFile={logs}/hs_err_pid%p.log\n-XX:HeapDumpPath={stack.es_dir / 'data'}\n"
    )
    owner = None
    if os.geteuid() == 0:
        user = pwd.getpwnam(ES_USER)
        owner = (user.pw_uid, user.pw_gid)
    es_node.install_node_material(conf, es_cert, ca, creds, owner=owner)
    if with_api_keys():
        prepare_es_home(stack)
    if owner is not None:
        for tree in (stack.es_dir, stack.root / "es-home"):
            for dirpath, dirnames, filenames in os.walk(tree):
                for name in [".", *dirnames, *filenames]:
                    os.chown(Path(dirpath) / name, *owner, follow_symlinks=False)
    return stack


def _java(*args: str, log4j: Path, heap: str | None = None) -> list[str]:
    cmd = [str(JAVA_HOME / "bin" / "java")]
    if heap:
        cmd += [f"-Xms{heap}", f"-Xmx{heap}"]
    return [*cmd, f"-Dlog4j.configuration={log4j.as_uri()}", "-cp", f"{KAFKA_LIBS}/*", *args]


def start_kafka(stack: SecureStack) -> int:
    pidfile = stack.kafka_dir / "kafka.pid"
    pid = _read_pid(pidfile)
    if pid is not None:
        return pid
    log4j = stack.kafka_dir / "log4j.properties"
    config = stack.kafka_dir / "server.properties"
    if not (stack.kafka_dir / "data" / "meta.properties").is_file():
        cluster_id = "bmV3c3dpcmUtc2VjdXJlMQ"  # any 22-character base64 id; one broker, one run
        subprocess.run(
            _java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(config),
                *kafka_node.format_scram_args(stack.credentials()),
                log4j=log4j,
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        _log("formatted Kafka storage with the SCRAM users")
    out = (stack.kafka_dir / "kafka.out").open("ab")
    proc = subprocess.Popen(
        _java("kafka.Kafka", str(config), log4j=log4j, heap="384m"),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    pidfile.write_text(f"{proc.pid}\n")
    _log(f"started Kafka (pid {proc.pid})")
    return proc.pid


def start_elasticsearch(stack: SecureStack) -> int:
    pidfile = stack.es_dir / "elasticsearch.pid"
    pid = _read_pid(pidfile)
    if pid is not None:
        return pid
    env = [
        f"ES_JAVA_HOME={JAVA_HOME}",
        "ES_JAVA_OPTS=-Xms512m -Xmx512m",
        f"ES_PATH_CONF={stack.es_dir / 'config'}",
    ]
    cmd = [str(stack.es_home / "bin" / "elasticsearch"), "-d", "-p", str(pidfile)]
    full = ["runuser", "-u", ES_USER, "--", "env", *env, *cmd] if os.geteuid() == 0 else ["env", *env, *cmd]
    clean = {
        k: v for k, v in os.environ.items() if k not in ("ES_JAVA_OPTS", "ES_PATH_CONF", "JAVA_TOOL_OPTIONS")
    }
    with (stack.es_dir / "elasticsearch.out").open("ab") as out:
        subprocess.run(
            full, env=clean, cwd=stack.es_home, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300
        )
    pid = _read_pid(pidfile)
    if pid is None:
        raise RuntimeError(f"Elasticsearch left no live pid in {pidfile}")
    _log(f"started Elasticsearch (pid {pid})")
    return pid


def wait_kafka(stack: SecureStack, timeout: float = 120) -> None:
    from kafka.admin import KafkaAdminClient

    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(
                **kafka_node.admin_client_config(stack.credentials(), BOOTSTRAP, stack.ca_file),
                request_timeout_ms=10_000,
            )
            admin.describe_cluster()
            admin.close()
            return
        except Exception as exc:  # not up yet
            error = exc
            time.sleep(2)
    raise RuntimeError(f"secure Kafka not up within {timeout:.0f}s: {error!r}")


def wait_elasticsearch(stack: SecureStack, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            es = es_node.admin_client(ES_URL, stack.ca_file, stack.credentials(), timeout=10)
            health = es.cluster.health(wait_for_status="yellow", timeout="5s")
            es.close()
            if health["status"] in ("yellow", "green"):
                return
        except Exception as exc:
            error = exc
            time.sleep(2)
    raise RuntimeError(f"secure Elasticsearch not up within {timeout:.0f}s: {error!r}")


def create_topics(stack: SecureStack) -> None:
    """The pipeline's topics with their configs, as the operator, through the services' own
    ``ensure_topics`` (a service may not create topics in secure mode)."""
    from services.runtime.kafka import ensure_topics, pipeline_topics
    from services.runtime.settings import KafkaSettings, TopicSettings

    env = stack.env("operator")
    kafka = KafkaSettings(
        bootstrap_servers=env["NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=env["NEWSWIRE_KAFKA_SASL_USERNAME"],
        sasl_password=env["NEWSWIRE_KAFKA_SASL_PASSWORD"],
        ssl_cafile=env["NEWSWIRE_KAFKA_SSL_CAFILE"],
    )
    ensure_topics(kafka, pipeline_topics(TopicSettings(partitions=1)), 1)


def up(root: Path) -> SecureStack:
    stack = prepare(root)
    start_kafka(stack)
    start_elasticsearch(stack)
    wait_kafka(stack)
    creds = stack.credentials()
    _log(f"kafka security applied: {kafka_node.apply_kafka_security(creds, BOOTSTRAP, stack.ca_file)}")
    create_topics(stack)
    wait_elasticsearch(stack)
    try:
        _log(f"elasticsearch API keys made: {es_node.ensure_api_keys(ES_URL, stack.ca_file, creds)}")
    except Exception as exc:  # the minimal distribution has no security index: users only
        _log(f"no Elasticsearch API keys ({exc}); the file-realm users are the credentials")
    return stack


def _stop(pidfile: Path, what: str, timeout: float = 60) -> None:
    pid = _read_pid(pidfile)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    _log(f"stopped {what} (pid {pid})")


def down(root: Path) -> None:
    stack = SecureStack(root)
    _stop(stack.kafka_dir / "kafka.pid", "Kafka")
    _stop(stack.es_dir / "elasticsearch.pid", "Elasticsearch")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "down":
        down(root)
        return 0
    stack = up(root)
    print(f"credentials: {stack.secrets / credentials.CREDENTIALS_FILE}")
    for process in PROCESS_PRINCIPALS:
        names = " ".join(sorted(stack.env(process)))
        print(f"{process}: {names}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
