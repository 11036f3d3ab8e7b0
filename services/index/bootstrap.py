"""Getting Elasticsearch ready for the index service: wait for it, install the template, create the index."""

from __future__ import annotations

import logging
import time
from typing import Any

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    TransportError,
)

from schemas.search_index import ALIAS, INDEX, TEMPLATE_NAME, index_template
from services.index.mapping_changes import MappingComparison, compare_index
from services.runtime.diagnose import explain_es_refusal
from services.runtime.settings import ElasticsearchSettings, index_replicas

log = logging.getLogger(__name__)
#: The alias a reprocess run puts on the index version it builds (the index service's
#: NEWSWIRE_INDEX_NEXT_ALIAS): while it exists, a mapping conflict does not stop the live service.
NEXT_ALIAS = f"{ALIAS}-next"


def make_client(settings: ElasticsearchSettings) -> Elasticsearch:
    return Elasticsearch(**settings.client_kwargs())


def wait_for_elasticsearch(settings: ElasticsearchSettings, es: Elasticsearch | None = None) -> None:
    """Block until the cluster answers and is at least yellow, or raise after ``startup_timeout_s``.

    Bad credentials are not something waiting fixes: they raise at once.
    """
    client = es or make_client(settings)
    deadline = time.monotonic() + settings.startup_timeout_s
    delay = 0.5
    try:
        while True:
            try:
                client.cluster.health(wait_for_status="yellow", timeout="5s")
                return
            except (AuthenticationException, AuthorizationException) as exc:
                line = explain_es_refusal(settings.url, settings.ca_certs, exc)
                raise PermissionError(
                    line or f"Elasticsearch at {settings.url} refused our credentials: {exc}"
                ) from exc
            except (TransportError, ApiError) as exc:
                untrusted = explain_es_refusal(settings.url, settings.ca_certs, exc)
                if untrusted is not None:  # a certificate waiting does not fix
                    raise PermissionError(untrusted) from exc
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"Elasticsearch at {settings.url} was not ready within "
                        f"{settings.startup_timeout_s:.0f}s: {exc}"
                    ) from exc
                log.info("waiting for Elasticsearch", extra={"url": settings.url, "error": str(exc)})
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
    finally:
        if es is None:
            client.close()


def ensure_index_when_ready(settings: ElasticsearchSettings, es: Elasticsearch) -> None:
    """Wait for the cluster, then :func:`ensure_index`; start over if the cluster goes away meanwhile.

    A node restarting right between the health check and the template call must delay the
    service's start, not crash it.
    """
    deadline = time.monotonic() + settings.startup_timeout_s
    while True:
        wait_for_elasticsearch(settings, es)
        try:
            ensure_index(es)
            return
        except TransportError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"Elasticsearch at {settings.url} kept failing: {exc}") from exc
            log.info("Elasticsearch went away during bootstrap; waiting again", extra={"error": str(exc)})
            time.sleep(1.0)


def articles_template() -> dict[str, Any]:
    """The index template as it is installed: :func:`schemas.search_index.index_template` with the
    configured replicas (``NEWSWIRE_INDEX_NUMBER_OF_REPLICAS``), which depend on the cluster."""
    template = index_template()
    template["template"]["settings"]["number_of_replicas"] = index_replicas()
    return template


def align_replicas(es: Elasticsearch, index: str, replicas: int) -> None:
    """Give a live index the configured replicas (a dynamic setting: the shards are copied, or
    dropped, in the background), e.g. an index created on a single node, now on a cluster."""
    current = es.indices.get_settings(index=index, name="index.number_of_replicas")
    value = current.get(index, {}).get("settings", {}).get("index", {}).get("number_of_replicas")
    if value is not None and int(value) != replicas:
        es.indices.put_settings(index=index, settings={"index": {"number_of_replicas": replicas}})
        log.warning(
            "changed the index's replicas", extra={"index": index, "replicas": f"{value} -> {replicas}"}
        )


class MappingConflict(RuntimeError):
    """The template changed a field (or analysis) in a way the live index cannot take in place."""


def ensure_index(es: Elasticsearch, next_alias: str = NEXT_ALIAS) -> None:
    """Install the index template, create the index behind the alias if there is none, and bring the
    live index's mapping up to date.

    The template is always put so that a changed template rolls out on deploy (it applies to
    indices created afterwards). Safe to run from several instances at once. A template change
    the live index cannot take in place raises :class:`MappingConflict` (see
    :func:`update_live_mapping`).
    """
    try:
        es.indices.put_index_template(name=TEMPLATE_NAME, body=articles_template())
    except BadRequestError as exc:
        raise RuntimeError(
            f"Elasticsearch rejected index template {TEMPLATE_NAME!r}; its analyzers need the newswire "
            f"analysis plugin (GET _cat/plugins): {exc}"
        ) from exc
    # The alias may have moved to a newer version (newswire reprocess); that one is live then.
    live = sorted(es.indices.get_alias(name=ALIAS)) if es.indices.exists_alias(name=ALIAS) else []
    if not live and es.indices.exists(index=INDEX):
        live = [INDEX]
    replicas = index_replicas()
    for index in live:
        update_live_mapping(es, index, next_alias)
        align_replicas(es, index, replicas)
    if not live:
        try:
            es.indices.create(index=INDEX)
            log.info("created index", extra={"index": INDEX, "alias": ALIAS})
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
            log.info("index created concurrently", extra={"index": INDEX})
    # An index made before the template existed has no alias; a moved alias (after a reindex into
    # a newer index) is left where it is.
    if not es.indices.exists_alias(name=ALIAS):
        es.indices.put_alias(index=INDEX, name=ALIAS)
        log.info("added alias", extra={"index": INDEX, "alias": ALIAS})


def update_live_mapping(es: Elasticsearch, index: str, next_alias: str = NEXT_ALIAS) -> MappingComparison:
    """Put the template's new fields on ``index``; refuse a change it cannot take in place.

    New fields are added (``PUT _mapping``) so that the strict mapping does not reject documents
    carrying them. A changed field type, analyzer or other fixed parameter, or changed analysis
    settings, raise :class:`MappingConflict` with what changed and the way out (``newswire
    reprocess``): the service refuses to start rather than fail on every bulk request. While a
    reprocess is building the next version (``next_alias`` exists), the service runs on with the
    old mapping (new fields added), so live articles keep reaching both indexes until the swap.
    """
    template = index_template()["template"]
    live_mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    live_settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
    comparison = compare_index(template, live_mapping, live_settings)
    if comparison.additions:
        es.indices.put_mapping(index=index, body=comparison.additions)
        log.info(
            "added new fields to the live index's mapping", extra={"index": index, "fields": comparison.added}
        )
    if comparison.in_place:
        if not comparison.added:
            log.info("live index mapping is up to date", extra={"index": index, "alias": ALIAS})
        return comparison
    message = (
        f"index template {TEMPLATE_NAME!r} changed what index {index!r} (behind alias {ALIAS!r}) cannot "
        f"change in place: {'; '.join(comparison.conflicts)}. Build a new index version from the template "
        f"and move the alias to it with `newswire reprocess` (README: Mapping changes at start-up)"
    )
    if next_alias and es.indices.exists_alias(name=next_alias):
        target = ", ".join(sorted(es.indices.get_alias(name=next_alias)))
        log.error(
            "running on with the old mapping while newswire reprocess builds the next index version",
            extra={"index": index, "next_index": target, "conflicts": list(comparison.conflicts)},
        )
        return comparison
    raise MappingConflict(message)
