"""Consumers that survive a record whose header name is not UTF-8.

Kafka's protocol says a header name is a UTF-8 string, but brokers do not check it, and both of
our Python clients decode it strictly while parsing a fetched batch: kafka-python raises
``CorruptRecordError`` from ``poll()`` (and then hangs in the next one), aiokafka raises
``UnicodeDecodeError`` from ``getmany()``, for that record and every retry after it. One such
record stops its partition for good (the Java client decodes leniently and reads on).

:func:`tolerate_non_utf8_header_names` makes both clients decode header names with ``replace``
(invalid bytes become U+FFFD, as in Java): the record is delivered, and the service dead-letters
or reads it like any other record. (``surrogateescape`` would keep the bytes, but kafka-python
encodes the names again to size them, which surrogates fail.) aiokafka's C record parser cannot
be changed, so aiokafka consumers parse fetched batches with aiokafka's own pure-Python parser.

The patch rewrites one call in the clients' own source (the header name's ``.decode("utf-8")``);
if a client version no longer has it, nothing is patched and a warning says so.
"""

from __future__ import annotations

import inspect
import logging
import textwrap
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

_STRICT = 'h_key = buffer[pos : pos + h_key_len].decode("utf-8")'
_STRICT_COMPACT = 'h_key = buffer[pos: pos + h_key_len].decode("utf-8")'
_LENIENT = 'h_key = buffer[pos : pos + h_key_len].decode("utf-8", "replace")'
_PATCHED = "_newswire_lenient_header_names"


def tolerate_non_utf8_header_names() -> bool:
    """Patch kafka-python's and aiokafka's record parsers (idempotent); True if both are patched."""
    return tolerate_in_kafka_python() & tolerate_in_aiokafka()


def tolerate_in_kafka_python() -> bool:
    """kafka-python's part: cheap, and applied to every client built from ``KafkaSettings``."""
    import kafka.record.default_records as kafka_records

    return _patch_read_msg(kafka_records, kafka_records.DefaultRecordBatch)


def tolerate_in_aiokafka() -> bool:
    """aiokafka's part (the enrich service's faust consumer)."""
    import aiokafka.consumer.fetcher as fetcher
    import aiokafka.record.default_records as aio_records
    import aiokafka.record.memory_records as aio_memory

    python_batch = aio_records._DefaultRecordBatchPy
    if not _patch_read_msg(aio_records, python_batch):
        return False
    # The pure-Python batch reader, and the fetcher reading batches through it.
    aio_memory.DefaultRecordBatch = python_batch
    fetcher.MemoryRecords = aio_memory._MemoryRecordsPy
    return True


def _patch_read_msg(module: ModuleType, batch_class: Any) -> bool:
    method = batch_class.__dict__.get("_read_msg")
    if method is None:
        log.warning("record parser not found, header names stay strict", extra={"client": module.__name__})
        return False
    if getattr(method, _PATCHED, False):
        return True
    source = textwrap.dedent(inspect.getsource(method))
    lenient = source.replace(_STRICT, _LENIENT).replace(_STRICT_COMPACT, _LENIENT)
    if lenient == source:
        log.warning("record parser changed, header names stay strict", extra={"client": module.__name__})
        return False
    namespace: dict[str, Any] = {}
    code = compile(lenient, inspect.getsourcefile(method) or module.__name__, "exec")
    exec(code, vars(module), namespace)
    replacement = namespace["_read_msg"]
    setattr(replacement, _PATCHED, True)
    batch_class._read_msg = replacement
    return True
