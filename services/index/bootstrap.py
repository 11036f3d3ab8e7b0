"""Getting Elasticsearch ready for the index service: wait for it, install the template, create the index."""

from __future__ import annotations

import logging
import time

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    TransportError,
)

from schemas.search_index import ALIAS, INDEX, TEMPLATE_NAME, index_template
from services.runtime.settings import ElasticsearchSettings

log = logging.getLogger(__name__)


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
                raise PermissionError(
                    f"Elasticsearch at {settings.url} refused our credentials: {exc}"
                ) from exc
            except (TransportError, ApiError) as exc:
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


def ensure_index(es: Elasticsearch) -> None:
    """Install the index template and create the index behind the alias if it is missing.

    The template is always put so that a changed template rolls out on deploy (it applies to
    indices created afterwards). Safe to run from several instances at once.
    """
    try:
        es.indices.put_index_template(name=TEMPLATE_NAME, body=index_template())
    except BadRequestError as exc:
        raise RuntimeError(
            f"Elasticsearch rejected index template {TEMPLATE_NAME!r}; its analyzers need the newswire "
            f"analysis plugin (GET _cat/plugins): {exc}"
        ) from exc
    if es.indices.exists(index=INDEX):
        # New fields of the same schema major are additive: put them on the live index so that a
        # strict mapping does not reject documents carrying them. A changed field type is refused
        # here and needs a new index version (articles-v2) and a reindex.
        es.indices.put_mapping(index=INDEX, body=index_template()["template"]["mappings"])
        log.info("index exists; mapping brought up to date", extra={"index": INDEX, "alias": ALIAS})
    else:
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
