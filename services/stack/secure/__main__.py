"""Secure mode for containers (docker-compose.yml, profile ``secure``): the material, the users, and
each service's own environment, from the same principals and functions as the native stack.

Three commands, run in this order by compose (``python -m services.stack.secure <command> ...``):

- ``compose-setup ROOT``: before the brokers start. The CA, the Kafka and Elasticsearch node
  certificates (SAN: the container's host name and localhost) and every principal's password in
  ``ROOT/state`` (the setup's own volume); Kafka's PEM keystore, the CA, its ``--add-scram`` format
  arguments and the admin's client file in ``ROOT/kafka``; Elasticsearch's certificate, key, CA and
  the ``elastic`` bootstrap password in ``ROOT/elasticsearch``. Each directory is a volume that only
  its node mounts; files are 0600 and owned by that node's user.
- ``compose-provision ROOT``: once both nodes are healthy. As the admin: the SCRAM users and ACLs
  (:func:`.kafka_node.apply_kafka_security`); as ``elastic``: the roles and users of
  :mod:`.principals` in the native realm, then an API key per principal
  (:func:`.es_node.ensure_api_keys`); finally ``ROOT/env/<process>/newswire.env`` and ``ca.crt``
  for every process (:data:`.clients.PROCESS_PRINCIPALS`): one volume each, mounted only by it.
- ``exec ENV_FILE -- COMMAND...``: runs COMMAND with the variables of ENV_FILE added (how a service
  container starts as its principal without its credentials ever being in the compose file).

Everything is idempotent: a restarted setup keeps the CA, the passwords and usable API keys.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from . import certs, credentials, es_node, kafka_node
from .clients import PROCESS_PRINCIPALS, process_env
from .principals import ADMIN, BROKER_CN, es_principals

#: Where each part lives under the setup's root (each one a volume in docker-compose.yml).
STATE, KAFKA, ELASTICSEARCH, ENV = "state", "kafka", "elasticsearch", "env"
CA_FILE = "ca.crt"
KAFKA_BUNDLE, SCRAM_ARGS, KAFKA_ADMIN_CONFIG = "kafka.pem", "scram-args", "admin.properties"
ES_CERT, ES_KEY, ES_BOOTSTRAP_PASSWORD = "node.crt", "node.key", "elastic-password"
ENV_FILE = "newswire.env"
#: Elasticsearch's built-in superuser, whose password the official image sets from ELASTIC_PASSWORD_FILE.
ES_BOOTSTRAP_USER = "elastic"

log = logging.getLogger(__name__)


def _owner(text: str) -> tuple[int, int]:
    uid, _, gid = text.partition(":")
    return int(uid), int(gid or uid)


def _install(target: Path, data: bytes, owner: tuple[int, int] | None) -> None:
    """``target`` with ``data``, 0600, owned by ``owner`` (when we run as root, as the setup does)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    certs.write_private(target, data)
    if owner is not None and os.geteuid() == 0:
        os.chown(target.parent, *owner)
        os.chown(target, *owner)


def kafka_admin_config(creds: credentials.Credentials, ca_file: str) -> str:
    """A Kafka tool's ``--command-config`` file for the admin (the Kafka container's healthcheck)."""
    admin = creds.kafka_admin
    return (
        "security.protocol=SASL_SSL\n"
        f"sasl.mechanism={kafka_node.MECHANISM}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{admin.username}" password="{admin.password}";\n'
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={ca_file}\n"
    )


def compose_setup(
    root: Path,
    *,
    kafka_host: str,
    es_host: str,
    kafka_ca_path: str,
    kafka_owner: tuple[int, int] | None,
    es_owner: tuple[int, int] | None,
) -> None:
    state = root / STATE
    ca, _ = certs.ensure_ca(state)
    kafka_cert, _ = certs.ensure_node_cert(
        state, kafka_host, ca, dns_names=(kafka_host, "localhost"), common_name=BROKER_CN
    )
    es_cert, _ = certs.ensure_node_cert(state, es_host, ca, dns_names=(es_host, "localhost"))
    creds, _ = credentials.ensure_credentials(state)
    ca_pem = ca.cert.read_bytes()

    kafka = root / KAFKA
    _install(kafka / KAFKA_BUNDLE, kafka_cert.bundle.read_bytes(), kafka_owner)
    _install(kafka / CA_FILE, ca_pem, kafka_owner)
    # One argument per line: the container reads them with bash's mapfile, no word splitting.
    _install(kafka / SCRAM_ARGS, "\n".join(kafka_node.format_scram_args(creds)).encode() + b"\n", kafka_owner)
    _install(kafka / KAFKA_ADMIN_CONFIG, kafka_admin_config(creds, kafka_ca_path).encode(), kafka_owner)

    es = root / ELASTICSEARCH
    _install(es / ES_CERT, es_cert.cert.read_bytes(), es_owner)
    _install(es / ES_KEY, es_cert.key.read_bytes(), es_owner)
    _install(es / CA_FILE, ca_pem, es_owner)
    _install(es / ES_BOOTSTRAP_PASSWORD, creds.es_admin.password.encode(), es_owner)
    log.info("secure material ready", extra={"root": str(root), "credentials": str(creds.path)})


def ensure_es_native_users(
    url: str, ca_file: str, creds: credentials.Credentials, bootstrap_user: str = ES_BOOTSTRAP_USER
) -> None:
    """As ``bootstrap_user`` (whose password is the admin's): every principal's role, its user, and
    ``newswire-admin`` (superuser), in the native realm (the official image has a security index;
    :func:`.es_node.file_realm_files` is the native stack's way without one). PUT is an upsert: a
    rerun sets the saved passwords again."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url.split(","), basic_auth=(bootstrap_user, creds.es_admin.password), ca_certs=ca_file)
    try:
        admin = creds.es_admin
        es.security.put_user(username=admin.username, password=admin.password, roles=["superuser"])
        for principal in es_principals():
            role = principal.es_role
            assert role is not None
            es.security.put_role(name=role.name, **role.descriptor())
            login = creds.elasticsearch[principal.name]
            es.security.put_user(username=login.username, password=login.password, roles=[role.name])
    finally:
        es.close()


def env_file_text(env: dict[str, str]) -> str:
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in sorted(env.items()))


def compose_provision(
    root: Path,
    *,
    bootstrap: str,
    es_url: str,
    env_ca_path: str,
    service_owner: tuple[int, int] | None,
    processes: Sequence[str] = tuple(PROCESS_PRINCIPALS),
    es_bootstrap_user: str = ES_BOOTSTRAP_USER,
) -> None:
    state = root / STATE
    creds = credentials.load_credentials(state)
    if ADMIN not in creds.kafka:
        raise SystemExit(f"no credentials under {state}: run compose-setup first")
    ca_file = str(state / CA_FILE)
    kafka_node.apply_kafka_security(creds, bootstrap, ca_file)
    ensure_es_native_users(es_url, ca_file, creds, bootstrap_user=es_bootstrap_user)
    es_node.ensure_api_keys(es_url, ca_file, creds)
    ca_pem = (state / CA_FILE).read_bytes()
    for process in processes:
        env = process_env(creds, process, bootstrap=bootstrap, es_url=es_url, ca_file=env_ca_path)
        _install(root / ENV / process / ENV_FILE, env_file_text(env).encode(), service_owner)
        _install(root / ENV / process / CA_FILE, ca_pem, service_owner)
    log.info("users, ACLs, roles, API keys and env files in place", extra={"processes": list(processes)})


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            (parsed,) = shlex.split(value) or [""]
            env[name.strip()] = parsed
    return env


def exec_with_env(env_file: Path, command: Sequence[str]) -> None:
    if not command:
        raise SystemExit("exec: no command after --")
    os.execvpe(command[0], list(command), {**os.environ, **read_env_file(env_file)})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.stack.secure", description=(__doc__ or "").split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("compose-setup", help="CA, certificates, passwords, node files")
    setup.add_argument("root", type=Path)
    setup.add_argument("--kafka-host", required=True)
    setup.add_argument("--es-host", required=True)
    setup.add_argument("--kafka-ca-path", required=True, help="the CA's path inside the Kafka container")
    setup.add_argument("--kafka-owner", type=_owner, help="uid:gid of the Kafka container's user")
    setup.add_argument("--es-owner", type=_owner, help="uid:gid of the Elasticsearch container's user")
    provision = commands.add_parser("compose-provision", help="SCRAM users, ACLs, roles, API keys, env")
    provision.add_argument("root", type=Path)
    provision.add_argument("--bootstrap", required=True)
    provision.add_argument("--es-url", required=True)
    provision.add_argument("--env-ca-path", required=True, help="the CA's path inside a service container")
    provision.add_argument("--service-owner", type=_owner, help="uid:gid of the services' user")
    provision.add_argument(
        "--es-bootstrap-user", default=ES_BOOTSTRAP_USER, help="the superuser with the admin's password"
    )
    run = commands.add_parser("exec", help="run a command with an env file's variables added")
    run.add_argument("env_file", type=Path)
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "compose-setup":
        compose_setup(
            args.root,
            kafka_host=args.kafka_host,
            es_host=args.es_host,
            kafka_ca_path=args.kafka_ca_path,
            kafka_owner=args.kafka_owner,
            es_owner=args.es_owner,
        )
    elif args.command == "compose-provision":
        compose_provision(
            args.root,
            bootstrap=args.bootstrap,
            es_url=args.es_url,
            env_ca_path=args.env_ca_path,
            service_owner=args.service_owner,
            es_bootstrap_user=args.es_bootstrap_user,
        )
    else:
        command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        exec_with_env(args.env_file, command)


if __name__ == "__main__":
    main()
