"""The enrich service: ``articles.ingested`` -> enrichers, near-duplicate check -> ``articles.enriched``.

A faust-streaming app (:mod:`services.enrich.app`) around a pure per-event function
(:mod:`services.enrich.handler`) and a pipeline of small enrichers (:mod:`services.enrich.pipeline`).

Enrichers, in run order (:data:`services.enrich.pipeline.ENRICHERS`, listed by :mod:`.readme`): ``language``,
``word_count``, ``reading_time``, ``entities``, ``places``, ``quotes``, ``keywords``, ``summary``.
"""
