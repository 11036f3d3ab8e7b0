"""One clear line for a refused connection: wrong credentials, an untrusted CA, or a client speaking
plaintext to a TLS listener.

kafka-python reports all three as ``KafkaTimeoutError: Unable to bootstrap``; the cause is only in
its own log records (``SaslAuthenticationFailedError``, ``CERTIFICATE_VERIFY_FAILED``, ``socket
disconnected``). :func:`capture_kafka_errors` collects those records while a start-up check runs,
:func:`explain_kafka_refusal` (pure) turns them into the line, and a short TLS handshake
(:func:`speaks_tls`) tells a TLS listener behind a plaintext client's "socket disconnected".
None of these is fixed by waiting: the caller gives up at once, before consuming anything.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from typing import Any

#: What kafka-python logs when SCRAM/PLAIN authentication is refused.
_SASL_FAILED = ("SaslAuthenticationFailedError", "Authentication failed during authentication")
_CERT_FAILED = "CERTIFICATE_VERIFY_FAILED"
_VERIFY_DETAIL = re.compile(r"certificate verify failed:?\s*([^(]*)")
_NOT_TLS = ("WRONG_VERSION_NUMBER", "record layer failure", "UNEXPECTED_EOF", "wrong version number")


class AccessRefused(PermissionError):
    """The broker or the cluster refused this client for a reason waiting does not fix."""


def explain_kafka_refusal(
    *,
    protocol: str,
    mechanism: str | None,
    username: str | None,
    cafile: str | None,
    address: str,
    messages: list[str],
    speaks_tls: bool | None = None,
) -> str | None:
    """The one line naming why Kafka at ``address`` refused us, or None (e.g. it is just down).

    ``messages``: kafka-python's error records from the failed attempt; ``speaks_tls``: whether the
    listener completed a TLS handshake (None: not probed).
    """
    text = "\n".join(messages)
    if any(marker in text for marker in _SASL_FAILED):
        return (
            f"Kafka at {address} refused the credentials of user {username} "
            f"(SASL {mechanism} authentication failed)"
        )
    if _CERT_FAILED in text:
        found = _VERIFY_DETAIL.search(text)
        detail = found.group(1).strip() if found else ""
        trusted = (
            f"NEWSWIRE_KAFKA_SSL_CAFILE={cafile}"
            if cafile
            else "the system's CAs (no NEWSWIRE_KAFKA_SSL_CAFILE)"
        )
        return (
            f"the TLS certificate of the broker at {address} is not trusted by {trusted}: "
            f"certificate verify failed{': ' + detail if detail else ''}"
        )
    uses_tls = protocol in ("SSL", "SASL_SSL")
    if not uses_tls and speaks_tls:
        return f"the broker at {address} speaks TLS/SASL; NEWSWIRE_KAFKA_SECURITY_PROTOCOL is {protocol}"
    if uses_tls and (any(marker in text for marker in _NOT_TLS) or speaks_tls is False):
        return f"the broker at {address} does not speak TLS; NEWSWIRE_KAFKA_SECURITY_PROTOCOL is {protocol}"
    return None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def capture_kafka_errors() -> Iterator[list[str]]:
    """kafka-python's error records while the block runs. They reach the service's log as before;
    where kafka-python's errors are silenced they are collected all the same, and stay silent."""
    logger = logging.getLogger("kafka")
    handler = _Collect()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.ERROR:
        logger.setLevel(logging.ERROR)
        logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def speaks_tls(address: str, timeout: float = 3.0) -> bool | None:
    """True if ``host:port`` completes a TLS handshake (certificate not checked), False if it answers
    but not with TLS, None if it cannot be reached."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except ssl.SSLError:
        return False
    except (OSError, ValueError):
        return None


def diagnose_kafka(settings: Any, messages: list[str]) -> str | None:
    """:func:`explain_kafka_refusal` for ``settings`` (a ``KafkaSettings``), probing the first
    bootstrap address for TLS when kafka-python's records do not name the cause."""
    address = settings.bootstrap_servers.split(",")[0].strip()
    common = {
        "protocol": settings.security_protocol,
        "mechanism": settings.sasl_mechanism,
        "username": settings.sasl_username,
        "cafile": settings.ssl_cafile,
        "address": address,
        "messages": messages,
    }
    line = explain_kafka_refusal(**common)
    if line is not None:
        return line
    return explain_kafka_refusal(**common, speaks_tls=speaks_tls(address))


def explain_es_refusal(url: str, ca_certs: str | None, exc: BaseException) -> str | None:
    """The one line naming why Elasticsearch refused us (credentials, with what it says was wrong
    with them, e.g. an invalidated or expired API key; an untrusted certificate), or None."""
    status = getattr(getattr(exc, "meta", None), "status", None)
    body = getattr(exc, "body", None)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    error = error if isinstance(error, dict) else {}
    if status in (401, 403):
        reason = error.get("reason") or str(exc)
        detail = error.get("additional_unsuccessful_credentials")
        what = "refused our credentials" if status == 401 else "refused the request"
        return f"Elasticsearch at {url} {what}: {status} {reason}" + (f" ({detail})" if detail else "")
    # elastic_transport keeps the cause in ``message`` (str() of a TlsError is just "TLS error")
    text = f"{exc} {getattr(exc, 'message', '')} {getattr(exc, 'errors', '')}"
    if _CERT_FAILED in text or "certificate verify failed" in text:
        found = _VERIFY_DETAIL.search(text)
        detail = found.group(1).strip() if found else ""
        trusted = (
            f"NEWSWIRE_ES_CA_CERTS={ca_certs}" if ca_certs else "the system's CAs (no NEWSWIRE_ES_CA_CERTS)"
        )
        return (
            f"the TLS certificate of Elasticsearch at {url} is not trusted by {trusted}: "
            f"certificate verify failed{': ' + detail if detail else ''}"
        )
    return None
