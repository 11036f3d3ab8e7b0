"""Ordinary words: function words, words that end names of no entity, and Webster's Second.

The written lists are ours; ordinary English words come from Webster's Second (public domain) as
shipped by ``english-words``.
"""

from __future__ import annotations

import logging
from functools import cache

from services.enrich.lexicon.loader import word_set

log = logging.getLogger(__name__)

#: Capitalised at the start of a sentence, these are ordinary words, not names.
FUNCTION_WORDS = word_set(
    """
    a about above according across after afterwards again against ago ahead all almost along already also
    although always amid among an and another any anyone anything are around as asked at back be because
    been before being below beside besides between beyond both but by can could despite did do does
    down during each earlier either else elsewhere even ever every everyone everything except far few
    finally first for former formerly from further furthermore had has have having he her here hers
    herself him himself his how however i if in including indeed instead into is it its itself just
    last late later latest least less let like likewise many may maybe me meanwhile might mine more
    moreover most mostly much must my myself near nearly neither never nevertheless next no nobody
    none nor not nothing now of off often on once one only onto or other others otherwise our ours out
    over overall own per perhaps please plus previously rather recently regardless same second several
    shall she should similarly since so some someone something sometimes soon still such than that the
    their theirs them themselves then there thereafter therefore these they third this those though
    through throughout thus to today together tomorrow tonight too toward towards under unless unlike
    until up upon us very via was we well were what whatever when whenever where whereas wherever
    whether which while who whoever whom whose why will with within without would yes yesterday yet you
    your yours yourself two three four five six seven eight nine ten eleven twelve twenty hundred
    thousand million billion dozens hundreds thousands millions half top total no. vs euro
    fourth fifth sixth seventh eighth ninth tenth
    monday tuesday wednesday thursday friday saturday sunday january february march april june july
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    mr mrs ms dr said says say told tells added asked according officials sources police reports
    analysts experts critics residents witnesses people leaders members fans players voters
    """
)

#: Capitalised words that open sentences and clauses; never part of a name (the quotes' name finder).
CLAUSE_OPENERS = word_set(
    """
    The A An This That These Those It Its His Her Their Our We They He She There Here What Who Whom
    Which Why How Where When While Although Though Because Despite During Under Over Through About
    Against Among Between Without Within Into Onto Upon Of To Is Was Are Were Be Has Have Had Not No
    Yes Only Just Even Every Each Some Many Most More Both All Any One Two Three Such Other Another
    """
)

#: Last words of names that are events, awards, laws or documents: neither person, organisation nor place.
OTHER_LAST_WORDS = word_set(
    """
    cup championship championships games open olympics olympic award awards prize festival war wars
    act treaty accord accords agreement day week series trophy tournament marathon rally classic
    prix summit talks index era revolution plan doctrine initiative project bill law budget report
    declaration convention charter protocol constitution bible koran quran grand slam tour
    conference forum show album film movie novel song opera symphony language
    """
)


#: Ordinary words newer than Webster's Second (1934) that news copy capitalises at a line's start.
MODERN_WORDS = word_set(
    """
    fax email e-mail internet online website web software hardware halftime half-time quarterfinal
    quarterfinals semifinal semifinals semi-final semi-finals playoff playoffs play-off play-offs
    midfielder midfielders striker strikers goalkeeper goalkeepers organisers organizers newsroom
    teleconference telecom telecoms smartphone laptop podcast update updates women men children
    """
)


@cache
def common_words() -> frozenset[str]:
    """Lower-case entries of Webster's Second (public domain) from ``english-words`` and our
    :data:`MODERN_WORDS`; only the latter without the package."""
    try:
        from english_words import get_english_words_set
    except ModuleNotFoundError:
        log.warning("the 'english-words' package is missing: no common-word list")
        return MODERN_WORDS
    return MODERN_WORDS | frozenset(
        word for word in get_english_words_set(["web2"], lower=False, alpha=True) if word.islower()
    )


def is_common_word(word: str, vocabulary: frozenset[str] | None = None) -> bool:
    """An ordinary English word ('Sales', 'Figures', 'Net'), plural and -ed/-ing forms included.

    ``vocabulary`` is the lower-case word list to look in, :func:`common_words` by default.
    """
    common = common_words() if vocabulary is None else vocabulary
    lower = word.lower()
    if lower in common:
        return True
    for suffix, replacement in (
        ("ies", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ing", ""),
    ):
        if lower.endswith(suffix) and lower[: -len(suffix)] + replacement in common:
            return True
    return False
