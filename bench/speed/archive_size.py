"""What the archive (``articles.ingested``) costs on disk, per compression, measured on BBC articles.

Each BBC article goes through the real ingest handler, and its ``articles.ingested`` record is
published twice (two revisions, as a corrected article would be) by the services' producer (gzip)
to a private topic per variant: the archive's configs with a compression type, made to compact at
once. After the broker's log cleaner has compacted it, the partition's size on disk (the broker's
own figure, DescribeLogDirs) is what one revision of every article costs.

Usage: ``python -m bench.speed.archive_size [--copies N]`` against a running stack (``make up``).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from kafka import KafkaAdminClient

from bench.speed.corpus import load_corpus, raw_articles
from schemas.topics import TOPIC_CONFIGS, TOPICS
from services.ingest.handler import IngestHandler
from services.runtime.kafka import ensure_topics, make_producer
from services.runtime.messages import Emitted, Message
from services.runtime.settings import KafkaSettings

#: Broker-side compression of the topic: ``producer`` keeps the producer's (gzip), the others
#: recompress every batch on the broker.
VARIANTS = ("producer", "gzip", "zstd", "lz4", "uncompressed")
PER = 100_000
COMPACTED_WITHIN_S = 300.0


@dataclass(frozen=True)
class Measured:
    compression: str
    articles: int
    before_bytes: int
    after_bytes: int

    @property
    def per_article(self) -> float:
        return self.after_bytes / self.articles


def ingested_records(copies: int) -> Iterator[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """``articles.ingested`` records as ingest writes them, one per article of the corpus × copies."""
    corpus = load_corpus()
    handler = IngestHandler()
    for offset, raw in enumerate(raw_articles(corpus, len(corpus) * copies, tag="archive-size")):
        message = Message(
            TOPICS.raw, 0, offset, None, orjson.dumps(raw), {"content-type": b"application/json"}
        )
        outcome = handler.handle(message)
        assert isinstance(outcome, Emitted), outcome
        (record,) = outcome.records
        assert record.key is not None and record.value is not None
        yield record.key, record.value, list(record.headers)


def log_size(admin: KafkaAdminClient, topic: str) -> int:
    """The topic's bytes on disk over all partitions and log dirs, as the broker reports them."""
    total = 0
    for broker in admin.describe_log_dirs([topic]):
        for log_dir in broker.get("log_dirs") or broker.get("results") or []:
            for entry in log_dir.get("topics") or []:
                if entry.get("name") == topic:
                    total += sum(int(p.get("partition_size") or 0) for p in entry.get("partitions") or [])
    return total


def measure(
    settings: KafkaSettings, compression: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> Measured:
    topic = f"bench-archive-{compression}-{uuid.uuid4().hex[:8]}"
    configs = {
        **TOPIC_CONFIGS[TOPICS.ingested],
        "compression.type": compression,
        # Compact at once: segments roll every second, any superseded record makes them cleanable.
        "segment.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01",
        "min.compaction.lag.ms": "0",
    }
    ensure_topics(settings, {topic: 1}, configs={topic: configs})
    producer = make_producer(settings, "bench-archive-size")
    admin = KafkaAdminClient(**settings.client_config(), client_id="bench-archive-size")
    try:
        for revision in (1, 2):
            for key, value, headers in records:
                # A later revision of the same article: same key, a slightly different record.
                value = value.replace(b'"producer":"ingest"', b'"producer":"ingest%d"' % revision, 1)
                producer.send(topic, key=key, value=value, headers=headers)
            producer.flush()
        time.sleep(1.5)
        producer.send(topic, key=b"roll", value=b"rolls the last segment").get(timeout=30)
        before = log_size(admin, topic)
        deadline = time.monotonic() + COMPACTED_WITHIN_S
        after = before
        while time.monotonic() < deadline:
            time.sleep(5.0)
            after = log_size(admin, topic)
            if after < before * 0.6:
                time.sleep(5.0)  # let the cleaner finish the partition's other segments
                after = log_size(admin, topic)
                break
        admin.delete_topics([topic])
    finally:
        producer.close()
        admin.close()
    return Measured(compression, len(records), before, after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=1, help="copies of the 2,225-article corpus")
    parser.add_argument("--compression", action="append", choices=VARIANTS, help="default: all")
    args = parser.parse_args(argv)
    settings = KafkaSettings()
    records = list(ingested_records(args.copies))
    value_bytes = sum(len(value) for _, value, _ in records)
    print(f"{len(records)} articles, {value_bytes / len(records):,.0f} bytes of JSON per ingested record")
    print(
        "| topic compression.type | before compaction (2 revisions) | after compaction | per article "
        "| per 100,000 articles |"
    )
    print("|---|---:|---:|---:|---:|")
    for compression in args.compression or VARIANTS:
        result = measure(settings, compression, records)
        print(
            f"| {compression} | {result.before_bytes / 2**20:,.1f} MiB"
            f" | {result.after_bytes / 2**20:,.1f} MiB | {result.per_article:,.0f} B"
            f" | {result.per_article * PER / 2**30:,.2f} GiB |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
