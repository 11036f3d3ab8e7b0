"""The peer: the same job done by Quix Streams' Elasticsearch sink, for comparison with the index service.

``python -m bench.speed.peer`` reads ``articles.enriched``, turns each event into the same document
the index service writes (validated with the same model, shaped by the same ``document_from``), and
lets ``quixstreams.sinks.community.elasticsearch.ElasticsearchSink`` bulk it into an index created
beforehand with the same settings and mappings. Quix's own defaults are kept (checkpoint every 5 s,
bulk chunks of 500), except the bulk size, which the benchmark passes like the index service's.
Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from elasticsearch import Elasticsearch
from quixstreams import Application
from quixstreams.sinks.community.elasticsearch import ElasticsearchSink

from schemas.envelope import ArticleEnriched
from schemas.search_index import document_from
from schemas.topics import TOPICS


class PeerSink(ElasticsearchSink):
    """Quix's sink, except for its connection check.

    ``setup()`` calls ``GET /`` (``Elasticsearch.info()``), which this Elasticsearch build answers
    with 405; cluster health proves the connection just as well. Writing is Quix's own code.
    """

    def setup(self) -> None:
        self._client = Elasticsearch(**self._client_kwargs)
        self._client.cluster.health()
        self._create_index()


def to_document(event: dict[str, Any]) -> dict[str, Any]:
    parsed = ArticleEnriched.model_validate(event)
    return document_from(parsed.article, parsed.trace_id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.speed.peer", description=__doc__)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--es-url", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = Application(
        broker_address=args.bootstrap_servers,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        auto_create_topics=False,
        use_changelog_topics=False,
    )
    topic = app.topic(TOPICS.enriched, key_deserializer="str", value_deserializer="json")
    sink = PeerSink(url=args.es_url, index=args.index, batch_size=args.batch_size)
    app.dataframe(topic).apply(to_document).sink(sink)
    app.run()


if __name__ == "__main__":
    main()
