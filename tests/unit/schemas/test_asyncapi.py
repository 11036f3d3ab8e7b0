"""The AsyncAPI document: up to date with the models, complete, self-consistent, and true to the code."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import yaml
from jsonschema import Draft202012Validator

from schemas import asyncapi
from schemas.dead_letter import DeadLetter, FailureStage, SourceRecord
from schemas.envelope import new_envelope_fields
from schemas.topics import TOPIC_CONFIGS, TOPICS
from services.cli.submissions import CONTENT_TYPE_HEADER, SOURCE_FILE_HEADER
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER
from tests.unit.index.factories import enriched_event


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(asyncapi.ASYNCAPI_PATH.read_text(encoding="utf-8"))
    return loaded


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def validator(doc: dict[str, Any], message: str) -> Draft202012Validator:
    """A validator for the payload of ``message``, its references resolved inside the document."""
    payload = doc["components"]["messages"][message]["payload"]
    return Draft202012Validator({**payload, "components": doc["components"]})


def test_the_document_matches_the_models() -> None:
    assert asyncapi.main(["--check"]) == 0, "run `python -m schemas.asyncapi` and commit the result"


def test_it_is_asyncapi_3_with_a_kafka_server(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert {server["protocol"] for server in doc["servers"].values()} == {"kafka"}


def test_every_topic_is_a_channel_with_messages(doc: dict[str, Any]) -> None:
    addresses = {channel["address"]: channel for channel in doc["channels"].values()}
    assert set(addresses) == set(TOPICS.all())
    for address, channel in addresses.items():
        assert channel["messages"], f"{address} has no messages"
        assert channel["bindings"]["kafka"]["topic"] == address
        assert channel["description"]


def test_the_channels_state_the_topic_configs_the_code_applies(doc: dict[str, Any]) -> None:
    for channel in doc["channels"].values():
        stated = channel["bindings"]["kafka"]["topicConfiguration"]
        configs = TOPIC_CONFIGS[channel["address"]]
        assert stated["cleanup.policy"] == configs["cleanup.policy"].split(",")
        assert str(stated["retention.ms"]) == configs["retention.ms"]


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    found = list(refs(doc))
    assert len(found) > 20
    for ref in found:
        resolve(doc, ref)


def test_operations_use_their_own_channel_messages(doc: dict[str, Any]) -> None:
    assert {op["action"] for op in doc["operations"].values()} == {"send", "receive"}
    for name, operation in doc["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
    received = {resolve(doc, op["channel"]["$ref"])["address"] for op in doc["operations"].values()}
    assert received == set(TOPICS.all())


def test_headers_and_correlation_id_are_the_ones_the_code_writes(doc: dict[str, Any]) -> None:
    assert (asyncapi.TRACE_HEADER, asyncapi.ARTICLE_HEADER) == (TRACE_HEADER, ARTICLE_HEADER)
    assert (asyncapi.CONTENT_TYPE_HEADER, asyncapi.SOURCE_FILE_HEADER) == (
        CONTENT_TYPE_HEADER,
        SOURCE_FILE_HEADER,
    )
    messages = doc["components"]["messages"]
    for name in ("ArticleIngested", "ArticleEnriched"):
        assert set(messages[name]["headers"]["required"]) == {TRACE_HEADER, ARTICLE_HEADER}
    assert CONTENT_TYPE_HEADER in messages["RawArticleJson"]["headers"]["properties"]
    location = resolve(doc, messages["DeadLetter"]["correlationId"]["$ref"])["location"]
    assert location == f"$message.header#/{TRACE_HEADER}"


def test_keyed_topics_declare_the_article_id_key(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    event = enriched_event()
    for name in ("ArticleIngested", "ArticleEnriched"):
        key_schema = messages[name]["bindings"]["kafka"]["key"]
        assert Draft202012Validator(key_schema).is_valid(event.article.id)
        assert not Draft202012Validator(key_schema).is_valid("not-an-article-id")


def test_an_enriched_event_as_the_services_write_it_is_valid(doc: dict[str, Any]) -> None:
    event = orjson.loads(orjson.dumps(enriched_event().model_dump(mode="json")))
    check = validator(doc, "ArticleEnriched")
    assert list(check.iter_errors(event)) == []
    del event["article"]["id"]
    assert not check.is_valid(event), "a schema that accepts an article without id checks nothing"


def test_a_dead_letter_as_the_services_write_it_is_valid(doc: dict[str, Any]) -> None:
    letter = DeadLetter(
        **new_envelope_fields("ingest", uuid.uuid4().hex),
        stage=FailureStage.INGEST,
        reason="invalid_json",
        detail="not valid JSON",
        source_record=SourceRecord(topic=TOPICS.raw, partition=0, offset=7),
        payload_b64=base64.b64encode(b'{"title": ').decode(),
        payload_size=10,
    )
    check = validator(doc, "DeadLetter")
    data = orjson.loads(orjson.dumps(letter.model_dump(mode="json")))
    assert list(check.iter_errors(data)) == []
    assert not check.is_valid({**data, "reason": "Not A Code"})


def test_raw_submissions_are_checked_like_ingest_checks_them(doc: dict[str, Any]) -> None:
    check = validator(doc, "RawArticleJson")
    assert check.is_valid({"title": "A title", "body": "Text."})
    assert not check.is_valid({"titel": "A typo", "body": "Text."}), "unknown fields are rejected"
