"""Near-duplicate detection: signatures, bands, and which article a copy points at."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
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
    assert all(isinstance(key, int) and 0 <= key < 2**60 for key in original)


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


class Changelog(dict[str, bytes]):
    """A table that logs its writes and deletions in order, as faust's changelog topic would."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, bytes | None]] = []

    def __setitem__(self, key: str, value: bytes) -> None:
        super().__setitem__(key, value)
        self.log.append((key, value))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.log.append((key, None))

    def apply(self, key: str, value: bytes | None) -> None:
        """A record from another replica: applied to the store without logging it again."""
        if value is None:
            super().pop(key, None)
        else:
            super().__setitem__(key, value)


class Replica:
    """One worker's view: the replicated signature table and the index built on it."""

    def __init__(self, **window: Any) -> None:
        self.signatures = Changelog()
        self.index = NearDuplicateIndex(self.signatures, **window)
        self.learned: dict[int, int] = {}  # id(other replica) -> records of its log applied

    def check(
        self, n: int, text: str, minutes: int = 0, content_hash: str | None = None, days: int = 0
    ) -> str | None:
        return self.index.check(
            article_id(n), T0 + timedelta(days=days, minutes=minutes), content_hash or f"{n:064x}", text
        )

    def learn_from(self, other: Replica) -> None:
        """Apply the other replica's new writes and deletions as the changelog would deliver them."""
        start = self.learned.get(id(other), 0)
        for key, value in other.signatures.log[start:]:
            self.index.remember(key, value)  # faust calls back before it applies the record
            self.signatures.apply(key, value)
        self.learned[id(other)] = len(other.signatures.log)


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


def test_a_deletion_of_an_unknown_article_changes_nothing() -> None:
    replica = Replica()
    replica.index.remember(article_id(1), None)
    assert len(replica.index) == 0 == replica.index.entries


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


# The window: 30 days of candidates, evicted past newest - 30 - 3 days.
WINDOW = {"window": timedelta(days=30), "slack": timedelta(days=3)}
UNRELATED = [" ".join(f"filler{n}x{i} topic{n}y{i} words{n}z{i}" for i in range(12)) for n in range(10)]


def test_articles_older_than_the_window_and_slack_leave_the_index_and_the_table() -> None:
    replica = Replica(**WINDOW)
    assert replica.check(1, body(STORY), days=0) is None
    replica.check(2, UNRELATED[0], days=32)  # newest 32: cutoff day -1, article 1 stays
    assert article_id(1) in replica.signatures and replica.index.entries == 2
    replica.check(3, UNRELATED[1], days=34)  # cutoff day 1: article 1 leaves, in this same check
    assert article_id(1) not in replica.signatures
    assert replica.signatures.log[-1] == (article_id(1), None)  # one tombstone
    assert replica.index.entries == 2 and replica.index.cutoff == T0 + timedelta(days=1)
    # A copy after its original left the window is a new root, and later copies point at it.
    assert replica.check(4, body(STORY[1:]), days=35) is None
    assert replica.check(5, body(STORY[:5]), days=36) == article_id(4)


def test_a_copy_more_than_the_window_after_the_original_is_a_new_root_even_before_eviction() -> None:
    # Same answer whether or not the original was evicted yet: the window is the article's own.
    replica = Replica(**WINDOW)
    replica.check(1, body(STORY), days=0)
    assert replica.check(2, body(STORY[1:]), days=31) is None
    assert article_id(1) in replica.signatures  # not evicted (cutoff day -2), yet outside the window


def test_a_band_whose_first_holder_left_still_finds_the_later_holders() -> None:
    replica = Replica(**WINDOW)
    replica.check(1, body(STORY), days=0)
    assert replica.check(2, body(STORY[1:]), days=20) == article_id(1)
    replica.check(3, UNRELATED[0], days=40)  # cutoff day 7: article 1 leaves
    assert article_id(1) not in replica.signatures and article_id(2) in replica.signatures
    # Found through article 2 (the earliest holder of their bands now), whose group started with 1.
    assert replica.check(4, body(STORY[:5]), days=45) == article_id(1)
    replica.check(5, UNRELATED[1], days=90)  # cutoff day 57: 2 and 4 leave too
    assert replica.index.entries == 1
    assert replica.check(6, body(STORY), days=91) is None


def test_the_band_index_after_eviction_equals_one_built_from_the_surviving_articles_only() -> None:
    evicting = Replica(**WINDOW)
    for n in range(40):
        text = body(STORY[n % 3 :]) if n % 4 == 0 else UNRELATED[n % 10] + f" item {n} number {n * 7}"
        evicting.check(n, text, days=n * 2)
    fresh = Replica(**WINDOW)
    for key, value in sorted(evicting.signatures.items(), key=lambda kv: Seen.from_bytes(*kv).rank):
        fresh.signatures.apply(key, value)
        fresh.index.remember(key, value)
    assert evicting.index._bands == fresh.index._bands
    assert evicting.index._entries == fresh.index._entries
    assert set(evicting.signatures) == {key for key in evicting.index._entries}
    assert evicting.index.entries == 17  # days 46..78 of 0..78: newest 78 - 33 = 45


def test_replicas_learning_the_same_writes_in_any_order_hold_the_same_index_after_eviction() -> None:
    writers = [Replica(**WINDOW), Replica(**WINDOW)]
    for n in range(30):
        text = body(STORY[n % 2 :]) if n % 5 == 0 else UNRELATED[n % 10] + f" item {n}"
        writers[n % 2].check(n, text, days=n * 3)
    records = [record for writer in writers for record in writer.signatures.log]
    forward, backward = Replica(**WINDOW), Replica(**WINDOW)
    for key, value in records:
        forward.index.remember(key, value)
    # Another interleaving of the two logs: each log stays in order, as one changelog partition keeps it.
    for key, value in writers[1].signatures.log + writers[0].signatures.log:
        backward.index.remember(key, value)
    assert forward.index._bands == backward.index._bands
    assert forward.index.cutoff == backward.index.cutoff
    assert forward.check(99, body(STORY[1:]), days=88) == backward.check(99, body(STORY[1:]), days=88)


def test_replays_are_idempotent_also_after_eviction() -> None:
    replica = Replica(**WINDOW)
    replica.check(1, body(STORY), days=0)
    assert replica.check(2, body(STORY[1:]), days=1) == article_id(1)
    record = replica.signatures[article_id(2)]
    bands_before, log_before = dict(replica.index._bands), len(replica.signatures.log)
    replica.index.remember(article_id(2), record)  # its own write coming back from the changelog
    replica.index.remember(article_id(2), record)
    assert replica.index._bands == bands_before and len(replica.signatures.log) == log_before
    assert replica.check(2, body(STORY[1:]), days=1) == article_id(1)
    replica.check(3, UNRELATED[0], days=60)  # 1 and 2 leave
    deletions = [key for key, value in replica.signatures.log if value is None]
    assert sorted(deletions) == [article_id(1), article_id(2)]
    # A replay of an article already out of the window: answered, not stored, nothing deleted twice.
    assert replica.check(2, body(STORY[1:]), days=1) is None
    assert article_id(2) not in replica.signatures
    assert [key for key, value in replica.signatures.log if value is None] == deletions
    # Tombstones delivered again change nothing either.
    for key in deletions:
        replica.index.remember(key, None)
    assert replica.index.entries == 1


def test_only_keys_still_in_the_replica_are_deleted_so_other_replicas_add_no_tombstones() -> None:
    writer, other = Replica(**WINDOW), Replica(**WINDOW)
    writer.check(1, body(STORY), days=0)
    writer.check(2, UNRELATED[0], days=10)
    other.learn_from(writer)
    writer.check(3, UNRELATED[1], days=40)  # evicts 1: writes its value and the tombstone together
    other.learn_from(writer)  # evicts 1 on the value, then forgets it on the tombstone
    other.check(4, UNRELATED[2], days=41)
    assert [key for key, value in other.signatures.log if value is None] == []
    assert article_id(1) not in other.signatures and other.index.entries == writer.index.entries + 1


def test_a_tombstone_from_another_replica_takes_the_article_out_of_the_band_index() -> None:
    replica = Replica(**WINDOW)
    replica.check(1, body(STORY), days=0)
    replica.index.remember(article_id(1), None)
    replica.signatures.apply(article_id(1), None)
    assert len(replica.index) == 0 == replica.index.entries
    assert replica.check(2, body(STORY[1:]), days=1) is None


def test_a_log_not_compacted_yet_is_recovered_into_the_window_and_cleaned_at_the_next_write() -> None:
    # An old changelog (every article, no tombstones: written without a window) read at recovery.
    unbounded = Replica(window=None)
    for n in range(20):
        unbounded.check(n, UNRELATED[n % 10] + f" item {n}", days=n * 5)
    recovering = Replica(**WINDOW)
    for key, value in unbounded.signatures.log:
        recovering.index.remember(key, value)
        recovering.signatures.apply(key, value)
    assert recovering.index.entries == 7  # days 62..95 of 0..95
    assert len(recovering.signatures) == 20
    recovering.check(99, UNRELATED[3], days=95)
    assert len(recovering.signatures) == 8 == recovering.index.entries


def test_the_cap_evicts_the_lowest_ranks_first() -> None:
    replica = Replica(window=None, max_entries=3)
    for n in range(5):
        replica.check(n, UNRELATED[n] + f" item {n}", days=4 - n)  # newest first: ranks reversed
    assert sorted(replica.signatures) == [article_id(0), article_id(1), article_id(2)]


def test_an_ingested_at_in_the_future_does_not_empty_the_index() -> None:
    replica = Replica(**WINDOW)
    now = datetime.now(UTC)
    replica.index.check(article_id(1), now, "a" * 64, body(STORY))
    replica.index.check(article_id(2), now + timedelta(days=3650), "b" * 64, UNRELATED[0])
    assert article_id(1) in replica.signatures
    assert replica.index.cutoff is not None and replica.index.cutoff < now


def test_records_written_before_the_binary_form_are_still_read() -> None:
    sig = signature(body(STORY))
    old = orjson.dumps(
        {
            "sig": encode_signature(sig),
            "hash": "c" * 64,
            "at": T0.isoformat(),
            "root": "b" * 32,
            "root_at": (T0 - timedelta(hours=1)).isoformat(),
        }
    )
    seen = Seen.from_bytes("a" * 32, old)
    assert (seen.ingested_at, seen.root, seen.root_ingested_at) == (T0, "b" * 32, T0 - timedelta(hours=1))
    assert np.array_equal(seen.signature, sig)
    binary = Seen.from_bytes("a" * 32, seen.to_bytes())
    assert (binary.ingested_at, binary.content_hash, binary.root, binary.root_ingested_at) == (
        seen.ingested_at,
        seen.content_hash,
        seen.root,
        seen.root_ingested_at,
    )
    assert np.array_equal(binary.signature, seen.signature)
    assert len(seen.to_bytes()) < 0.75 * len(old)
    replica = Replica(**WINDOW)
    replica.index.remember("a" * 32, old)
    replica.signatures.apply("a" * 32, old)
    assert replica.index.check("d" * 32, T0 + timedelta(hours=1), "d" * 64, body(STORY[1:])) == "b" * 32


def test_the_window_settings_come_from_the_environment_and_zero_turns_the_window_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.enrich.settings import Settings

    assert Settings().duplicate_window == timedelta(days=30)
    monkeypatch.setenv("NEWSWIRE_ENRICH_DUPLICATE_WINDOW_DAYS", "7.5")
    monkeypatch.setenv("NEWSWIRE_ENRICH_DUPLICATE_WINDOW_SLACK_DAYS", "1")
    monkeypatch.setenv("NEWSWIRE_ENRICH_DUPLICATE_MAX_ENTRIES", "1000")
    settings = Settings()
    assert settings.duplicate_window == timedelta(days=7.5)
    assert (settings.duplicate_window_slack_days, settings.duplicate_max_entries) == (1, 1000)
    monkeypatch.setenv("NEWSWIRE_ENRICH_DUPLICATE_WINDOW_DAYS", "0")
    assert Settings().duplicate_window is None
