"""The relevance harness's metrics, worked by hand."""

from __future__ import annotations

import math

import pytest

from bench.quality.relevance import (
    SYSTEMS,
    VARIANTS,
    average_precision,
    bucket_of,
    is_held_out,
    ndcg_at,
    precision_at,
    searchable,
    system_query,
)


def test_ndcg_uses_grades_as_gains_and_the_ideal_order() -> None:
    grades = {"a": 2, "b": 1}

    assert ndcg_at(["a", "b", "x"], grades) == pytest.approx(1.0)
    # b first, a third: (1/log2(2) + 2/log2(4)) / (2/log2(2) + 1/log2(3))
    expected = (1 + 2 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at(["b", "x", "a"], grades) == pytest.approx(expected)
    assert ndcg_at(["x", "y"], grades) == 0.0
    assert ndcg_at(["a"], {}) == 0.0


def test_precision_and_average_precision() -> None:
    grades = {"a": 1, "b": 2, "c": 1}

    assert precision_at(["a", "x", "b"], grades) == pytest.approx(0.2)
    # Found at ranks 1 and 3 of three relevant: (1/1 + 2/3) / 3
    assert average_precision(["a", "x", "b"], grades) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision([], grades) == 0.0


def test_length_buckets_count_words() -> None:
    assert bucket_of("Yukos") == "1-3"
    assert bucket_of('"digital music" Apple') == "1-3"
    assert bucket_of("electron microscopy of lung or bronchi.") == "4-8"
    assert bucket_of(" ".join(["word"] * 9)) == "9+"


def test_held_out_queries_are_a_fixed_fifth_or_so() -> None:
    ids = [str(n) for n in range(1, 201)]
    held = [q for q in ids if is_held_out("cisi", q)]

    assert held == [q for q in ids if is_held_out("cisi", q)]  # the same every run
    assert 20 <= len(held) <= 60


def test_documents_get_the_lead_the_index_service_writes() -> None:
    document = searchable({"id": "x", "title": "T", "body": "First  paragraph here.\n\nSecond one."})

    assert document["lead"] == "First paragraph here."


def test_every_variant_builds_a_query() -> None:
    for name in VARIANTS:
        assert system_query(SYSTEMS[name], "Shanghai Cooperation Organization")
