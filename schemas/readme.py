"""Regenerate README's generated blocks from the contract: ``python3 -m schemas.readme [FILE...]``."""

from __future__ import annotations

import sys
from pathlib import Path

from schemas.dead_letter import with_failure_reasons


def main(paths: list[str]) -> None:
    for name in paths or ["README.md"]:
        path = Path(name)
        path.write_text(with_failure_reasons(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
