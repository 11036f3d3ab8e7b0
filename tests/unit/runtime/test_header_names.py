"""A header name that is not UTF-8 is read (replaced), not a parse error that stops the consumer."""

from __future__ import annotations

import aiokafka.consumer.fetcher as aiokafka_fetcher
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from services.runtime.header_names import tolerate_non_utf8_header_names


class RawName(str):
    """A header name whose encoded form is arbitrary bytes, as another client could write it."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawName:
        name = super().__new__(cls, "x")
        name.raw = raw
        return name

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


def batch_bytes() -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=None, key=None, value=b"v0", headers=[(RawName(b"\xff\xfename"), b"\xff")])
    builder.append(1, timestamp=None, key=None, value=b"v1", headers=[("ok", b"1"), ("ok", b"2")])
    return bytes(builder.build())


def test_kafka_python_reads_the_record_and_the_one_behind_it() -> None:
    assert tolerate_non_utf8_header_names()
    batch = MemoryRecords(batch_bytes()).next_batch()
    records = list(batch)
    assert [r.value for r in records] == [b"v0", b"v1"]
    assert records[0].headers == [("\ufffd\ufffdname", b"\xff")]
    assert records[1].headers == [("ok", b"1"), ("ok", b"2")]


def test_aiokafka_reads_it_too() -> None:
    assert tolerate_non_utf8_header_names()
    batch = aiokafka_fetcher.MemoryRecords(batch_bytes()).next_batch()
    assert batch is not None
    records = list(batch)
    assert [r.value for r in records] == [b"v0", b"v1"]
    assert tuple(records[0].headers) == (("\ufffd\ufffdname", b"\xff"),)


def test_patching_twice_is_harmless() -> None:
    assert tolerate_non_utf8_header_names() and tolerate_non_utf8_header_names()


def test_every_client_built_from_the_shared_settings_gets_the_lenient_parser() -> None:
    from kafka.record.default_records import DefaultRecordBatch

    from services.runtime.settings import KafkaSettings

    KafkaSettings().client_config()
    assert getattr(DefaultRecordBatch._read_msg, "_newswire_lenient_header_names", False)
    assert next(iter(MemoryRecords(batch_bytes()).next_batch())).value == b"v0"
