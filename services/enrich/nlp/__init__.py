"""Named-entity recognition for the ``entities`` enricher: backends, gazetteers and in-article resolution.

A backend (:mod:`.rules` or :mod:`.spacy_backend`) finds typed mentions in one text; :mod:`.resolve`
turns the mentions of a whole article into entities with canonical names, aliases and counts.
"""
