"""Stable article ids: the same article submitted twice, or under a tracking link, gets the same id."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ID_CHARS = 32

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that say how a reader arrived, not which page they read.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "ocid",
        "cmpid",
        "icid",
        "s_cid",
        "spm",
        "ito",
        "at_medium",
        "at_campaign",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")


def canonicalize_url(url: str) -> str | None:
    """The URL without what varies between links to one page; None unless it is absolute http(s).

    Lowercases scheme and host, drops credentials, the default port, the fragment and tracking
    parameters, sorts the remaining parameters and strips trailing slashes from the path.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/") or "/"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking_param(name)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def content_hash(title: str, body: str) -> str:
    """SHA-256 hex of the normalized title and body."""
    return hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


def article_id(canonical_url: str | None, title: str, body: str) -> tuple[str, str]:
    """The article id and what it was derived from (``"url"`` or ``"content"``)."""
    if canonical_url:
        return hashlib.sha256(canonical_url.encode()).hexdigest()[:ID_CHARS], "url"
    return content_hash(title, body)[:ID_CHARS], "content"


def _is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)
