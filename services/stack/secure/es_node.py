"""What a secure Elasticsearch node needs: TLS on HTTP and transport from the local CA, security on,
the admin in the file realm, and (once it runs) the roles, users and API keys of the principals.

Elasticsearch reads certificates only from inside its config directory, so each node gets a copy in
``<ES_PATH_CONF>/certs/`` (owned by the ES user, 0600); the originals stay in the secrets directory.
The admin (``newswire-admin``, role ``superuser``) and one user per principal, with its role, live
in the file realm (``users``, ``users_roles``, ``roles.yml``): they exist before the node has a
security index (the minimal distribution cannot create one) and need no bootstrap password in the
keystore. API keys (:func:`ensure_api_keys`) need the security index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .certs import CertificateAuthority, NodeCert
from .credentials import Credentials
from .principals import Principal, es_principals

log = logging.getLogger(__name__)

CERTS_DIR = "certs"
#: Cost of the file realm's PBKDF2 hash (Elasticsearch's own default for ``{PBKDF2}``).
PBKDF2_COST = 10_000


def secure_es_settings(node_cert_name: str = "node") -> dict[str, object]:
    """elasticsearch.yml entries for security with TLS on both layers (paths relative to the config dir).

    ``verification_mode: full`` on transport: nodes check each other's certificate and its name
    (the SAN holds 127.0.0.1 and localhost).
    """
    cert = f"{CERTS_DIR}/{node_cert_name}.crt"
    key = f"{CERTS_DIR}/{node_cert_name}.key"
    ca = f"{CERTS_DIR}/ca.crt"
    return {
        "xpack.security.enabled": True,
        "xpack.security.authc.api_key.enabled": True,
        "xpack.security.http.ssl.enabled": True,
        "xpack.security.http.ssl.key": key,
        "xpack.security.http.ssl.certificate": cert,
        "xpack.security.http.ssl.certificate_authorities": [ca],
        "xpack.security.transport.ssl.enabled": True,
        "xpack.security.transport.ssl.verification_mode": "full",
        "xpack.security.transport.ssl.key": key,
        "xpack.security.transport.ssl.certificate": cert,
        "xpack.security.transport.ssl.certificate_authorities": [ca],
    }


def file_realm_hash(password: str, salt: bytes | None = None, cost: int = PBKDF2_COST) -> str:
    """A ``users`` file hash Elasticsearch verifies: ``{PBKDF2}<cost>$<salt>$<key>`` (base64),
    PBKDF2-HMAC-SHA512 with a 32-byte salt and a 256-bit key, as its ``Hasher.PBKDF2``."""
    salt = salt if salt is not None else secrets.token_bytes(32)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, cost, dklen=32)
    return f"{{PBKDF2}}{cost}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def file_realm_files(creds: Credentials, among: Iterable[Principal] | None = None) -> dict[str, str]:
    """``users``, ``users_roles`` and ``roles.yml`` for the config dir: the admin (``superuser``) and
    one user per principal with its role.

    File roles and users need no security index: the minimal distribution cannot create one (its
    mappings need the ``pattern_capture`` filter of the analysis-common module, which it lacks), so
    this is how secure mode's users exist there. Elasticsearch re-reads these files within seconds
    of a change (``resource.reload.interval.high``), which is how a password is rotated.
    """
    wanted = es_principals(list(among) if among is not None else None)
    admin = creds.es_admin
    users = [f"{admin.username}:{file_realm_hash(admin.password)}"]
    members: dict[str, list[str]] = {"superuser": [admin.username]}
    roles = []
    for principal in wanted:
        role = principal.es_role
        assert role is not None
        login = creds.elasticsearch[principal.name]
        users.append(f"{login.username}:{file_realm_hash(login.password)}")
        members.setdefault(role.name, []).append(login.username)
        # JSON is YAML: one role per line, no YAML library needed.
        roles.append(f"{json.dumps(role.name)}: {json.dumps(role.descriptor())}")
    return {
        "users": "\n".join(users) + "\n",
        "users_roles": "".join(f"{role}:{','.join(names)}\n" for role, names in members.items()),
        "roles.yml": "\n".join(roles) + "\n",
    }


def install_node_material(
    config_dir: Path,
    node_cert: NodeCert,
    ca: CertificateAuthority,
    creds: Credentials,
    owner: tuple[int, int] | None = None,
    among: Iterable[Principal] | None = None,
) -> None:
    """Copy the node's certificate, key and the CA into ``<config_dir>/certs/`` as ``node.crt``,
    ``node.key``, ``ca.crt``, and write the file realm (:func:`file_realm_files`), all 0600;
    ``owner`` (uid, gid): the ES user's, when we are root."""
    certs = config_dir / CERTS_DIR
    certs.mkdir(parents=True, exist_ok=True)
    os.chmod(certs, 0o700)
    written = [certs]
    for source, target in ((node_cert.cert, "node.crt"), (node_cert.key, "node.key"), (ca.cert, "ca.crt")):
        shutil.copyfile(source, certs / target)
        written.append(certs / target)
    for name, text in file_realm_files(creds, among).items():
        (config_dir / name).write_text(text)
        written.append(config_dir / name)
    for path in written[1:]:
        os.chmod(path, 0o600)
    if owner is not None:
        for path in written:
            os.chown(path, *owner)


def admin_client(url: str, ca_file: str, creds: Credentials, timeout: float = 30.0) -> Any:
    from elasticsearch import Elasticsearch

    admin = creds.es_admin
    return Elasticsearch(
        url.split(","), basic_auth=(admin.username, admin.password), ca_certs=ca_file, request_timeout=timeout
    )


def _api_key_usable(es: Any, key: dict[str, str]) -> bool:
    try:
        found = es.security.get_api_key(id=key["id"]).get("api_keys") or []
    except Exception:  # not found, or unreadable: make a new one
        return False
    return bool(found) and not found[0].get("invalidated") and not _expired(found[0])


def _expired(info: dict[str, Any]) -> bool:
    import time

    expiration = info.get("expiration")
    return expiration is not None and expiration / 1000 <= time.time()


def ensure_api_keys(
    url: str, ca_file: str, creds: Credentials, among: Iterable[Principal] | None = None
) -> int:
    """As the admin: an API key per principal, granted for its file-realm user and limited to its role
    (made when missing, revoked or expired; saved into ``creds``). Returns how many were made.

    API keys live in the security index, so this needs a node that can create it (not the minimal
    distribution without analysis-common: there it raises the node's error, and the users of
    :func:`file_realm_files` are the credentials).
    """
    wanted = es_principals(list(among) if among is not None else None)
    es = admin_client(url, ca_file, creds)
    made = 0
    try:
        for principal in wanted:
            role = principal.es_role
            assert role is not None
            key = creds.api_keys.get(principal.name)
            if key is not None and _api_key_usable(es, key):
                continue
            # Granted on the principal's behalf: the key belongs to its user (``... of user
            # [newswire-search]`` in a refusal) and is limited by that user's role as well.
            login = creds.elasticsearch[principal.name]
            answer = es.security.grant_api_key(
                grant_type="password",
                username=login.username,
                password=login.password,
                api_key={
                    "name": principal.username,
                    "role_descriptors": {role.name: role.descriptor()},
                    "metadata": {"newswire_principal": principal.name},
                },
            )
            creds.api_keys[principal.name] = {
                "id": answer["id"],
                "name": answer["name"],
                "encoded": answer["encoded"],
            }
            made += 1
    finally:
        if made:
            creds.save()
        es.close()
    log.info("elasticsearch api keys made", extra={"made": made})
    return made
