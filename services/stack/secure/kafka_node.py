"""What a secure KRaft node needs: its server.properties, the SCRAM users it is formatted with,
and the ACLs applied once it runs.

Listeners of node i (all on ``host``):

- ``CLIENT``      SASL_SSL, SCRAM-SHA-512: every service, the CLI, publishers
- ``BROKER``      SSL with client certificates: brokers to each other (principal ``User:newswire-broker``)
- ``CONTROLLER``  SSL with client certificates: brokers to the KRaft controllers (same principal)

Brokers use their certificate rather than SCRAM among themselves because SCRAM credentials live in
the metadata log, which a controller must serve before it can check them; KRaft does not support
SCRAM on the controller listener (KIP-900) for that reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .certs import CertificateAuthority, NodeCert
from .credentials import Credentials
from .principals import BROKER_CN, Principal, kafka_acls, kafka_users

log = logging.getLogger(__name__)

MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def secure_server_properties(
    *,
    host: str,
    client_port: int,
    broker_port: int,
    controller_port: int,
    node_cert: NodeCert,
    ca: CertificateAuthority,
    admin_username: str,
) -> dict[str, str]:
    """The server.properties entries that make a (broker, controller) node secure.

    They replace the plain node's ``listeners``, ``advertised.listeners``,
    ``listener.security.protocol.map``, ``inter.broker.listener.name`` and
    ``controller.listener.names``; ``controller.quorum.voters`` must then name the
    ``controller_port`` of every controller.
    """
    return {
        "listeners": (
            f"CLIENT://{host}:{client_port},BROKER://{host}:{broker_port},CONTROLLER://{host}:{controller_port}"
        ),
        "advertised.listeners": f"CLIENT://{host}:{client_port},BROKER://{host}:{broker_port}",
        "listener.security.protocol.map": "CLIENT:SASL_SSL,BROKER:SSL,CONTROLLER:SSL",
        "inter.broker.listener.name": "BROKER",
        "controller.listener.names": "CONTROLLER",
        # SCRAM on the client listener only; the server side needs the login module, no credentials.
        "sasl.enabled.mechanisms": MECHANISM,
        "listener.name.client.sasl.enabled.mechanisms": MECHANISM,
        "listener.name.client.scram-sha-512.sasl.jaas.config": _SCRAM_LOGIN,
        # One TLS identity per node, read as PEM (KIP-651): key + certificate + CA in one file.
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(node_cert.bundle),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca.cert),
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "listener.name.broker.ssl.client.auth": "required",
        "listener.name.controller.ssl.client.auth": "required",
        # A certificate's principal is its CN (User:newswire-broker), not the whole DN.
        "ssl.principal.mapping.rules": "RULE:^CN=([^,]+),.*$/$1/,DEFAULT",
        "authorizer.class.name": AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{BROKER_CN};User:{admin_username}",
    }


def format_scram_args(creds: Credentials, among: Iterable[Principal] | None = None) -> list[str]:
    """``kafka-storage format`` arguments that create the admin's and every service's SCRAM user.

    They carry passwords: pass them to the process, never log them (the values are letters and
    digits only, so need no quoting inside the brackets).
    """
    args: list[str] = []
    names = [creds.kafka_admin.username] + [creds.kafka[p.name].username for p in kafka_users(among)]
    logins = {login.username: login for login in creds.kafka.values()}
    for username in names:
        args += ["--add-scram", f"{MECHANISM}=[name={username},password={logins[username].password}]"]
    return args


def admin_client_config(creds: Credentials, bootstrap: str, ca_file: str) -> dict[str, Any]:
    """kafka-python keyword arguments for the admin principal on the client listener."""
    return client_config(bootstrap, ca_file, creds.kafka_admin.username, creds.kafka_admin.password)


def client_config(bootstrap: str, ca_file: str, username: str, password: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap.split(","),
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
        "ssl_cafile": ca_file,
    }


def apply_kafka_security(
    creds: Credentials, bootstrap: str, ca_file: str, among: Iterable[Principal] | None = None
) -> dict[str, int]:
    """As the admin: make sure every principal's SCRAM user exists (one added after the storage was
    formatted gets it here) and create every ACL (creating an existing one is a no-op).

    Returns counts: ``{"users_added": n, "acls": m}``.
    """
    from kafka.admin import KafkaAdminClient, ScramMechanism, UserScramCredentialUpsertion

    wanted = list(among) if among is not None else None
    admin = KafkaAdminClient(
        **admin_client_config(creds, bootstrap, ca_file), client_id="newswire-secure-setup"
    )
    try:
        described = admin.describe_user_scram_credentials()
        existing = set(described) if isinstance(described, dict) else set()
        missing = [
            creds.kafka[p.name] for p in kafka_users(wanted) if creds.kafka[p.name].username not in existing
        ]
        if missing:
            errors = admin.alter_user_scram_credentials(
                [
                    UserScramCredentialUpsertion(login.username, ScramMechanism.SCRAM_SHA_512, login.password)
                    for login in missing
                ]
            )
            failed = {user: error for user, error in (errors or {}).items() if error}
            if failed:
                raise RuntimeError(f"adding SCRAM users failed: {failed}")
        acls = kafka_acls(wanted)
        result = admin.create_acls(acls)
        failed_acls = result.get("failed") or []
        if failed_acls:
            raise RuntimeError(f"creating ACLs failed: {failed_acls}")
        log.info("kafka security applied", extra={"users_added": len(missing), "acls": len(acls)})
        return {"users_added": len(missing), "acls": len(acls)}
    finally:
        admin.close()
