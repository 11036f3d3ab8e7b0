"""A local certificate authority and per-node server certificates, made with ``cryptography``.

Layout under the secrets directory (0700; keys 0600)::

    ca.crt  ca.key                   the CA (10 years)
    <node>.crt  <node>.key           a node's certificate (SAN 127.0.0.1, localhost; 1 year) and key
    <node>.pem                       key + certificate + CA in one file: Kafka's PEM keystore

Kept across restarts; a certificate is made again only when it is missing, expires within
:data:`RENEW_BEFORE`, was not signed by the current CA, or lacks a wanted name. The CA itself is
made again only when missing or expiring, which re-issues every node certificate with it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = dt.timedelta(days=3650)
NODE_VALIDITY = dt.timedelta(days=365)
#: A certificate this close to its end is replaced at the next start.
RENEW_BEFORE = dt.timedelta(days=30)
DEFAULT_DNS_NAMES = ("localhost",)
DEFAULT_IP_ADDRESSES = ("127.0.0.1",)
_ORGANIZATION = "newswire (local stack)"


@dataclass(frozen=True)
class NodeCert:
    """Where one node's certificate material is."""

    name: str
    cert: Path
    key: Path
    #: Private key, certificate and CA in one PEM file (Kafka's ``ssl.keystore.type=PEM`` keystore).
    bundle: Path


@dataclass(frozen=True)
class CertificateAuthority:
    cert: Path
    key: Path


def ensure_private_dir(path: Path) -> Path:
    """``path`` exists, is a directory, and only its owner may enter it (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only, never briefly world-readable."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256: accepted by the JDK (Kafka, Elasticsearch) and Python's ssl alike, and quick to make.
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#8, unencrypted: the form Kafka's PEM keystore and Elasticsearch both read without a password
    # (the file's 0600 mode and the 0700 directory are its protection).
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def still_valid(cert: x509.Certificate, now: dt.datetime | None = None) -> bool:
    """True if ``cert`` is valid now and for at least :data:`RENEW_BEFORE` more."""
    now = now or _now()
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - RENEW_BEFORE > now


def ensure_ca(secrets: Path, common_name: str = "newswire local CA") -> tuple[CertificateAuthority, bool]:
    """The CA under ``secrets`` (made when missing or expiring). Returns it and whether it was made."""
    ensure_private_dir(secrets)
    ca = CertificateAuthority(secrets / "ca.crt", secrets / "ca.key")
    cert = load_cert(ca.cert)
    if cert is not None and ca.key.is_file() and still_valid(cert):
        return ca, False
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(ca.key, _key_pem(key))
    write_private(ca.cert, cert.public_bytes(serialization.Encoding.PEM))
    return ca, True


def _names_of(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(san.get_values_for_type(x509.DNSName)), {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }


def _issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def ensure_node_cert(
    secrets: Path,
    name: str,
    ca: CertificateAuthority,
    dns_names: Sequence[str] = DEFAULT_DNS_NAMES,
    ip_addresses: Sequence[str] = DEFAULT_IP_ADDRESSES,
    common_name: str | None = None,
) -> tuple[NodeCert, bool]:
    """Node ``name``'s certificate, signed by ``ca`` (made when missing, expiring, or out of date).

    ``common_name`` (default ``name``) is the subject's CN: the principal a TLS client certificate
    maps to (Kafka's brokers authenticate to each other and to the controller with it).
    Returns the paths and whether the certificate was made.
    """
    node = NodeCert(name, secrets / f"{name}.crt", secrets / f"{name}.key", secrets / f"{name}.pem")
    ca_cert = load_cert(ca.cert)
    if ca_cert is None:
        raise FileNotFoundError(f"no CA certificate at {ca.cert}")
    cert = load_cert(node.cert)
    wanted_dns, wanted_ips = set(dns_names), set(ip_addresses)
    cn = common_name or name
    if (
        cert is not None
        and node.key.is_file()
        and node.bundle.is_file()
        and still_valid(cert)
        and _issued_by(cert, ca_cert)
        and _names_of(cert) == (wanted_dns, wanted_ips)
        and cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    ):
        return node, False
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"unexpected CA key type in {ca.key}")
    key = _new_key()
    now = _now()
    alt_names: list[x509.GeneralName] = [x509.DNSName(dns) for dns in dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                    x509.NameAttribute(NameOID.COMMON_NAME, cn),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + NODE_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        # Both: a node serves TLS and, between brokers and to the controller, is a TLS client too.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = _key_pem(key)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    write_private(node.key, key_pem)
    write_private(node.cert, cert_pem)
    write_private(node.bundle, key_pem + cert_pem + ca.cert.read_bytes())
    return node, True
