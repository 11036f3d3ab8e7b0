"""One reason vocabulary: the enum, the dead-letter JSON, the JSON Schema and README agree."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from schemas.dead_letter import (
    FAILURE_REASON_MEANINGS,
    DeadLetter,
    FailureReason,
    FailureStage,
    SourceRecord,
    with_failure_reasons,
)
from schemas.envelope import new_envelope_fields

ROOT = Path(__file__).resolve().parents[3]


def letter(reason: object) -> DeadLetter:
    return DeadLetter(
        **new_envelope_fields("test"),
        stage=FailureStage.INDEX,
        reason=reason,
        detail="d",
        source_record=SourceRecord(topic="t", partition=0, offset=0),
        payload_b64="",
        payload_size=0,
    )


def test_every_reason_has_a_one_line_meaning() -> None:
    assert set(FAILURE_REASON_MEANINGS) == set(FailureReason)
    for meaning in FAILURE_REASON_MEANINGS.values():
        assert meaning.strip() and "\n" not in meaning


def test_the_operator_skip_reason_exists_for_the_cli() -> None:
    assert FailureReason.SKIPPED_BY_OPERATOR == "skipped_by_operator"


def test_a_dead_letter_carries_the_code_as_a_plain_string_and_reads_it_back() -> None:
    encoded = orjson.dumps(letter(FailureReason.ES_REJECTED).model_dump(mode="json"))
    assert orjson.loads(encoded)["reason"] == "es_rejected"
    assert DeadLetter.model_validate_json(encoded).reason is FailureReason.ES_REJECTED


def test_a_reason_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(ValidationError):
        letter("something_new")


def test_the_json_schema_lists_every_reason() -> None:
    schema = orjson.loads((ROOT / "schemas/json/articles.dlq.schema.json").read_bytes())
    assert schema["$defs"]["FailureReason"]["enum"] == [reason.value for reason in FailureReason]


def test_readme_shows_the_current_vocabulary() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == with_failure_reasons(readme), "run: python3 -m schemas.readme"
