"""Stale enrichment shows: ``newswire status`` and the index service's metrics count the documents
per enricher version in a real Elasticsearch index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch
from prometheus_client import REGISTRY

from schemas.articles import EnricherRun
from schemas.search_index import LINEAGE_FIELD, document_from
from services.cli.status import current_enricher_versions, index_status
from services.runtime.metrics import LineageSampler
from services.runtime.settings import ElasticsearchSettings
from tests.integration.search_server import throwaway_index
from tests.unit.index.factories import enriched_article


def gauge(enricher: str, version: str) -> float | None:
    return REGISTRY.get_sample_value(
        "newswire_indexed_documents_by_enricher_version", {"enricher": enricher, "version": version}
    )


def test_status_and_metrics_count_documents_per_enricher_version() -> None:
    current = current_enricher_versions()
    runs = [EnricherRun(name=name, version=version) for name, version in current.items()]
    old_entities = [
        run if run.name != "entities" else EnricherRun(name="entities", version="0") for run in runs
    ]
    up_to_date = [enriched_article(enrichers=runs) for _ in range(3)]
    stale = [enriched_article(enrichers=old_entities) for _ in range(2)]
    es = Elasticsearch(**ElasticsearchSettings().client_kwargs())
    try:
        with throwaway_index(es, [*up_to_date, *stale], "test-lineage") as index:
            # A document indexed before the lineage field existed.
            before = document_from(enriched_article(enrichers=runs), trace_id="before")
            del before[LINEAGE_FIELD]
            es.index(index=index, id=before["id"], document=before, refresh=True)

            status, _ = index_status(es, datetime.now(UTC) - timedelta(minutes=5), alias=index)
            assert status.error is None and status.documents == 6
            assert (status.up_to_date, status.stale, status.without_lineage) == (3, 2, 1)
            by_version = {
                (row.enricher, row.version): (row.documents, row.current) for row in status.enricher_versions
            }
            assert by_version[("entities", current["entities"])] == (3, True)
            assert by_version[("entities", "0")] == (2, False)
            assert by_version[("places", current["places"])] == (5, True)

            sampler = LineageSampler(es, index)
            sampler.sample()
            assert gauge("entities", "0") == 2
            assert gauge("entities", current["entities"]) == 3
            assert REGISTRY.get_sample_value("newswire_indexed_documents_without_lineage") == 1
            # Reprocessed: the old version is gone from the index, and from the metrics.
            for article in stale:
                es.index(
                    index=index,
                    id=article.id,
                    document=document_from(article.model_copy(update={"enrichers": runs}), "re"),
                )
            es.indices.refresh(index=index)
            sampler.sample()
            assert gauge("entities", "0") is None
            assert gauge("entities", current["entities"]) == 5
    finally:
        es.close()
