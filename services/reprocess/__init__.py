"""Re-enrich and reindex the archive into a new index version, then move the alias (``newswire reprocess``).

The archive (``articles.ingested``, compacted, kept forever) is read again from its start by a
consumer group of the run's own: the enrich code in its reprocess mode (``NEWSWIRE_ENRICH_REPROCESS_RUN``)
selects the run's subset, enriches it at a bounded rate and writes to the run's topic; the index
code in its reprocess mode (``NEWSWIRE_INDEX_REPROCESS_RUN``) writes that topic into the new index
through the alias ``articles-next``, which the live index service writes to as well. When both
groups have caught up, :mod:`services.reprocess.aliases` moves ``articles`` in one atomic request.

- :mod:`~services.reprocess.settings`: names and knobs (``NEWSWIRE_REPROCESS_*``).
- :mod:`~services.reprocess.runs`: a run and its state document in Elasticsearch (what makes it resumable).
- :mod:`~services.reprocess.subset`: which archive records a run re-enriches; stale lineage.
- :mod:`~services.reprocess.rate`: the token bucket that bounds a worker's rate.
- :mod:`~services.reprocess.progress`: progress and ETA from the run's consumer group offsets.
- :mod:`~services.reprocess.aliases`: index versions, the atomic alias swap, pruning.
- :mod:`~services.reprocess.coordinator`: the run from start to swap, as the CLI drives it.
"""
