"""Turning a rejected message into a DLQ record that keeps the original bytes for replay.

Building a dead letter must never fail, whatever the record carried: everything copied from it
(trace id, key, header names and values, detail) is made valid and cut to a bounded size, and what
was changed is said in the letter's ``detail``. If the letter still cannot be built, a minimal one
(reason, position, payload) is sent instead, so the record is never lost and the service moves on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid

import orjson

from schemas.dead_letter import DeadLetter, FailureReason, FailureStage, SourceRecord
from schemas.envelope import new_envelope_fields
from schemas.topics import TOPICS
from services.runtime.messages import ARTICLE_HEADER, TRACE_HEADER, Emit, Message, Rejected

log = logging.getLogger(__name__)

#: What the envelope accepts as a trace id: printable ASCII without spaces, at most 128 characters.
_USABLE_TRACE_ID = re.compile(r"[\x21-\x7e]{1,128}")
MAX_DETAIL_CHARS = 10_000  # DeadLetter.detail max_length
MAX_ARTICLE_ID_CHARS = 512
MAX_KEY_BYTES = 16 * 1024
MAX_HEADER_NAME_CHARS = 256
MAX_HEADER_VALUE_CHARS = 8 * 1024
MAX_HEADERS = 100
#: The payload kept when a dead letter has to be rebuilt smaller (the broker refused it).
SHRUNK_PAYLOAD_BYTES = 64 * 1024
_MINIMAL = "minimal dead letter"


def usable_trace_id(candidate: str | None) -> str | None:
    """``candidate`` if the envelope accepts it as a trace id, else None."""
    if candidate and _USABLE_TRACE_ID.fullmatch(candidate):
        return candidate
    return None


def dead_letter_record(
    message: Message, rejection: Rejected, stage: FailureStage, producer: str, max_payload_bytes: int
) -> Emit:
    """The ``articles.dlq`` record for ``message``, keyed like the original so replays keep order.

    Never raises on anything the record carries.
    """
    try:
        return _full_letter(message, rejection, stage, producer, max_payload_bytes)
    except Exception as exc:  # a letter that cannot be built must not stop the service
        log.exception(
            "dead letter could not be built in full, sending a minimal one",
            extra={"topic": message.topic, "partition": message.partition, "offset": message.offset},
        )
        return minimal_dead_letter(message, rejection, stage, producer, max_payload_bytes, exc)


def _full_letter(
    message: Message, rejection: Rejected, stage: FailureStage, producer: str, max_payload_bytes: int
) -> Emit:
    notes: list[str] = []
    trace_id = _trace_id(message, rejection, notes)
    article_id = _article_id(rejection.article_id, notes)
    key_text = _key_text(message.key, notes)
    headers, pairs = _source_headers(message, notes)
    payload_b64, size, truncated = DeadLetter.encode_payload(message.value or b"", max(0, max_payload_bytes))
    letter = DeadLetter(
        **new_envelope_fields(producer, trace_id),
        stage=stage,
        reason=FailureReason(rejection.reason),
        detail=_detail(rejection.detail, notes),
        article_id=article_id,
        source_record=SourceRecord(
            topic=_text(message.topic, MAX_HEADER_NAME_CHARS),
            partition=message.partition,
            offset=message.offset,
            key=key_text,
            timestamp_ms=message.timestamp_ms,
            headers=headers,
            header_pairs=pairs,
        ),
        payload_b64=payload_b64,
        payload_size=size,
        payload_truncated=truncated,
    )
    dlq_headers: list[tuple[str, bytes]] = [(TRACE_HEADER, letter.trace_id.encode())]
    if article_id:
        dlq_headers.append((ARTICLE_HEADER, article_id.encode()))
    return Emit(TOPICS.dlq, _dlq_key(article_id, message.key), _encode(letter), tuple(dlq_headers))


def minimal_dead_letter(
    message: Message,
    rejection: Rejected,
    stage: FailureStage,
    producer: str,
    max_payload_bytes: int,
    error: BaseException | str = "the broker refused the full one as too large",
) -> Emit:
    """A dead letter made only of values that are valid by construction: reason, position, payload."""
    try:
        reason = FailureReason(rejection.reason)
    except ValueError:
        reason = FailureReason.UNHANDLED_ERROR
    cause = error if isinstance(error, str) else f"{type(error).__name__}: {_text(str(error), 2000)}"
    detail = (
        f"{_MINIMAL}, the full one could not be built or sent ({cause}); "
        f"reason {_text(str(rejection.reason), 100)!r}: {_text(rejection.detail, 5000)}"
    )
    payload_b64, size, truncated = DeadLetter.encode_payload(message.value or b"", max(0, max_payload_bytes))
    letter = DeadLetter(
        **new_envelope_fields(_text(producer, 100) or "unknown"),
        stage=FailureStage(stage),
        reason=reason,
        detail=detail[:MAX_DETAIL_CHARS],
        source_record=SourceRecord(
            topic=_text(message.topic, MAX_HEADER_NAME_CHARS),
            partition=int(message.partition),
            offset=int(message.offset),
        ),
        payload_b64=payload_b64,
        payload_size=size,
        payload_truncated=truncated,
    )
    return Emit(TOPICS.dlq, None, _encode(letter), ((TRACE_HEADER, letter.trace_id.encode()),))


def smaller_dead_letter(message: Message, record: Emit, stage: FailureStage, producer: str) -> Emit | None:
    """A smaller version of the dead letter ``record`` the broker refused as too large, or None.

    First the payload is cut to :data:`SHRUNK_PAYLOAD_BYTES`, then the letter becomes minimal (no
    payload, no headers); None once it is minimal already (nothing left to cut).
    """
    try:
        letter = DeadLetter.model_validate_json(record.value)
    except ValueError:
        letter = None
    if letter is None:
        return minimal_dead_letter(
            message, Rejected(FailureReason.UNHANDLED_ERROR, "unreadable"), stage, producer, 0
        )
    rejection = Rejected(letter.reason, letter.detail, letter.article_id, letter.trace_id)
    if len(letter.payload_b64) > SHRUNK_PAYLOAD_BYTES * 4 // 3 + 4:
        return dead_letter_record(message, rejection, stage, producer, SHRUNK_PAYLOAD_BYTES)
    if not letter.detail.startswith(_MINIMAL):
        return minimal_dead_letter(message, rejection, stage, producer, 0)
    return None


def _encode(letter: DeadLetter) -> bytes:
    return orjson.dumps(letter.model_dump(mode="json", exclude_none=False))


def _trace_id(message: Message, rejection: Rejected, notes: list[str]) -> str:
    for candidate in (rejection.trace_id, message.header(TRACE_HEADER)):
        if usable := usable_trace_id(candidate):
            return usable
    fresh = uuid.uuid4().hex
    unusable = rejection.trace_id or message.header(TRACE_HEADER)
    if unusable:
        notes.append(f"trace id unusable ({_describe(unusable)}), a fresh one was given")
    return fresh


def _article_id(candidate: str | None, notes: list[str]) -> str | None:
    if candidate is None:
        return None
    text = _text(candidate, MAX_ARTICLE_ID_CHARS)
    if text != candidate:
        notes.append(f"article id unusable ({_describe(candidate)}), cut or replaced")
    return text or None


def _key_text(key: bytes | None, notes: list[str]) -> str | None:
    if key is None:
        return None
    kept = key[:MAX_KEY_BYTES]
    text = kept.decode("utf-8", "replace")
    if len(kept) < len(key):
        text += f"…[{len(key) - len(kept)} more bytes]"
        notes.append(f"key of {len(key)} bytes cut to {len(kept)}")
    elif text.encode() != key:
        notes.append("key is not UTF-8, invalid bytes replaced")
    return text


def _dlq_key(article_id: str | None, key: bytes | None) -> bytes | None:
    """The DLQ record's key: the article id, else the original key (a digest of it if it is huge)."""
    if article_id:
        return article_id.encode()
    if key is not None and len(key) > MAX_KEY_BYTES:
        return b"sha256:" + hashlib.sha256(key).hexdigest().encode()
    return key


def _source_headers(
    message: Message, notes: list[str]
) -> tuple[dict[str, str], list[tuple[str, str]] | None]:
    """The record's headers as the letter keeps them: the values the service read by name, and
    every header in record order when a name repeats (so no duplicate is lost silently)."""
    raw_pairs = list(message.header_pairs) or [(name, value) for name, value in message.headers.items()]
    pairs: list[tuple[str, str]] = []
    changed = False
    for name, value in raw_pairs[:MAX_HEADERS]:
        clean_name = _text(name, MAX_HEADER_NAME_CHARS)
        clean_value = _bytes_text(value, MAX_HEADER_VALUE_CHARS)
        changed = changed or clean_name != name or clean_value.encode() != (value or b"")
        pairs.append((clean_name, clean_value))
    if len(raw_pairs) > MAX_HEADERS:
        notes.append(f"{len(raw_pairs)} headers, only the first {MAX_HEADERS} kept")
    if changed:
        notes.append("header names or values not UTF-8 or too long: replaced or cut (marked …)")
    by_name: dict[str, str] = {}
    for clean_name, clean_value in pairs:
        by_name[clean_name] = clean_value  # the last one wins, as in Message.headers
    repeated = len(by_name) < len(pairs)
    if repeated:
        notes.append("some header names repeat: every header is in source_record.header_pairs")
    return by_name, (pairs if repeated else None)


def _detail(detail: str, notes: list[str]) -> str:
    text = _text(detail, MAX_DETAIL_CHARS)
    if notes:
        suffix = " [dead letter: " + "; ".join(notes) + "]"
        text = _text(detail, MAX_DETAIL_CHARS - len(suffix)) + suffix
    return text[:MAX_DETAIL_CHARS]


def _text(value: object, max_chars: int) -> str:
    """``value`` as text that JSON and Kafka accept (valid UTF-8), cut to ``max_chars`` with a marker."""
    text = value if isinstance(value, str) else str(value)
    # Lone surrogates (a header name decoded with surrogateescape, say) are not valid UTF-8.
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if len(text) > max_chars:
        marker = f"…[{len(text) - max_chars} more chars]"
        text = text[: max(0, max_chars - len(marker))] + marker
    return text[:max_chars] if max_chars > 0 else ""


def _bytes_text(value: bytes | None, max_chars: int) -> str:
    return _text((value or b"").decode("utf-8", "replace"), max_chars)


def _describe(value: str) -> str:
    printable = all("\x21" <= char <= "\x7e" for char in value)
    return f"{len(value)} characters" + ("" if printable else ", not all printable ASCII")
