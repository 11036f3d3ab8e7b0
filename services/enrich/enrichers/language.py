"""Language of the article as an ISO 639-1 code, detected with langdetect."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from schemas.articles import Article
from services.enrich.enrichers import enricher

#: langdetect samples n-grams at random; a fixed seed makes the same text always get the same answer.
SEED = 0
#: Below this many letters langdetect answers with near-certainty and is often wrong ("ok" -> Slovak).
MIN_LETTERS = 25
#: Below this probability the detection is not trusted and the publisher's hint wins.
MIN_PROBABILITY = 0.90
#: Detection cost grows with the text; the opening of an article says enough about its language.
MAX_CHARS = 5_000

_ISO_639_1 = re.compile(r"^[a-z]{2}$")


@cache
def _factory() -> DetectorFactory:
    """Our own factory so the seed is not shared through langdetect's module-global one."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(SEED)
    return factory


def warm_up() -> None:
    """Load the language profiles now (about 0.4 s) rather than on the first article."""
    _factory()


def normalize_code(code: str | None) -> str | None:
    """ISO 639-1 code of a language tag ("en-US", "EN", "zh-cn" -> "en", "en", "zh"), or None."""
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return primary if _ISO_639_1.match(primary) else None


def detect_language(text: str, hint: str | None = None) -> str | None:
    """The language of ``text``; the hint when detection is unsure; None when neither is usable."""
    hint_code = normalize_code(hint)
    sample = text[:MAX_CHARS]
    if sum(char.isalpha() for char in sample) < MIN_LETTERS:
        return hint_code
    detector = _factory().create()
    detector.append(sample)
    try:
        candidates = detector.get_probabilities()
    except LangDetectException:  # no letters langdetect knows
        return hint_code
    if not candidates or candidates[0].prob < MIN_PROBABILITY:
        return hint_code
    return normalize_code(candidates[0].lang)


@enricher("language", "1")
def language(article: Article, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Language of the title and body, falling back to the publisher's language hint."""
    return {"language": detect_language(f"{article.title}\n\n{article.body}", article.language_hint)}
