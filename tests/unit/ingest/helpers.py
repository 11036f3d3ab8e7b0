"""Inputs for the ingest tests: where the seed article and BBC corpus live, fixtures, message builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.runtime.messages import Message

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    """``shared/``: $NEWSWIRE_SHARED_DIR, beside the repository (CI), or /work/shared."""
    candidates = [os.environ.get("NEWSWIRE_SHARED_DIR"), REPO_ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path("/work/shared")


SEED_PATH = shared_dir() / "seed" / "presstv-putin-xi-sco.txt"
BBC_ROOT = shared_dir() / "corpora" / "bbc-news"


def bbc_file(relative: str) -> Path:
    path = BBC_ROOT / relative
    if not path.is_file():
        pytest.skip(f"BBC corpus file not found at {path}")
    return path


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def raw_message(value: bytes | None, headers: dict[str, bytes] | None = None, offset: int = 0) -> Message:
    return Message(
        topic="articles.raw", partition=0, offset=offset, key=None, value=value, headers=headers or {}
    )
