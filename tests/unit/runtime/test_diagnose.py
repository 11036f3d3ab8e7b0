"""The one line a refused connection ends with (services/runtime/diagnose.py), from the records
kafka-python really logs (copied from a run against the secure stack) and Elasticsearch's errors."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, TlsError
from elasticsearch import AuthenticationException

from services.runtime.diagnose import (
    capture_kafka_errors,
    explain_es_refusal,
    explain_kafka_refusal,
    speaks_tls,
)

ADDRESS = "127.0.0.1:27092"
SASL = (
    "<KafkaSSLTransport [none] (closed)>: Abort ([Error 58] SaslAuthenticationFailedError: "
    "SaslAuthenticationFailedError: Authentication failed during authentication due to invalid "
    "credentials with SASL mechanism SCRAM-SHA-512)"
)
CERT = (
    "Connection failed: KafkaConnectionError: Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] "
    "certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)"
)
DISCONNECTED = "<KafkaTCPTransport [none] (closed)>: socket disconnected"
REFUSED = "Connection failed: KafkaConnectionError: [Errno 111] Connection refused"


def explain(messages: list[str], protocol: str = "SASL_SSL", speaks: bool | None = None) -> str | None:
    return explain_kafka_refusal(
        protocol=protocol,
        mechanism="SCRAM-SHA-512",
        username="newswire-index",
        cafile="/state/secrets/ca.crt",
        address=ADDRESS,
        messages=messages,
        speaks_tls=speaks,
    )


def test_wrong_password_names_the_user_and_the_mechanism() -> None:
    assert explain([REFUSED, SASL]) == (
        f"Kafka at {ADDRESS} refused the credentials of user newswire-index "
        "(SASL SCRAM-SHA-512 authentication failed)"
    )


def test_untrusted_certificate_names_the_ca_file_and_the_reason() -> None:
    assert explain([CERT]) == (
        f"the TLS certificate of the broker at {ADDRESS} is not trusted by "
        "NEWSWIRE_KAFKA_SSL_CAFILE=/state/secrets/ca.crt: certificate verify failed: "
        "self-signed certificate in certificate chain"
    )


def test_without_a_ca_file_the_system_cas_are_named() -> None:
    line = explain_kafka_refusal(
        protocol="SSL", mechanism=None, username=None, cafile=None, address=ADDRESS, messages=[CERT]
    )
    assert line is not None and "the system's CAs (no NEWSWIRE_KAFKA_SSL_CAFILE)" in line


def test_plaintext_client_on_a_tls_listener() -> None:
    assert explain([DISCONNECTED], protocol="PLAINTEXT") is None  # not probed: cannot tell
    assert explain([DISCONNECTED], protocol="PLAINTEXT", speaks=True) == (
        f"the broker at {ADDRESS} speaks TLS/SASL; NEWSWIRE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"
    )


def test_tls_client_on_a_plaintext_listener() -> None:
    assert explain([DISCONNECTED], speaks=False) == (
        f"the broker at {ADDRESS} does not speak TLS; NEWSWIRE_KAFKA_SECURITY_PROTOCOL is SASL_SSL"
    )


def test_a_broker_that_is_down_is_not_a_refusal() -> None:
    assert explain([REFUSED], protocol="PLAINTEXT", speaks=None) is None
    assert explain([], protocol="SASL_SSL") is None


def test_capture_keeps_kafka_errors_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # as the stack's CLI sets it
    try:
        with caplog.at_level(logging.DEBUG), capture_kafka_errors() as messages:
            logging.getLogger("kafka.net.transport").error("%s: Abort (%s)", "<conn>", "boom")
            logging.getLogger("kafka.net.transport").info("not an error")
    finally:
        logging.getLogger("kafka").setLevel(logging.NOTSET)
    assert messages == ["<conn>: Abort (boom)"]
    assert not [r for r in caplog.records if r.name.startswith("kafka")]


def _es_error(status: int, body: dict[str, object]) -> AuthenticationException:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("https", "127.0.0.1", 27200),
    )
    return AuthenticationException(message="security_exception", meta=meta, body=body)


def test_revoked_api_key_names_what_elasticsearch_found_wrong() -> None:
    exc = _es_error(
        401,
        {
            "error": {
                "reason": "unable to authenticate with provided credentials",
                "additional_unsuccessful_credentials": "API key: api key [abc] has been invalidated",
            }
        },
    )
    assert explain_es_refusal("https://127.0.0.1:27200", "/ca.crt", exc) == (
        "Elasticsearch at https://127.0.0.1:27200 refused our credentials: 401 unable to authenticate "
        "with provided credentials (API key: api key [abc] has been invalidated)"
    )


def test_untrusted_elasticsearch_certificate() -> None:
    exc = TlsError(
        "TLS error caused by: SSLError([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "unable to get local issuer certificate (_ssl.c:1006))"
    )
    assert explain_es_refusal("https://127.0.0.1:27200", None, exc) == (
        "the TLS certificate of Elasticsearch at https://127.0.0.1:27200 is not trusted by the system's "
        "CAs (no NEWSWIRE_ES_CA_CERTS): certificate verify failed: unable to get local issuer certificate"
    )


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[str]:
    """A loopback listener completing TLS handshakes with a throwaway certificate."""
    from services.stack.secure import certs

    ca, _ = certs.ensure_ca(tmp_path)
    node, _ = certs.ensure_node_cert(tmp_path, "node", ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(node.cert, node.key)
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def test_speaks_tls_probe(tls_listener: str) -> None:
    assert speaks_tls(tls_listener) is True
    plain = socket.create_server(("127.0.0.1", 0))
    port = plain.getsockname()[1]
    plain.close()
    assert speaks_tls(f"127.0.0.1:{port}") is None  # nothing listens
