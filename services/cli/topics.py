"""``newswire topics create|list``: the pipeline's Kafka topics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from services.cli.state import fail, out, state_of
from services.runtime.settings import TopicSettings

if TYPE_CHECKING:
    from services.cli.kafka_admin import TopicInfo

app = typer.Typer(help="Create and inspect the pipeline's Kafka topics.", no_args_is_help=True)


def _topics_table(topics: list[TopicInfo]) -> Table:
    table = Table("topic", "partitions", "end offsets", "messages written", box=None, pad_edge=False)
    for topic in topics:
        offsets = " ".join(f"{partition}:{offset}" for partition, offset in topic.end_offsets.items())
        table.add_row(topic.name, str(topic.partitions), offsets, str(topic.messages_written))
    return table


def _topics_json(topics: list[TopicInfo]) -> str:
    return orjson.dumps(
        [
            {
                "topic": topic.name,
                "partitions": topic.partitions,
                "internal": topic.internal,
                "end_offsets": {str(partition): offset for partition, offset in topic.end_offsets.items()},
                "messages_written": topic.messages_written,
            }
            for topic in topics
        ]
    ).decode()


@app.command("create")
def create(
    ctx: typer.Context,
    partitions: Annotated[
        int | None,
        typer.Option(min=1, help="Partitions of each new topic [default: NEWSWIRE_TOPICS_PARTITIONS or 4]."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the topics as JSON.")] = False,
) -> None:
    """Create the four pipeline topics if missing, with their configs (schemas/topics.py).

    Existing topics keep their partitions; configs that differ (e.g. an ``articles.ingested`` from
    before it became the compacted archive) are altered in place and listed.
    """
    from kafka.errors import KafkaError

    from services.cli.kafka_admin import describe_topics, existing_topics
    from services.runtime.kafka import ensure_topic_configs, ensure_topics, pipeline_topics

    topic_settings = TopicSettings(partitions=partitions) if partitions is not None else TopicSettings()
    settings = state_of(ctx).kafka()
    wanted = pipeline_topics(topic_settings)
    try:
        existing_topics(settings)  # fails within seconds when the broker is not there
        migrated = ensure_topic_configs(settings)
        ensure_topics(settings, wanted, replication_factor=topic_settings.replication_factor)
        topics = describe_topics(settings, list(wanted))
    except (KafkaError, OSError) as exc:
        raise fail(f"Kafka is not reachable at {settings.bootstrap_servers}: {exc}") from exc
    if as_json:
        out.print_json(_topics_json(topics))
        return
    out.print(_topics_table(topics))
    for name, changes in migrated.items():
        altered = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in changes.items())
        out.print(f"[yellow]{name}: configs migrated in place:[/] {altered}")
    differing = [t.name for t in topics if t.partitions != topic_settings.partitions]
    if differing:
        out.print(
            "[yellow]already existed with another partition count (left unchanged):[/] "
            + ", ".join(differing)
        )


@app.command("list")
def list_topics(
    ctx: typer.Context,
    internal: Annotated[bool, typer.Option("--internal", help="Also show Kafka's own topics (__*).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the topics as JSON.")] = False,
) -> None:
    """Every topic with its partition count and end offsets."""
    from kafka.errors import KafkaError

    from services.cli.kafka_admin import describe_topics

    settings = state_of(ctx).kafka()
    try:
        topics = [
            t for t in describe_topics(settings) if internal or not (t.internal or t.name.startswith("__"))
        ]
    except (KafkaError, OSError) as exc:
        raise fail(f"Kafka is not reachable at {settings.bootstrap_servers}: {exc}") from exc
    if as_json:
        out.print_json(_topics_json(topics))
    elif topics:
        out.print(_topics_table(topics))
    else:
        out.print("no topics yet (create the pipeline's with `newswire topics create`)")
