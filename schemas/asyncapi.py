"""Writes the AsyncAPI 3.0 document of the pipeline's topics; ``--check`` fails on drift.

Usage: ``python -m schemas.asyncapi [--check]``

The document (``schemas/asyncapi/newswire.asyncapi.yaml``) is the contract for teams outside this
repository: every topic with its key, headers and message schemas, generated from the same pydantic
models the services validate with, so it cannot say something the code does not do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter

from schemas.articles import ArticleId, RawArticle
from schemas.dead_letter import DeadLetter
from schemas.envelope import SCHEMA_MAJOR, ArticleEnriched, ArticleIngested
from schemas.topics import TOPICS, topic_configs
from schemas.watches import AlertEvent

ASYNCAPI_PATH = Path(__file__).parent / "asyncapi" / "newswire.asyncapi.yaml"
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMA_REF = "#/components/schemas/{model}"

# Header names, as the services and the CLI write them (kept literal here so that the contract
# does not import service code; tests/unit/schemas/test_asyncapi.py checks they agree).
TRACE_HEADER = "newswire-trace-id"
ARTICLE_HEADER = "newswire-article-id"
CONTENT_TYPE_HEADER = "content-type"
SOURCE_FILE_HEADER = "newswire-source-file"
#: The partition count the pipeline creates its topics with by default (NEWSWIRE_TOPICS_PARTITIONS).
DEFAULT_PARTITIONS = 4

_ARTICLE_KEY: dict[str, Any] = {
    "type": "string",
    "pattern": TypeAdapter(ArticleId).json_schema()["pattern"],
    "description": "The article id (UTF-8). Every event about one article is in one partition, in order.",
}
_TRACE: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "description": "Correlates every record derived from one submission; ingest keeps the publisher's.",
}
_ARTICLE = {**_ARTICLE_KEY, "description": "The article id, as in the record key."}


def _headers(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def _kafka_message_binding(key: dict[str, Any] | None) -> dict[str, Any]:
    binding: dict[str, Any] = {"bindingVersion": KAFKA_BINDING_VERSION}
    if key is not None:
        binding["key"] = key
    return {"kafka": binding}


#: The topic configs the Kafka channel binding can state (the rest of TOPIC_CONFIGS it has no field for).
_BINDING_TOPIC_CONFIGS: dict[str, Callable[[str], Any]] = {
    "cleanup.policy": lambda value: value.split(","),
    "retention.ms": int,
    "retention.bytes": int,
    "delete.retention.ms": int,
    "max.message.bytes": int,
}


def _channel_binding(topic: str) -> dict[str, Any]:
    configs = topic_configs(topic)
    return {
        "kafka": {
            "topic": topic,
            "partitions": DEFAULT_PARTITIONS,
            "replicas": 1,
            "topicConfiguration": {
                key: convert(configs[key])
                for key, convert in _BINDING_TOPIC_CONFIGS.items()
                if key in configs
            },
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _model_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Each model's JSON Schema with its nested definitions hoisted into ``components.schemas``."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(mode="validation", ref_template=SCHEMA_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return dict(sorted(schemas.items()))


def _message(
    name: str,
    title: str,
    summary: str,
    content_type: str,
    payload: dict[str, Any],
    headers: dict[str, Any],
    key: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "summary": summary,
        "contentType": content_type,
        "headers": headers,
        "payload": payload,
        "correlationId": {"$ref": "#/components/correlationIds/traceId"},
        "bindings": _kafka_message_binding(key),
    }


def document() -> dict[str, Any]:
    """The AsyncAPI document as plain data."""
    envelope_headers = _headers(
        {TRACE_HEADER: _TRACE, ARTICLE_HEADER: _ARTICLE}, [TRACE_HEADER, ARTICLE_HEADER]
    )
    raw_headers = _headers(
        {
            TRACE_HEADER: {
                **_TRACE,
                "description": _TRACE["description"] + " Optional; one is made if absent.",
            },
            "traceparent": {"type": "string", "description": "W3C trace context; its trace id is used."},
            CONTENT_TYPE_HEADER: {
                "type": "string",
                "description": "application/json, text/plain or text/html (with an optional charset); "
                "without it the format is sniffed.",
            },
            SOURCE_FILE_HEADER: {"type": "string", "description": "File the CLI read the article from."},
        },
        [],
    )
    dlq_headers = _headers(
        {TRACE_HEADER: _TRACE, ARTICLE_HEADER: {**_ARTICLE, "description": "Present when the id was known."}},
        [TRACE_HEADER],
    )
    raw_key = {"type": "string", "description": "Any key, or none; ingest does not use it."}
    dlq_key = {
        "type": "string",
        "description": "The article id when known (same partition as the article's events), "
        "else the failed record's own key.",
    }
    alert_key = {
        "type": "string",
        "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*:[0-9a-f]{32}$",
        "description": "<watch id>:<article id>: one watch's alerts about one article share a partition.",
    }
    messages = {
        "RawArticleJson": _message(
            "article.submitted",
            "Structured article",
            "A JSON object describing one article; unknown fields are rejected.",
            "application/json",
            {"$ref": SCHEMA_REF.format(model="RawArticle")},
            raw_headers,
            raw_key,
        ),
        "RawPageText": _message(
            "article.submitted.text",
            "Raw page text",
            "Text copied off a page (headline, breadcrumb, caption, body...); ingest finds the structure.",
            "text/plain",
            {"type": "string", "minLength": 1},
            raw_headers,
            raw_key,
        ),
        "RawPageHtml": _message(
            "article.submitted.html",
            "Page HTML",
            "A page's HTML; ingest extracts the article.",
            "text/html",
            {"type": "string", "minLength": 1},
            raw_headers,
            raw_key,
        ),
        "ArticleIngested": _message(
            ArticleIngested.event_type,
            "Article ingested",
            "A validated, normalized article.",
            "application/json",
            {"$ref": SCHEMA_REF.format(model="ArticleIngested")},
            envelope_headers,
            _ARTICLE_KEY,
        ),
        "ArticleEnriched": _message(
            ArticleEnriched.event_type,
            "Article enriched",
            "The article with language, entities, places, quotes, keywords and its enrichers' lineage.",
            "application/json",
            {"$ref": SCHEMA_REF.format(model="ArticleEnriched")},
            envelope_headers,
            _ARTICLE_KEY,
        ),
        "DeadLetter": _message(
            DeadLetter.event_type,
            "Dead letter",
            "A record a stage could not process: the stage, a stable reason code, a detail for humans, "
            "where it was read from, and its original bytes (base64) for replay.",
            "application/json",
            {"$ref": SCHEMA_REF.format(model="DeadLetter")},
            dlq_headers,
            dlq_key,
        ),
        "AlertEvent": _message(
            AlertEvent.event_type,
            "Alert",
            "An article matched a watch (a saved search): the watch, the article's id, title, url and "
            "revision, a highlighted snippet and the matching quote, if any.",
            "application/json",
            {"$ref": SCHEMA_REF.format(model="AlertEvent")},
            envelope_headers,
            alert_key,
        ),
    }
    channels = {
        "articlesRaw": {
            "address": TOPICS.raw,
            "title": "Submissions",
            "description": "Where outside publishers send articles: JSON objects, raw page text or HTML. "
            "Records are unkeyed or keyed any way; up to 16 MiB each.",
            "messages": {
                name: {"$ref": f"#/components/messages/{name}"} for name in messages if name.startswith("Raw")
            },
            "bindings": _channel_binding(TOPICS.raw),
        },
        "articlesIngested": {
            "address": TOPICS.ingested,
            "title": "Ingested articles",
            "description": "One event per accepted submission, keyed by article id. The archive: "
            "compacted, it keeps the latest revision of every article forever.",
            "messages": {"ArticleIngested": {"$ref": "#/components/messages/ArticleIngested"}},
            "bindings": _channel_binding(TOPICS.ingested),
        },
        "articlesEnriched": {
            "address": TOPICS.enriched,
            "title": "Enriched articles",
            "description": "One event per ingested article, keyed by article id; what the index stores. "
            "Consume it to build your own views of the archive.",
            "messages": {"ArticleEnriched": {"$ref": "#/components/messages/ArticleEnriched"}},
            "bindings": _channel_binding(TOPICS.enriched),
        },
        "articlesDlq": {
            "address": TOPICS.dlq,
            "title": "Dead letters",
            "description": "Records any stage quarantined; `newswire trace` and `newswire status` read it.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": _channel_binding(TOPICS.dlq),
        },
        "articlesAlerts": {
            "address": TOPICS.alerts,
            "title": "Alerts",
            "description": "One event per (watch, article) the alert service matched, once (a revision "
            "alerts again only for a watch that asks for revisions); the same JSON the watch's webhook gets.",
            "messages": {"AlertEvent": {"$ref": "#/components/messages/AlertEvent"}},
            "bindings": _channel_binding(TOPICS.alerts),
        },
    }

    def operation(action: str, channel: str, names: list[str], summary: str) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names],
        }

    operations = {
        "receiveSubmissions": operation(
            "receive",
            "articlesRaw",
            ["RawArticleJson", "RawPageText", "RawPageHtml"],
            "ingest reads submissions.",
        ),
        "sendIngested": operation(
            "send", "articlesIngested", ["ArticleIngested"], "ingest writes accepted articles."
        ),
        "receiveIngested": operation(
            "receive", "articlesIngested", ["ArticleIngested"], "enrich reads them."
        ),
        "sendEnriched": operation(
            "send", "articlesEnriched", ["ArticleEnriched"], "enrich writes enriched articles."
        ),
        "receiveEnriched": operation(
            "receive", "articlesEnriched", ["ArticleEnriched"], "index reads and stores them."
        ),
        "sendDeadLetters": operation("send", "articlesDlq", ["DeadLetter"], "every stage dead-letters here."),
        "sendAlerts": operation(
            "send", "articlesAlerts", ["AlertEvent"], "alert writes the matches index stored."
        ),
        "receiveAlerts": operation(
            "receive", "articlesAlerts", ["AlertEvent"], "your notifiers read them (webhooks get them too)."
        ),
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "newswire pipeline topics",
            "version": f"{SCHEMA_MAJOR}.0.0",
            "description": "The Kafka topics of the newswire pipeline: publish, ingest, enrich, index. "
            "Events carry `schema_version` `<major>.<minor>`: consumers accept any minor of their major "
            "and dead-letter another major. Generated by `python -m schemas.asyncapi` from the pydantic "
            "models in `schemas/`; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The native stack of `make up` (docker compose: localhost:9094).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _model_schemas([RawArticle, ArticleIngested, ArticleEnriched, DeadLetter, AlertEvent]),
            "messages": messages,
            "correlationIds": {
                "traceId": {
                    "description": "The trace id, end to end: `newswire trace <trace id>` follows it.",
                    "location": f"$message.header#/{TRACE_HEADER}",
                }
            },
        },
    }


def render() -> str:
    header = "# Generated by `python -m schemas.asyncapi` from the models in schemas/: do not edit.\n"
    return header + yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        current = ASYNCAPI_PATH.read_text(encoding="utf-8") if ASYNCAPI_PATH.exists() else ""
        if current != render():
            sys.stderr.write(f"{ASYNCAPI_PATH} is stale; run python -m schemas.asyncapi\n")
            return 1
        return 0
    ASYNCAPI_PATH.parent.mkdir(exist_ok=True)
    ASYNCAPI_PATH.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
