"""The enrich service: ``articles.ingested`` -> language, word count, reading time -> ``articles.enriched``.

A faust-streaming app (:mod:`services.enrich.app`) around a pure per-event function
(:mod:`services.enrich.handler`) and a pipeline of small enrichers (:mod:`services.enrich.pipeline`).
"""
