"""What the enrich and index services read, write and select: live, or in a reprocess run's mode.

Both services take one switch, ``NEWSWIRE_ENRICH_REPROCESS_RUN`` / ``NEWSWIRE_INDEX_REPROCESS_RUN``
(a run id): everything else (consumer group, topics, target alias, subset, rate) comes from the
run's state document, so a worker started by hand, by a Kubernetes Job or by ``newswire reprocess``
on another machine does exactly the same work.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.envelope import ArticleIngested
from services.reprocess.runs import Run, RunStore
from services.reprocess.settings import ReprocessSettings
from services.reprocess.subset import Subset
from services.runtime.events import decode_event
from services.runtime.messages import Message, Rejected
from services.runtime.settings import ElasticsearchSettings


def load_run(run_id: str, es_settings: ElasticsearchSettings | None = None) -> Run:
    """The run's state document (``NEWSWIRE_REPROCESS_STATE_INDEX``), or LookupError."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(**(es_settings or ElasticsearchSettings()).client_kwargs())
    try:
        return RunStore(es, ReprocessSettings().state_index).load(run_id)
    finally:
        es.close()


@dataclass(frozen=True)
class EnrichRoute:
    """The enrich service's group (faust app id), topics, subset and rate."""

    app_id: str
    input_topic: str
    output_topic: str
    subset: Subset | None = None
    #: Articles per second of this worker; 0: as fast as it can.
    rate: float = 0.0


def enrich_route(
    app_id: str, input_topic: str, output_topic: str, rate: float, run: Run | None
) -> EnrichRoute:
    """Live: the settings' names. In a run: its group, archive, topic and subset, at ``rate`` or its share."""
    if run is None:
        return EnrichRoute(app_id, input_topic, output_topic, None, rate)
    subset = None if run.subset.everything else run.subset
    return EnrichRoute(run.enrich_group, run.archive_topic, run.topic, subset, rate or run.rate_per_worker())


def selected(subset: Subset | None, message: Message) -> bool:
    """Whether an archive record is the run's to re-enrich; one that cannot be read goes on (and fails)."""
    if subset is None:
        return True
    event = decode_event(message, ArticleIngested)
    if isinstance(event, Rejected):
        return True
    return subset.selects(event.article)


@dataclass(frozen=True)
class IndexRoute:
    """The index service's group, input topic, the alias it writes, and the next alias it also writes."""

    group_id: str
    input_topic: str
    alias: str
    next_alias: str | None
    #: Whether to install the template and create the first index (the live service does).
    bootstrap: bool = True


def index_route(group_id: str, input_topic: str, alias: str, next_alias: str, run: Run | None) -> IndexRoute:
    if run is None:
        return IndexRoute(group_id, input_topic, alias, next_alias or None, True)
    return IndexRoute(run.index_group, run.topic, run.next_alias, None, False)
