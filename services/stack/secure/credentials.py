"""Each principal's random password (and, once made, its Elasticsearch API key), kept in
``<secrets>/credentials.json`` (0600): made once, kept across restarts, never logged.

Shape::

    {"kafka": {"<principal>": {"username": ..., "password": ...}},      # SCRAM-SHA-512 users
     "elasticsearch": {"<principal>": {"username": ..., "password": ...}},
     "api_keys": {"<principal>": {"id": ..., "name": ..., "encoded": ...}}}

The admin principal (:data:`~.principals.ADMIN`) is in both ``kafka`` and ``elasticsearch``.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .certs import ensure_private_dir, write_private
from .principals import ADMIN, USERNAME_PREFIX, Principal, es_principals, kafka_users

CREDENTIALS_FILE = "credentials.json"
# Letters and digits only: the value goes into ``--add-scram 'SCRAM-SHA-512=[name=..,password=..]'``,
# a JAAS line and URLs unquoted. 32 of 62 symbols: about 190 bits.
_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 32


def new_password(length: int = PASSWORD_LENGTH) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class Login:
    username: str
    password: str = field(repr=False)


@dataclass
class Credentials:
    """What ``credentials.json`` holds; :func:`ensure_credentials` fills in what is missing."""

    path: Path
    kafka: dict[str, Login]
    elasticsearch: dict[str, Login]
    api_keys: dict[str, dict[str, str]]

    def save(self) -> None:
        data: dict[str, Any] = {
            "kafka": {name: vars(login) for name, login in sorted(self.kafka.items())},
            "elasticsearch": {name: vars(login) for name, login in sorted(self.elasticsearch.items())},
            "api_keys": dict(sorted(self.api_keys.items())),
        }
        write_private(self.path, (json.dumps(data, indent=2) + "\n").encode())

    @property
    def kafka_admin(self) -> Login:
        return self.kafka[ADMIN]

    @property
    def es_admin(self) -> Login:
        return self.elasticsearch[ADMIN]


def load_credentials(secrets_dir: Path) -> Credentials:
    path = secrets_dir / CREDENTIALS_FILE
    data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return Credentials(
        path=path,
        kafka={name: Login(**login) for name, login in (data.get("kafka") or {}).items()},
        elasticsearch={name: Login(**login) for name, login in (data.get("elasticsearch") or {}).items()},
        api_keys=dict(data.get("api_keys") or {}),
    )


def ensure_credentials(
    secrets_dir: Path, among: Iterable[Principal] | None = None
) -> tuple[Credentials, bool]:
    """The credentials file with a password for the admin and every principal that needs one.

    Existing passwords are kept; returns the credentials and whether anything was added.
    """
    ensure_private_dir(secrets_dir)
    creds = load_credentials(secrets_dir)
    wanted = list(among) if among is not None else None
    added = False
    admin_username = f"{USERNAME_PREFIX}{ADMIN}"
    for store, names in (
        (creds.kafka, [(ADMIN, admin_username)] + [(p.name, p.username) for p in kafka_users(wanted)]),
        (
            creds.elasticsearch,
            [(ADMIN, admin_username)] + [(p.name, p.username) for p in es_principals(wanted)],
        ),
    ):
        for name, username in names:
            if name not in store or store[name].username != username:
                store[name] = Login(username, new_password())
                added = True
    if added or not creds.path.is_file():
        creds.save()
    return creds, added
