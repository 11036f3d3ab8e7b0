"""``newswire reprocess``: re-enrich and reindex the archive into a new index version, then swap the alias."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.state import err, fail, out, state_of

if TYPE_CHECKING:
    from services.reprocess.coordinator import Coordinator
    from services.reprocess.runs import Run


class WorkerFailed(RuntimeError):
    pass


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO date or date-time; a date is its midnight, UTC unless it names its zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: not an ISO date or date-time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reprocess(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Only articles of this source (any case).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only articles published (else ingested) at or after this ISO date.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only articles published (else ingested) before this.")
    ] = None,
    query: Annotated[
        str | None, typer.Option(help="Only the documents this query_string matches in the current index.")
    ] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="Only documents whose enricher versions are not the current ones.")
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Articles re-enriched per second, all workers together [NEWSWIRE_REPROCESS_RATE].", min=0.1
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Enrich workers to start here; 0: workers run elsewhere [NEWSWIRE_REPROCESS_WORKERS].", min=0
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    abandon: Annotated[
        bool, typer.Option("--abandon", help="Give up the unfinished run (its index stays for prune).")
    ] = False,
) -> None:
    """Re-enrich and reindex the archive (or a subset) into a new index version, then move the alias to it.

    The new index starts as a copy of the current one; the selected articles are read again from
    the archive (articles.ingested), enriched by the current enrichers and written over their
    copies. New articles reach both indexes meanwhile. When the run has caught up, the alias moves
    in one atomic step; the old index stays until `newswire index prune`. Interrupted (Ctrl-C, a
    crash), the same command continues where it stopped.
    """
    from elasticsearch import ApiError, Elasticsearch
    from elasticsearch import ConnectionError as EsConnectionError
    from kafka.errors import KafkaError

    from services.reprocess.coordinator import Coordinator, RunConflict
    from services.reprocess.settings import ReprocessSettings
    from services.reprocess.subset import Subset

    state = state_of(ctx)
    settings = ReprocessSettings()
    es_settings = state.elasticsearch()
    es = Elasticsearch(**es_settings.client_kwargs())
    coordinator = Coordinator(settings, state.kafka(), es_settings, es)
    try:
        if abandon:
            open_run = coordinator.open_run()
            if open_run is None:
                out.print(f"no unfinished run for alias {settings.alias}")
                return
            coordinator.abandon(open_run)
            out.print(
                f"run {open_run.run_id} abandoned; {open_run.new_index} stays until newswire index prune"
            )
            return
        subset = Subset(
            source=source,
            since=_moment(since, "--since"),
            until=_moment(until, "--until"),
            query=query,
            stale=stale,
        )
        chosen_workers = settings.workers if workers is None else workers
        run, resumed = coordinator.plan(subset, rate or settings.rate, chosen_workers)
        old = ", ".join(run.old_indexes) or "(no index: rebuilding)"
        ids = f" ({len(run.subset.ids)} documents)" if run.subset.ids is not None else ""
        err.print(
            f"{'resuming' if resumed else 'run'} {run.run_id}: {old} → {run.new_index}; "
            f"{run.subset.describe()}{ids}; archive {coordinator.archive_size(run)} records; "
            f"{run.rate:g} articles/s; {chosen_workers} enrich worker(s)"
        )
        if not (yes or resumed):
            typer.confirm("Start?", abort=True)
        run = coordinator.prepare(run, say=err.print)
        processes = coordinator.start_workers(run, chosen_workers)
        try:
            run = _follow(coordinator, run, processes)
        except KeyboardInterrupt:
            err.print(f"stopped; run the same command again to resume run {run.run_id}")
            raise typer.Exit(130) from None
        except WorkerFailed as exc:
            raise fail(f"{exc}; run the same command again to resume run {run.run_id}", code=1) from exc
        finally:
            coordinator.stop_workers(processes)
        coordinator.clean_up(run)
    except KeyboardInterrupt:
        err.print("stopped before the workers started; run the same command again to resume")
        raise typer.Exit(130) from None
    except RunConflict as exc:
        raise fail(str(exc), code=1) from exc
    except (EsConnectionError, KafkaError, ApiError, ValueError) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from exc
    finally:
        es.close()
    out.print(
        f"alias {run.alias} → {run.new_index} (one atomic swap); "
        f"{', '.join(run.old_indexes) or 'no old index'} kept until newswire index prune"
    )


def _follow(coordinator: Coordinator, run: Run, processes: list[subprocess.Popen[bytes]]) -> Run:
    """Show progress until both groups caught up, then swap; the swapped run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from services.reprocess.progress import Pace, format_eta

    pace = Pace()
    reach_at = coordinator.live_writes_reach_new_index_at(run)
    archive_targets: dict[int, int] | None = None
    topic_targets: dict[int, int] | None = None
    last_line = 0.0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[eta]}"),
        console=err,
        disable=not err.is_terminal,
    )
    with progress:
        enrich_task = progress.add_task("re-enrich", total=None, eta="")
        index_task = progress.add_task("index    ", total=None, eta="")
        while True:
            for process in processes:
                if process.poll() is not None:
                    raise WorkerFailed(
                        f"a reprocess worker (pid {process.pid}) exited with {process.returncode}"
                    )
            snapshot = coordinator.snapshot(run)
            now = time.monotonic()
            pace.observe(now, snapshot.enrich.done)
            per_second = pace.per_second
            eta = format_eta(pace.eta_s(snapshot.enrich.remaining))
            rate_text = f"{per_second:.0f}/s " if per_second is not None else ""
            progress.update(
                enrich_task, total=snapshot.enrich.total, completed=snapshot.enrich.done, eta=rate_text + eta
            )
            progress.update(index_task, total=snapshot.index.total, completed=snapshot.index.done)
            if not err.is_terminal and now - last_line >= 5:
                err.print(
                    f"re-enrich {snapshot.enrich.done}/{snapshot.enrich.total} {rate_text}{eta}; "
                    f"index {snapshot.index.done}/{snapshot.index.total}"
                )
                last_line = now
            if archive_targets is None:
                if datetime.now(UTC) >= reach_at:
                    archive_targets = coordinator.end_offsets(run.archive_topic)
            elif topic_targets is None:
                if coordinator.enrich_caught_up(run, archive_targets):
                    topic_targets = coordinator.end_offsets(run.topic)
                    continue
            elif coordinator.index_caught_up(run, topic_targets):
                break
            time.sleep(1.0)
    err.print("caught up; swapping the alias")
    return coordinator.swap(run)
