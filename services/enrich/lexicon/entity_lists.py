"""The word lists the rule-based recogniser reads, loaded once per process: places, names, common words.

What each list holds and where it comes from is said in :mod:`.place_names`, :mod:`.names` and
:mod:`.words`; this module loads them together on first use (about half a second).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from services.enrich.lexicon.names import given_names, surnames
from services.enrich.lexicon.place_names import is_demonym, load_place_names
from services.enrich.lexicon.words import common_words, is_common_word

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gazetteers:
    """The loaded lists; names are case-sensitive as usually written."""

    places: frozenset[str]
    major_places: frozenset[str]
    countries: frozenset[str]
    first_names: frozenset[str]
    surnames: frozenset[str]
    demonym_stems: frozenset[str]
    common_words: frozenset[str]

    def is_common_word(self, word: str) -> bool:
        """An ordinary English word ('Sales', 'Figures', 'Net'), plural and -ed/-ing forms included."""
        return is_common_word(word, self.common_words)

    def is_place(self, name: str) -> bool:
        return name in self.places or (name.isupper() and name.title() in self.places)

    def is_major_place(self, name: str) -> bool:
        """Countries, regions, US states and cities of 100,000+ people."""
        return name in self.major_places or (name.isupper() and name.title() in self.major_places)

    def is_country(self, name: str) -> bool:
        return name in self.countries or (name.isupper() and name.title() in self.countries)

    def is_demonym(self, word: str) -> bool:
        """'Russian', 'Chinese', 'Pakistanis', 'Turkish' - adjectives and people of a place, not places."""
        return is_demonym(word, self.places, self.demonym_stems)


_lock = threading.Lock()
_loaded: Gazetteers | None = None


def gazetteers() -> Gazetteers:
    """The lists, loaded on first call (about half a second) and shared by the whole process."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded


def _load() -> Gazetteers:
    place_names = load_place_names()
    first_names = given_names()
    log.debug("gazetteers loaded", extra={"places": len(place_names.places), "first_names": len(first_names)})
    return Gazetteers(
        places=place_names.places,
        major_places=place_names.major_places,
        countries=place_names.countries,
        demonym_stems=place_names.demonym_stems,
        first_names=first_names,
        surnames=surnames(),
        common_words=common_words(),
    )
