"""Fixtures for the ingest tests: the user's seed article, skipped when shared/ is not there."""

from __future__ import annotations

import pytest

from tests.unit.ingest.helpers import SEED_PATH


@pytest.fixture(scope="session")
def seed_bytes() -> bytes:
    if not SEED_PATH.is_file():
        pytest.skip(f"seed article not found at {SEED_PATH}")
    return SEED_PATH.read_bytes()


@pytest.fixture(scope="session")
def seed_text(seed_bytes: bytes) -> str:
    return seed_bytes.decode("utf-8")
