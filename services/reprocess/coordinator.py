"""A reprocess run from start to swap: plan, prepare, run the workers, wait until caught up, swap.

Why the new index starts as a copy of the old one (as ``_reindex`` would, no enrichment):
documents outside a subset must be in the new index unchanged, and even a full run must not
lose a document the archive no longer has. The archive's articles then overwrite their copies
(same revision, external versioning: the later write wins; a copy never replaces a document
the run already rewrote, its write is a version conflict that the copy skips).

Why ``--query`` and ``--stale`` are resolved once into ids, stored in the run's state document:
the workers then select without asking Elasticsearch per article (which would cost a request per
archive record), the set does not drift while the new index fills (a document rewritten by the
run would stop matching ``--stale``), and a resumed run or a worker on another machine selects
exactly the same articles.

When may the alias move? Every article must be in the new index by then. The live index service
writes each batch through ``articles-next`` before ``articles`` once it has seen the alias, which
it looks for every ``live_next_alias_check_s``. So the run waits that long (plus a margin) after
creating the alias, takes the archive's end offsets, waits until its enrich group has committed
them, then takes its topic's end offsets and waits until its index group has committed those:
everything archived before that moment is in the new index through the run, everything the live
service writes after it reaches the new index too.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
from elasticsearch import Elasticsearch, NotFoundError
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.structs import TopicPartition

from schemas.search_index import TEMPLATE_NAME
from services.enrich.pipeline import current_versions
from services.index.bootstrap import articles_template
from services.reprocess.aliases import next_version, swap_actions, version_of
from services.reprocess.progress import Stage, caught_up, stage
from services.reprocess.runs import Run, RunState, RunStore, new_run_id
from services.reprocess.settings import ReprocessSettings
from services.reprocess.subset import Subset, stale_ids
from services.runtime.kafka import committed_offsets, ensure_topics
from services.runtime.settings import ElasticsearchSettings, KafkaSettings, TopicSettings

log = logging.getLogger(__name__)

#: Run topics are derived data (the archive has it all): a week is plenty to finish a run.
RUN_TOPIC_CONFIGS = {"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)}
#: Added to the live services' alias check interval before trusting that they write to both indexes.
LIVE_MARGIN_S = 2.0


class RunConflict(RuntimeError):
    """A run for this alias is still building with another subset: finish or abandon it first."""


@dataclass(frozen=True)
class Snapshot:
    """Where a run stands: its enrich group on the archive, its index group on its topic."""

    enrich: Stage
    index: Stage


class Coordinator:
    """The steps of a run, each safe to repeat: a re-run after a crash or Ctrl-C goes through them again."""

    def __init__(
        self,
        settings: ReprocessSettings,
        kafka: KafkaSettings,
        es_settings: ElasticsearchSettings,
        es: Elasticsearch,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.kafka = kafka
        self.es_settings = es_settings
        self.es = es
        self.store = RunStore(es, settings.state_index)
        self.clock = clock

    # -- planning ---------------------------------------------------------------------------------

    def open_run(self) -> Run | None:
        return self.store.open_run(self.settings.alias)

    def plan(self, subset: Subset, rate: float, workers: int) -> tuple[Run, bool]:
        """The open run for the alias (resumed: True), or a new one for ``subset`` (saved by :meth:`prepare`,
        so a run declined at the prompt leaves nothing behind)."""
        self.store.ensure()
        current = self.open_run()
        if current is not None:
            if not current.subset.same_request(subset):
                raise RunConflict(
                    f"run {current.run_id} is still building {current.new_index} for "
                    f"{current.subset.describe()}; finish it (newswire reprocess with the same options) "
                    "or abandon it (--abandon)"
                )
            resumed = current.model_copy(update={"rate": rate, "workers": workers})
            self.store.save(resumed)
            return resumed, True
        old = self.indexes_behind(self.settings.alias)
        existing = list(self.es.indices.get(index=f"{self.settings.index_prefix}*", expand_wildcards="all"))
        if (subset.query or subset.stale) and not old:
            raise ValueError(f"--query and --stale select from the index behind {self.settings.alias!r}")
        ids = self.resolve_ids(old, subset) if (subset.query or subset.stale) else None
        run = Run(
            run_id=new_run_id(self.clock()),
            alias=self.settings.alias,
            next_alias=self.settings.next_alias,
            old_indexes=tuple(old),
            new_index=next_version(existing, self.settings.index_prefix),
            archive_topic=self.settings.archive_topic,
            subset=subset.model_copy(update={"ids": frozenset(ids) if ids is not None else None}),
            rate=rate,
            workers=workers,
            created_at=self.clock(),
        )
        return run, False

    def indexes_behind(self, alias: str) -> list[str]:
        try:
            return sorted(self.es.indices.get_alias(name=alias))
        except NotFoundError:
            return []

    def resolve_ids(self, indexes: list[str], subset: Subset) -> list[str]:
        """Ids of the documents matching ``--query`` (a query_string) and, with ``--stale``, whose lineage
        is older than the enrichers of this code."""
        query: dict[str, Any] = (
            {"query_string": {"query": subset.query, "default_operator": "AND"}}
            if subset.query
            else {"match_all": {}}
        )
        versions = current_versions() if subset.stale else None
        ids: list[str] = []
        for page in self._scan(indexes, query, ["enrichers"] if versions else False):
            ids.extend(stale_ids(page, versions) if versions is not None else [str(h["_id"]) for h in page])
        return ids

    def _scan(
        self, indexes: list[str], query: Mapping[str, Any], source: Any, version: bool = False
    ) -> Iterator[list[Any]]:
        pit = self.es.open_point_in_time(index=",".join(indexes), keep_alive="2m")["id"]
        after: list[Any] | None = None
        try:
            while True:
                page = self.es.search(
                    pit={"id": pit, "keep_alive": "2m"},
                    query=query,
                    source=source,
                    sort=[{"_shard_doc": "asc"}],
                    size=2000,
                    search_after=after,
                    version=version,
                )
                hits = page["hits"]["hits"]
                if not hits:
                    return
                yield hits
                after = hits[-1]["sort"]
        finally:
            self.es.close_point_in_time(id=pit)

    def archive_size(self, run: Run) -> int:
        start, end = self._log_bounds(run.archive_topic)
        return stage(start, end, {}).total

    # -- preparing --------------------------------------------------------------------------------

    def prepare(self, run: Run, say: Callable[[str], None] = lambda _: None) -> Run:
        """The current template, the new index and its next alias, the old index's copy, the run topic."""
        self.store.save(run)
        self.es.indices.put_index_template(name=TEMPLATE_NAME, body=articles_template())
        if not self.es.indices.exists(index=run.new_index):
            body = copy.deepcopy(articles_template()["template"])
            body.pop("aliases", None)
            self.es.indices.create(
                index=run.new_index,
                settings=body["settings"],
                mappings=body["mappings"],
                aliases={run.next_alias: {"is_write_index": True}},
            )
            say(f"created {run.new_index} (alias {run.next_alias})")
        if run.next_alias_since is None:
            run = run.model_copy(update={"next_alias_since": self.clock()})
            self.store.save(run)
        if run.old_indexes and not run.copied:
            say(f"copying {', '.join(run.old_indexes)} into {run.new_index} (no enrichment)")
            self.copy_old(run)
            run = run.model_copy(update={"copied": True})
            self.store.save(run)
        topics = TopicSettings()
        # The cluster's replication, or on several brokers the run's topic would have one copy (and
        # a broker's min.insync.replicas of 2 would refuse every acks=all write to it).
        archive = ensure_topics(self.kafka, {run.archive_topic: topics.partitions}, topics.replication_factor)
        partitions = archive[run.archive_topic]
        ensure_topics(
            self.kafka,
            {run.topic: partitions},
            topics.replication_factor,
            configs={run.topic: RUN_TOPIC_CONFIGS},
        )
        return run

    def copy_old(self, run: Run) -> None:
        """Copy the old index into the new one, each document with its revision as external version.

        Page by page (a point in time and ``search_after``), written with bulk requests: what
        ``_reindex`` does, done here because a cluster assembled without the reindex module (the
        native stack's) has no ``_reindex``. A document the run already rewrote has the same
        revision: its copy is a version conflict and is skipped.
        """
        pause = 0.0
        for page in self._scan(list(run.old_indexes), {"match_all": {}}, True, version=True):
            started = time.monotonic()
            body = b"".join(
                orjson.dumps(
                    {
                        "index": {
                            "_index": run.new_index,
                            "_id": hit["_id"],
                            "version": hit["_version"],
                            "version_type": "external",
                        }
                    }
                )
                + b"\n"
                + orjson.dumps(hit["_source"])
                + b"\n"
                for hit in page
            )
            # The client sends pre-encoded NDJSON as is, though its type hints name lists of dicts.
            response = self.es.bulk(operations=cast(Any, body), refresh=False)
            if response.get("errors"):
                failed = [
                    item["index"]
                    for item in response["items"]
                    if item["index"].get("error") and item["index"].get("status") != 409
                ]
                if failed:
                    raise RuntimeError(f"copying the old index failed: {failed[:3]}")
            if self.settings.copy_rate > 0:
                pause = len(page) / self.settings.copy_rate - (time.monotonic() - started)
                time.sleep(max(0.0, pause))

    # -- workers ----------------------------------------------------------------------------------

    def start_workers(self, run: Run, workers: int) -> list[subprocess.Popen[bytes]]:
        """``workers`` enrich workers and one index worker in the run's mode, as child processes."""
        common = {
            **os.environ,
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "NEWSWIRE_ES_URL": self.es_settings.url,
            "NEWSWIRE_REPROCESS_STATE_INDEX": self.settings.state_index,
        }
        enrich_env = {
            **common,
            "NEWSWIRE_ENRICH_REPROCESS_RUN": run.run_id,
            "NEWSWIRE_ENRICH_RATE": str(run.rate_per_worker(workers)),
            "NEWSWIRE_ENRICH_METRICS_PORT": "0",
            "NEWSWIRE_ENRICH_WEB_ENABLED": "false",
        }
        index_env = {
            **common,
            "NEWSWIRE_INDEX_REPROCESS_RUN": run.run_id,
            "NEWSWIRE_INDEX_METRICS_PORT": "0",
        }
        started = [self._spawn("services.enrich", enrich_env, run, f"enrich-{n}") for n in range(workers)]
        if workers:
            started.append(self._spawn("services.index", index_env, run, "index"))
        return started

    def worker_log(self, run: Run, name: str) -> Path:
        return Path(tempfile.gettempdir()) / f"newswire-reprocess-{run.run_id}-{name}.log"

    def _spawn(self, module: str, env: dict[str, str], run: Run, name: str) -> subprocess.Popen[bytes]:
        # Their JSON log lines go to a file: the terminal shows the progress bar.
        with self.worker_log(run, name).open("ab") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", module], env=env, stdout=subprocess.DEVNULL, stderr=log_file
            )

    @staticmethod
    def stop_workers(workers: list[subprocess.Popen[bytes]], timeout_s: float = 30.0) -> None:
        """SIGTERM (they commit what they finished), then wait; kill what does not leave in time."""
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in workers:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- progress and catching up -----------------------------------------------------------------

    def snapshot(self, run: Run) -> Snapshot:
        archive_start, archive_end = self._log_bounds(run.archive_topic)
        topic_start, topic_end = self._log_bounds(run.topic)
        enriched = committed_offsets(self.kafka, run.enrich_group, run.archive_topic)
        indexed = committed_offsets(self.kafka, run.index_group, run.topic)
        return Snapshot(stage(archive_start, archive_end, enriched), stage(topic_start, topic_end, indexed))

    def live_writes_reach_new_index_at(self, run: Run) -> datetime:
        since = run.next_alias_since or run.created_at
        return since + _seconds(self.settings.live_next_alias_check_s + LIVE_MARGIN_S)

    def end_offsets(self, topic: str) -> dict[int, int]:
        return self._log_bounds(topic)[1]

    def enrich_caught_up(self, run: Run, targets: Mapping[int, int]) -> bool:
        return caught_up(targets, committed_offsets(self.kafka, run.enrich_group, run.archive_topic))

    def index_caught_up(self, run: Run, targets: Mapping[int, int]) -> bool:
        return caught_up(targets, committed_offsets(self.kafka, run.index_group, run.topic))

    def _log_bounds(self, topic: str) -> tuple[dict[int, int], dict[int, int]]:
        consumer = KafkaConsumer(**self.kafka.client_config(), client_id="newswire-reprocess")
        try:
            numbers = sorted(consumer.partitions_for_topic(topic) or ())
            partitions = [TopicPartition(topic, p) for p in numbers]
            start = consumer.beginning_offsets(partitions)
            end = consumer.end_offsets(partitions)
        finally:
            consumer.close()
        return {tp.partition: o for tp, o in start.items()}, {tp.partition: o for tp, o in end.items()}

    # -- the swap ---------------------------------------------------------------------------------

    def swap(self, run: Run) -> Run:
        """Make the new index searchable, then move the alias to it in one ``_aliases`` request."""
        from services.index.refresh import normal_refresh_interval

        self.es.indices.put_settings(
            index=run.new_index, settings={"index": {"refresh_interval": normal_refresh_interval()}}
        )
        self.es.indices.refresh(index=run.new_index)
        old = self.indexes_behind(run.alias)
        self.es.indices.update_aliases(actions=swap_actions(run.alias, old, run.new_index, run.next_alias))
        swapped = run.model_copy(update={"state": RunState.SWAPPED, "swapped_at": self.clock()})
        self.store.save(swapped)
        return swapped

    def abandon(self, run: Run) -> Run:
        """Stop building: the next alias goes (live writes stop), the half-built index stays for prune."""
        if self.es.indices.exists_alias(name=run.next_alias, index=run.new_index):
            self.es.indices.delete_alias(index=run.new_index, name=run.next_alias)
        abandoned = run.model_copy(update={"state": RunState.ABANDONED})
        self.store.save(abandoned)
        self.clean_up(abandoned)
        return abandoned

    def clean_up(self, run: Run) -> None:
        """Delete the run's topics and consumer groups (the archive still has everything)."""
        admin = KafkaAdminClient(**self.kafka.client_config(), client_id="newswire-reprocess")
        try:
            existing = set(admin.list_topics())
            own = [t for t in existing if t == run.topic or t.startswith(f"{run.enrich_group}-")]
            if own:
                admin.delete_topics(own)
            try:
                admin.delete_consumer_groups([run.enrich_group, run.index_group])
            except Exception as exc:  # a group still has members leaving, or never existed
                log.info("run groups not deleted", extra={"error": repr(exc)})
        finally:
            admin.close()


def prunable_indexes(es: Elasticsearch, prefix: str) -> list[str]:
    """Index versions no alias points at (not ``articles``, nor a run's ``articles-next``), oldest first."""
    from services.reprocess.aliases import prunable

    found = es.indices.get_alias(index=f"{prefix}*", expand_wildcards="all")
    return prunable({name: list(entry.get("aliases") or {}) for name, entry in found.items()}, prefix)


def _seconds(value: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=value)


__all__ = ["Coordinator", "RunConflict", "Snapshot", "prunable_indexes", "version_of"]
