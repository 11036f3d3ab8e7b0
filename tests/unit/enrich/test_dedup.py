"""Near-duplicate detection: signatures, bands, and which article a copy points at."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.enrich.dedup import (
    BANDS,
    DEFAULT_THRESHOLD,
    PERMUTATIONS,
    NearDuplicateIndex,
    Seen,
    bands,
    decode_signature,
    encode_signature,
    is_near_duplicate,
    shingles,
    signature,
    similarity,
)

STORY = [
    "The central bank raised its main interest rate by a quarter of a point on Thursday.",
    "It was the third increase this year and took the rate to its highest level since 2008.",
    "The governor said inflation was still well above the target and that further rises were possible.",
    "Markets had expected the move, and the currency barely changed after the announcement.",
    "Economists warned that households with variable mortgages would feel the squeeze within weeks.",
    "The bank's next meeting is due in six weeks, when new forecasts for growth will be published.",
]
OTHER_STORY = [
    "The home side scored twice in the final ten minutes to win the derby in front of a record crowd.",
    "Their coach praised the substitutes, who changed the game after a slow first half.",
    "The visitors had led through an early penalty but could not hold on in the closing stages.",
    "The result lifts the winners into third place, two points behind the leaders.",
]
T0 = datetime(2024, 7, 3, 10, 0, tzinfo=UTC)


def body(sentences: list[str]) -> str:
    return " ".join(sentences)


def test_shingles_are_five_word_runs_of_lowercased_words() -> None:
    assert shingles("One two, three FOUR five six!") == {"one two three four five", "two three four five six"}
    assert shingles("Too short") == {"too short"}
    assert shingles(" — ... ") == set()


def test_signature_is_deterministic_and_128_values() -> None:
    first, again = signature(body(STORY)), signature(body(STORY))
    assert len(first) == PERMUTATIONS
    assert np.array_equal(first, again)
    assert len(signature("...")) == 0


def test_similarity_tracks_shared_text() -> None:
    original = signature(body(STORY))
    one_dropped = signature(body(STORY[:2] + STORY[3:]))
    reordered = signature(body([STORY[3], STORY[4], STORY[5], STORY[0], STORY[1], STORY[2]]))
    unrelated = signature(body(OTHER_STORY))
    assert similarity(original, original) == 1.0
    assert similarity(original, one_dropped) >= DEFAULT_THRESHOLD
    assert similarity(original, reordered) >= DEFAULT_THRESHOLD
    assert similarity(original, unrelated) < 0.1
    assert is_near_duplicate(original, one_dropped)
    assert not is_near_duplicate(original, unrelated)
    assert similarity(original, signature("")) == 0.0


def test_bands_cut_the_signature_into_keys_that_copies_share() -> None:
    original = bands(signature(body(STORY)))
    copy = bands(signature(body(STORY[:2] + STORY[3:])))
    unrelated = bands(signature(body(OTHER_STORY)))
    assert len(original) == BANDS == len(set(original))
    assert set(original) & set(copy)
    assert not set(original) & set(unrelated)
    assert bands(signature("")) == []


def test_signature_survives_encoding() -> None:
    sig = signature(body(STORY))
    assert np.array_equal(decode_signature(encode_signature(sig)), sig)
    seen = Seen("a" * 32, T0, "c" * 64, sig, "b" * 32, T0 - timedelta(hours=1))
    back = Seen.from_bytes("a" * 32, seen.to_bytes())
    assert (back.root, back.root_ingested_at, back.ingested_at, back.content_hash) == (
        seen.root,
        seen.root_ingested_at,
        T0,
        "c" * 64,
    )
    assert np.array_equal(back.signature, sig)


def article_id(n: int) -> str:
    return f"{n:032x}"


class Replica:
    """One worker's view: the replicated signature table and the index built on it."""

    def __init__(self) -> None:
        self.signatures: dict[str, bytes] = {}
        self.index = NearDuplicateIndex(self.signatures)

    def check(self, n: int, text: str, minutes: int = 0, content_hash: str | None = None) -> str | None:
        return self.index.check(
            article_id(n), T0 + timedelta(minutes=minutes), content_hash or f"{n:064x}", text
        )

    def learn_from(self, other: Replica) -> None:
        """Apply the other replica's writes as the changelog would deliver them."""
        for key, value in other.signatures.items():
            self.signatures[key] = value
            self.index.remember(key, value)


def test_first_article_is_original_and_copies_point_at_it() -> None:
    replica = Replica()
    assert replica.check(1, body(STORY), minutes=0) is None
    assert replica.check(2, body(OTHER_STORY), minutes=1) is None
    assert replica.check(3, body(STORY[1:]), minutes=2) == article_id(1)
    assert replica.check(4, body(STORY[:4] + STORY[5:]), minutes=3) == article_id(1)


def test_a_copy_of_a_copy_points_at_the_first_article() -> None:
    replica = Replica()
    replica.check(1, body(STORY))
    drifted = [*STORY[1:], "A spokesperson for the bank declined to comment further on the decision."]
    assert replica.check(2, body(drifted), minutes=1) == article_id(1)
    # Similar to the second copy only, yet it belongs to the group the first article started.
    further = [*drifted[1:], "Analysts will watch the wage figures due next month for further clues."]
    assert similarity(signature(body(further)), signature(body(STORY))) < DEFAULT_THRESHOLD
    assert replica.check(3, body(further), minutes=2) == article_id(1)


def test_identical_content_hash_under_another_id_is_a_duplicate_even_when_too_short_to_compare() -> None:
    replica = Replica()
    assert replica.check(1, "Brief.", content_hash="f" * 64) is None
    assert replica.check(2, "Brief.", minutes=1, content_hash="f" * 64) == article_id(1)


def test_replaying_an_article_gives_the_same_answer_and_never_itself() -> None:
    replica = Replica()
    assert replica.check(1, body(STORY)) is None
    assert replica.check(2, body(STORY[1:]), minutes=1) == article_id(1)
    assert replica.check(1, body(STORY)) is None
    assert replica.check(2, body(STORY[1:]), minutes=1) == article_id(1)


def test_another_workers_articles_are_found_once_learned_from_the_changelog() -> None:
    first, second = Replica(), Replica()
    first.check(1, body(STORY))
    assert second.check(2, body(STORY[1:]), minutes=1) is None  # not learned yet
    second.learn_from(first)
    assert second.check(3, body(STORY[:5]), minutes=2) == article_id(1)


def test_racing_workers_agree_on_the_earliest_then_smallest_id_whatever_the_order_learned() -> None:
    # Two workers check copies at the same moment: neither sees the other, both become roots.
    left, right = Replica(), Replica()
    assert left.check(5, body(STORY), minutes=0) is None
    assert right.check(3, body(STORY[1:]), minutes=0) is None
    # Each learns the other's write later, in its own order; a later copy resolves the same way on both:
    # same ingested_at, so the smaller id is the first.
    left.learn_from(right)
    right.learn_from(left)
    assert left.check(9, body(STORY[:5]), minutes=5) == article_id(3)
    assert right.check(9, body(STORY[:5]), minutes=5) == article_id(3)


def test_an_article_ingested_before_everything_it_matches_is_the_original() -> None:
    replica = Replica()
    replica.check(2, body(STORY), minutes=5)
    assert replica.check(7, body(STORY[1:]), minutes=-10) is None
    # The older article now holds the bands: later copies point at it.
    assert replica.check(8, body(STORY[:5]), minutes=20) == article_id(7)


def test_remember_ignores_deletions() -> None:
    replica = Replica()
    replica.index.remember(article_id(1), None)
    assert len(replica.index) == 0


@pytest.mark.parametrize("text", ["", "...", "Short."])
def test_texts_without_enough_words_do_not_match_each_other_by_accident(text: str) -> None:
    replica = Replica()
    replica.check(1, "Completely different words here.")
    assert replica.check(2, text, minutes=1) is None


def _unchunked_signature(text: str) -> np.ndarray:
    """The textbook MinHash over every shingle at once: what the chunked signature must equal."""
    from services.enrich.dedup import _A, _B, _MAX_HASH, _MERSENNE_PRIME, shingles

    found = shingles(text)
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little") for s in found),
        dtype=np.uint64,
        count=len(found),
    )
    return np.bitwise_and((np.outer(hashes, _A) + _B) % _MERSENNE_PRIME, _MAX_HASH).min(axis=0)


def test_a_long_body_is_signed_in_chunks_with_the_same_result_and_bounded_memory() -> None:
    import tracemalloc

    rng = random.Random(7)
    vocabulary = [f"word{i}" for i in range(5000)]
    text = " ".join(rng.choice(vocabulary) for _ in range(30_000))  # ~30,000 shingles, 7 chunks
    assert np.array_equal(signature(text), _unchunked_signature(text))

    body = " ".join(rng.choice(vocabulary) for _ in range(250_000))  # ~2 MB
    tracemalloc.start()
    try:
        signature(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Unchunked, the shingles x 128 matrix alone is 250,000 x 128 x 8 bytes = 256 MB (and its
    # temporaries more); chunked, the working set is the shingle set and a few MB of matrices.
    assert peak < 120 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
