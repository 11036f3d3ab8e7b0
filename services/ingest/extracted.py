"""What the format-specific extractors find in a submission, before it becomes an ``Article``."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Control characters, and invisible ones that only break words apart in search; ZWJ/ZWNJ stay
# (they matter in Persian, Arabic and Indic scripts).
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")


@dataclass
class Extracted:
    """Article fields found in one submission; anything not found stays empty."""

    title: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    caption: str | None = None
    section: str | None = None
    breadcrumb: list[str] = field(default_factory=list)
    source: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None


def clean_inline(text: str) -> str:
    """NFC text on one line: every run of (Unicode) whitespace becomes a single space."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def as_utc(moment: datetime) -> datetime:
    """Timezone-aware UTC; a time without a zone is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
