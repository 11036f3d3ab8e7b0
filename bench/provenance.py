"""What a measurement measured: the commit, and whether the measured code differs from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def code_version(*paths: str, tree: Path = REPO_ROOT) -> str | None:
    """The short commit of ``tree``, with "+changes" when ``paths`` (all when none) differ from it.

    None outside a git checkout: a figure is then recorded without its commit rather than not at all.
    """
    try:
        commit = _git(tree, "rev-parse", "--short", "HEAD")
        changes = _git(tree, "status", "--porcelain", "--", *paths)
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}+changes" if changes else commit


def _git(tree: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(tree), *arguments], capture_output=True, text=True, check=True
    ).stdout.strip()
