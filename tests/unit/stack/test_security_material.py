"""Secure mode's material (services/stack/secure): certificates that really complete a TLS handshake,
kept across runs; the principals' permissions as the issue states them; credentials, the rendered
Kafka and Elasticsearch settings, and the env each service gets, read back by the real settings."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import socket
import ssl
import stat
import string
import threading
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from schemas.search_index import ALIAS
from schemas.topics import TOPICS
from services.stack.secure import certs, credentials, es_node, kafka_node, principals
from services.stack.secure.clients import PROCESS_PRINCIPALS, process_env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def secrets(tmp_path: Path) -> Path:
    return tmp_path / "secrets"


# -- certificates ----------------------------------------------------------------------------------


def test_ca_and_node_certificate_are_private_and_name_the_loopback(secrets: Path) -> None:
    ca, made_ca = certs.ensure_ca(secrets)
    node, made_node = certs.ensure_node_cert(secrets, "kafka-1", ca, common_name="newswire-broker")
    assert made_ca and made_node
    assert _mode(secrets) == 0o700
    for path in (ca.key, ca.cert, node.key, node.cert, node.bundle):
        assert _mode(path) == 0o600, path
    cert = x509.load_pem_x509_certificate(node.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.cert.read_bytes()))
    assert cert.subject.rfc4514_string().startswith("CN=newswire-broker,")
    # Kafka's PEM keystore: the key, then the certificate, then the CA.
    bundle = node.bundle.read_text()
    assert bundle.index("PRIVATE KEY") < bundle.index("CERTIFICATE")
    assert bundle.count("BEGIN CERTIFICATE") == 2


def test_material_is_kept_across_runs_and_renewed_when_expiring(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, _ = certs.ensure_ca(secrets)
    node, _ = certs.ensure_node_cert(secrets, "es-1", ca)
    first = node.cert.read_bytes()
    assert certs.ensure_ca(secrets)[1] is False
    assert certs.ensure_node_cert(secrets, "es-1", ca)[1] is False
    assert node.cert.read_bytes() == first
    # Within RENEW_BEFORE of its end (here: a renewal window longer than its life) it is made again.
    monkeypatch.setattr(certs, "RENEW_BEFORE", dt.timedelta(days=400))
    assert certs.ensure_node_cert(secrets, "es-1", ca)[1] is True
    assert node.cert.read_bytes() != first


def test_a_new_ca_reissues_the_node_certificates(secrets: Path) -> None:
    ca, _ = certs.ensure_ca(secrets)
    certs.ensure_node_cert(secrets, "es-1", ca)
    ca.cert.unlink()
    ca, made = certs.ensure_ca(secrets)
    assert made
    assert certs.ensure_node_cert(secrets, "es-1", ca)[1] is True


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, host: str) -> str:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version() or ""
            tls.sendall(b"x")
    finally:
        thread.join(timeout=10)
        listener.close()
    return version


def test_a_client_trusting_the_ca_completes_a_handshake_and_one_without_it_fails(secrets: Path) -> None:
    ca, _ = certs.ensure_ca(secrets)
    node, _ = certs.ensure_node_cert(secrets, "es-1", ca)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(node.cert, node.key)
    trusting = ssl.create_default_context(cafile=str(ca.cert))
    for host in ("127.0.0.1", "localhost"):
        assert _handshake(server, trusting, host).startswith("TLS")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(server, ssl.create_default_context(cafile=None), "127.0.0.1")


# -- principals and permissions ---------------------------------------------------------------------


def _grants(name: str) -> set[tuple[str, str, str]]:
    return {(g.operation, g.resource, g.name) for g in principals.by_name(name).kafka}


def test_each_service_gets_exactly_its_topics() -> None:
    assert {
        (op, name) for op, res, name in _grants("ingest") if res == "TOPIC" and op in ("READ", "WRITE")
    } == {
        ("READ", TOPICS.raw),
        ("WRITE", TOPICS.ingested),
        ("WRITE", TOPICS.dlq),
    }
    assert {
        (op, name) for op, res, name in _grants("index") if res == "TOPIC" and op in ("READ", "WRITE")
    } == {
        ("READ", TOPICS.enriched),
        ("WRITE", TOPICS.dlq),
    }
    assert {
        (op, name) for op, res, name in _grants("alert") if res == "TOPIC" and op in ("READ", "WRITE")
    } == {
        ("READ", TOPICS.enriched),
        ("WRITE", TOPICS.alerts),
        ("WRITE", TOPICS.dlq),
    }
    # A publisher may only write submissions: one grant, nothing to read, no group.
    assert _grants("publisher") == {("WRITE", "TOPIC", TOPICS.raw)}


def test_groups_and_the_faust_prefix_come_from_the_services_settings() -> None:
    from services.enrich.settings import Settings as EnrichSettings
    from services.index.settings import Settings as IndexSettings
    from services.ingest.settings import Settings as IngestSettings

    assert ("READ", "GROUP", IngestSettings.model_fields["group_id"].default) in _grants("ingest")
    assert ("READ", "GROUP", IndexSettings.model_fields["group_id"].default) in _grants("index")
    app_id = EnrichSettings.model_fields["app_id"].default
    enrich = principals.by_name("enrich").kafka
    assert principals.KafkaGrant("ALL", "TOPIC", app_id, prefixed=True) in enrich
    assert ("READ", "TOPIC", TOPICS.ingested) in _grants("enrich")
    assert ("WRITE", "TOPIC", TOPICS.enriched) in _grants("enrich")


def test_only_the_operator_administers_and_nobody_may_change_acls() -> None:
    for principal in principals.principals():
        for grant in principal.kafka:
            assert not (grant.resource == "CLUSTER" and grant.operation in ("ALTER", "ALL")), principal.name
            if principal.name != "operator":
                assert grant.resource != "CLUSTER", principal.name
                assert grant.name != "*", principal.name


def test_kafka_acls_render_to_kafka_python_bindings() -> None:
    from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType

    acls = principals.kafka_acls()
    assert len(acls) == sum(len(p.kafka) for p in principals.principals())
    assert all(acl.permission_type is ACLPermissionType.ALLOW and acl.host == "*" for acl in acls)
    enrich_prefix = [a for a in acls if a.resource_pattern.pattern_type is ACLResourcePatternType.PREFIXED]
    assert {a.principal for a in enrich_prefix} == {"User:newswire-enrich", "User:newswire-operator"}
    publisher = [a for a in acls if a.principal == "User:newswire-publisher"]
    assert [(a.operation, a.resource_pattern.resource_name) for a in publisher] == [
        (ACLOperation.WRITE, TOPICS.raw)
    ]


def test_no_elasticsearch_role_but_the_operators_may_delete_an_index() -> None:
    deleting = {"all", "manage", "delete_index", "indices:admin/delete"}
    for principal in principals.es_principals():
        role = principal.es_role
        assert role is not None
        for grant in role.indices:
            if principal.name != "operator":
                assert not deleting & set(grant.privileges), (principal.name, grant)
    search = principals.by_name("search").es_role
    assert search is not None and [g.names for g in search.indices] == [(ALIAS,)]
    index = principals.by_name("index").es_role
    assert index is not None and "manage_index_templates" in index.cluster


# -- credentials ------------------------------------------------------------------------------------


def test_credentials_are_random_private_and_kept(secrets: Path) -> None:
    creds, added = credentials.ensure_credentials(secrets)
    assert added and _mode(creds.path) == 0o600
    kafka_names = {p.name for p in principals.kafka_users()} | {principals.ADMIN}
    assert set(creds.kafka) == kafka_names
    assert set(creds.elasticsearch) == {p.name for p in principals.es_principals()} | {principals.ADMIN}
    passwords = [login.password for login in [*creds.kafka.values(), *creds.elasticsearch.values()]]
    assert len(set(passwords)) == len(passwords)
    alphabet = set(string.ascii_letters + string.digits)
    assert all(len(pw) == credentials.PASSWORD_LENGTH and set(pw) <= alphabet for pw in passwords)
    again, added_again = credentials.ensure_credentials(secrets)
    assert not added_again and again.kafka == creds.kafka and again.elasticsearch == creds.elasticsearch


def test_a_new_principal_gets_a_password_without_touching_the_others(secrets: Path) -> None:
    some = [principals.by_name("ingest"), principals.by_name("search")]
    first, _ = credentials.ensure_credentials(secrets, some)
    assert set(first.kafka) == {"admin", "ingest"}
    later, added = credentials.ensure_credentials(secrets)
    assert added and later.kafka["ingest"] == first.kafka["ingest"]
    assert later.elasticsearch["search"] == first.elasticsearch["search"]


# -- rendered settings -----------------------------------------------------------------------------


def test_secure_server_properties_and_scram_format_arguments(secrets: Path) -> None:
    ca, _ = certs.ensure_ca(secrets)
    node, _ = certs.ensure_node_cert(secrets, "kafka-1", ca, common_name=principals.BROKER_CN)
    creds, _ = credentials.ensure_credentials(secrets)
    props = kafka_node.secure_server_properties(
        host="127.0.0.1",
        client_port=1,
        broker_port=2,
        controller_port=3,
        node_cert=node,
        ca=ca,
        admin_username=creds.kafka_admin.username,
    )
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,BROKER:SSL,CONTROLLER:SSL"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:newswire-broker;User:newswire-admin"
    assert props["ssl.keystore.location"] == str(node.bundle)
    args = kafka_node.format_scram_args(creds)
    values = args[1::2]
    assert args[::2] == ["--add-scram"] * len(values)
    assert len(values) == len(principals.kafka_users()) + 1
    ingest = creds.kafka["ingest"]
    assert f"SCRAM-SHA-512=[name={ingest.username},password={ingest.password}]" in values


def test_file_realm_hash_is_elasticsearchs_pbkdf2() -> None:
    salt = bytes(range(32))
    encoded = es_node.file_realm_hash("secret", salt=salt)
    prefix, cost, salt64, key64 = encoded.replace("}", "}$", 1).split("$")
    assert prefix == "{PBKDF2}" and int(cost) == es_node.PBKDF2_COST
    assert base64.b64decode(salt64) == salt
    assert base64.b64decode(key64) == hashlib.pbkdf2_hmac("sha512", b"secret", salt, int(cost), dklen=32)


def test_file_realm_files_hold_every_user_and_role(secrets: Path) -> None:
    creds, _ = credentials.ensure_credentials(secrets)
    files = es_node.file_realm_files(creds)
    users = dict(line.split(":", 1) for line in files["users"].splitlines())
    assert set(users) == {login.username for login in creds.elasticsearch.values()}
    roles = yaml.safe_load(files["roles.yml"])
    for principal in principals.es_principals():
        assert principal.es_role is not None
        assert roles[principal.es_role.name] == principal.es_role.descriptor()
    members = dict(line.split(":") for line in files["users_roles"].splitlines())
    assert members["superuser"] == "newswire-admin"
    assert members["newswire-search"] == "newswire-search"


def test_secure_es_settings_turn_on_tls_on_both_layers() -> None:
    settings = es_node.secure_es_settings()
    assert settings["xpack.security.enabled"] is True
    for layer in ("http", "transport"):
        assert settings[f"xpack.security.{layer}.ssl.enabled"] is True
        assert settings[f"xpack.security.{layer}.ssl.certificate_authorities"] == ["certs/ca.crt"]


# -- client env, read back through the services' own settings ------------------------------------------


def test_process_env_feeds_the_services_settings(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.runtime.settings import KafkaSettings
    from services.search.settings import Settings as SearchSettings

    creds, _ = credentials.ensure_credentials(secrets)
    creds.api_keys["search"] = {"id": "i", "name": "newswire-search", "encoded": "c2VhcmNoLWtleQ=="}
    common = {"bootstrap": "127.0.0.1:1", "es_url": "https://127.0.0.1:2", "ca_file": "/ca.crt"}
    for name in list(os.environ):
        if name.startswith("NEWSWIRE_"):
            monkeypatch.delenv(name)

    for name, value in process_env(creds, "ingest", **common).items():
        monkeypatch.setenv(name, value)
    config = KafkaSettings().client_config()
    assert config["security_protocol"] == "SASL_SSL" and config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "newswire-ingest"
    assert config["sasl_plain_password"] == creds.kafka["ingest"].password
    assert config["ssl_cafile"] == "/ca.crt"

    search_env = process_env(creds, "search", **common)
    assert "NEWSWIRE_KAFKA_SASL_USERNAME" not in search_env and "NEWSWIRE_ES_API_KEY" not in search_env
    for name, value in search_env.items():
        monkeypatch.setenv(name, value)
    kwargs = SearchSettings().elasticsearch_settings().client_kwargs()
    assert kwargs["api_key"] == "c2VhcmNoLWtleQ==" and kwargs["ca_certs"] == "/ca.crt"
    # No key yet for watches: its file-realm user, under its own prefix.
    assert search_env["NEWSWIRE_WATCHES_ES_USERNAME"] == "newswire-watches"
    assert set(PROCESS_PRINCIPALS["search"]) == {"search", "watches"}
