"""Near-duplicate detection: MinHash signatures of word shingles, LSH bands, and a first-seen index.

A syndicated or lightly edited copy (sentences dropped or reordered, a new headline) shares most
of its 5-word shingles with the original. The MinHash signature estimates the Jaccard similarity
of two shingle sets; cutting it into bands and indexing each band finds the candidates of a new
article without comparing it to every article seen, and the signature comparison confirms them.

State: ``signatures``, a mutable mapping article id -> what was seen of it (signature, content
hash, ingested_at, the root of its group), as bytes. It is a plain dict in tests and a faust
GlobalTable in the service, one changelog record per article. The band index is derived from it and
kept in memory: :meth:`NearDuplicateIndex.remember` applies each record a replica learns from the
changelog (at recovery and from other workers: a value indexes, a tombstone forgets),
:meth:`~NearDuplicateIndex.check` the ones it writes.

"First seen" is decided by a total order, not by arrival: the earliest ``ingested_at``, then the
smallest id. Each band lists the articles having it in that order, and a lookup takes the earliest
one inside the new article's window (below) other than itself: a minimum that does not depend on the
order in which a replica learned the signatures, so every worker resolves a lookup the same way once
it has seen the same articles. A copy points at the root of the earliest matching article (the root
is the article its group started with), so a chain of edits still points at the very first one, even
when that one has left the window since. Two copies checked at the same moment by two workers cannot
see each other: both become roots, and later copies point at the earlier of the two.

The window keeps memory and restart time bounded by the article rate, not the archive. An article is
a candidate for a new one only if it was ingested at most ``window`` before it (``DEFAULT_WINDOW``,
30 days). Wire copies come within hours (member papers and aggregators republish a wire story the
same day, writethroughs and corrections within a day or two); the long tail is weekly and print
editions and late syndication, a week or two after. 30 days covers that tail twice over; at 500
articles a day it keeps ~16,500 articles (window and slack) whatever the archive's size. The BBC bench
(``bench.quality.duplicates_bbc``) has no dates to measure the tail on: its stream spans less than an
hour, so its precision and recall are the same with or without the window. A copy ingested more than
``window`` after every article of its group is a new root: its own group starts there.

The rule uses event time (``ingested_at``), not the clock, so re-enriching the archive in its order
gives the same answers as live. An article leaves the index once it is older than the newest
``ingested_at`` indexed minus ``window + slack`` (``DEFAULT_SLACK``, 3 days: articles arriving out of
order across partitions and workers, up to that much behind the newest, still find every candidate of
their window), or when the index holds more than ``max_entries`` (a safety bound for a burst of
articles with nearly the same ``ingested_at``; the lowest ranks go first, so replicas agree). An
``ingested_at`` in the future (a wrong clock) moves the newest no further than the clock plus the
slack, so one bad record cannot empty the index. An evicted article is deleted from ``signatures``
too, at the next :meth:`~NearDuplicateIndex.check` of the replica and only if still there: in the
service a tombstone in the compacted changelog, applied by every replica (which forgets it if it has
not yet), so a restart reads only the window, once the broker's log cleaner has compacted the log.
Every replica sees the same writes and evicts at the same point, but the writer whose record moves
the newest deletes in the same step, and the others have its tombstones by the time they write:
concurrent writers may send a tombstone twice, which is harmless. An article already older than the
eviction point when checked gets its answer but is not stored.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import heapq
import re
import struct
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import numpy as np
import orjson

from schemas.articles import EnrichedArticle, EnricherRun

SHINGLE_WORDS = 5
PERMUTATIONS = 128
ROWS_PER_BAND = 4
BANDS = PERMUTATIONS // ROWS_PER_BAND
#: Estimated Jaccard similarity of the shingle sets from which an article counts as a copy; on the BBC
#: bench (bench/quality/duplicates_bbc.py) 0.6 keeps precision at 1.0 with recall 0.99, 0.8 drops to 0.89.
DEFAULT_THRESHOLD = 0.6

_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
# Fixed seed: signatures must stay comparable across processes, restarts and releases.
_RNG = np.random.RandomState(1)
_A = _RNG.randint(1, int(_MERSENNE_PRIME), size=PERMUTATIONS, dtype=np.uint64)
_B = _RNG.randint(0, int(_MERSENNE_PRIME), size=PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"\w+")
#: Shingles hashed at once: bounds the signature's working memory to ~4 MB whatever the body.
_SHINGLES_PER_CHUNK = 4096
# Band keys: a random odd multiplier per row and a salt per band, fixed like the permutations.
_BAND_RNG = np.random.RandomState(2)
_BAND_MULTIPLIERS = _BAND_RNG.randint(0, 1 << 62, size=ROWS_PER_BAND, dtype=np.uint64) * 2 + 1
_BAND_SALTS = _BAND_RNG.randint(0, 1 << 62, size=BANDS, dtype=np.uint64)
_KEY_MASK = np.uint64((1 << 60) - 1)
Signature = np.ndarray


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Runs of ``size`` consecutive words; a shorter text is one shingle, an empty one none."""
    tokens = words(text)
    if len(tokens) <= size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def signature(text: str) -> Signature:
    """MinHash signature (``PERMUTATIONS`` 32-bit values) of the text's shingles; empty when it has none."""
    found = shingles(text)
    if not found:
        return np.empty(0, dtype=np.uint64)
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little") for s in found),
        dtype=np.uint64,
        count=len(found),
    )
    # Universal hashing (a*x + b mod p) as in datasketch; uint64 wrap-around is part of the scheme.
    # In chunks: one shingles x permutations matrix of a 2 MB body would take ~700 MB at once.
    result: Signature = np.full(PERMUTATIONS, _MAX_HASH, dtype=np.uint64)
    for start in range(0, len(hashes), _SHINGLES_PER_CHUNK):
        chunk = hashes[start : start + _SHINGLES_PER_CHUNK]
        permuted = np.bitwise_and((np.outer(chunk, _A) + _B) % _MERSENNE_PRIME, _MAX_HASH)
        np.minimum(result, permuted.min(axis=0), out=result)
    return result


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures (0 if either is empty)."""
    if len(a) == 0 or len(b) == 0 or len(a) != len(b):
        return 0.0
    return float(np.count_nonzero(a == b)) / len(a)


def is_near_duplicate(a: Signature, b: Signature, threshold: float = DEFAULT_THRESHOLD) -> bool:
    return similarity(a, b) >= threshold


def bands(sig: Signature) -> list[BandKey]:
    """LSH band keys: articles sharing any key are candidates. An empty signature has none.

    Each band's ``ROWS_PER_BAND`` 32-bit values and its position are mixed into a 60-bit int (a small Python
    int, 32 bytes, against ~85 for the hex string it replaces). Two different bands meet on one key
    with a chance of ~2^-60; such a meeting only adds a candidate, which the signature check rejects.
    """
    if len(sig) == 0:
        return []
    grid = sig.astype(np.uint64).reshape(BANDS, ROWS_PER_BAND)
    with np.errstate(over="ignore"):  # the mix is modulo 2^64 on purpose
        mixed = (grid * _BAND_MULTIPLIERS).sum(axis=1, dtype=np.uint64) + _BAND_SALTS
    return cast(list[BandKey], np.bitwise_and(mixed, _KEY_MASK).tolist())


def encode_signature(sig: Signature) -> str:
    return base64.b64encode(sig.astype("<u4").tobytes()).decode()


def decode_signature(text: str) -> Signature:
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint64)


Rank = tuple[datetime, str]
BandKey = int


def content_key(content_hash: str) -> BandKey:
    """The key of an exact content hash, in the same 60-bit space as the bands."""
    return int.from_bytes(hashlib.blake2b(content_hash.encode(), digest_size=8).digest(), "little") & int(
        _KEY_MASK
    )


def band_keys(sig: Signature, content_hash: str) -> tuple[BandKey, ...]:
    """The keys an article is indexed under, each once: its exact content hash and its LSH bands."""
    return tuple(dict.fromkeys([content_key(content_hash), *bands(sig)]))


_BINARY = 1  # first byte of the binary record; the JSON records before it start with "{"
_HEAD = struct.Struct("<BqqHH")  # format, ingested_at and root's in microseconds, lengths of hash and root
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True)
class Seen:
    """What the index keeps of an article: enough to compare with it and to find its group's root."""

    id: str
    ingested_at: datetime
    content_hash: str
    signature: Signature
    root: str
    root_ingested_at: datetime

    @property
    def rank(self) -> Rank:
        return (self.ingested_at, self.id)

    @property
    def root_rank(self) -> Rank:
        return (self.root_ingested_at, self.root)

    def to_bytes(self) -> bytes:
        """A binary record (~650 bytes; the JSON one before it took ~900): header, hash, root, signature."""
        content_hash, root = self.content_hash.encode(), self.root.encode()
        head = _HEAD.pack(
            _BINARY, _micros(self.ingested_at), _micros(self.root_ingested_at), len(content_hash), len(root)
        )
        return b"".join((head, content_hash, root, self.signature.astype("<u4").tobytes()))

    @classmethod
    def from_bytes(cls, article_id: str, data: bytes) -> Seen:
        """Either form: the binary record, or the JSON one written before it (changelogs keep both)."""
        if data[:1] == b"{":
            fields = orjson.loads(data)
            return cls(
                id=article_id,
                ingested_at=datetime.fromisoformat(fields["at"]),
                content_hash=fields["hash"],
                signature=decode_signature(fields["sig"]),
                root=fields["root"],
                root_ingested_at=datetime.fromisoformat(fields["root_at"]),
            )
        _, at, root_at, hash_size, root_size = _HEAD.unpack_from(data)
        start = _HEAD.size
        content_hash = data[start : start + hash_size].decode()
        root = data[start + hash_size : start + hash_size + root_size].decode()
        signature_bytes = data[start + hash_size + root_size :]
        return cls(
            id=article_id,
            ingested_at=_from_micros(at),
            content_hash=content_hash,
            signature=np.frombuffer(signature_bytes, dtype="<u4").astype(np.uint64),
            root=root,
            root_ingested_at=_from_micros(root_at),
        )


#: How long after an article its copies are still found; see the module docstring for the choice.
DEFAULT_WINDOW = timedelta(days=30)
#: How far behind the newest ``ingested_at`` an article may arrive and still find its whole window.
DEFAULT_SLACK = timedelta(days=3)
#: Most articles indexed at once whatever their dates (~4 KB each in a worker: about 1 GB).
DEFAULT_MAX_ENTRIES = 250_000


class NearDuplicateIndex:
    """Decides ``duplicate_of`` for each article and remembers it for the ones after, within a window.

    ``window`` None keeps every article (no eviction, no candidate limit); ``max_entries`` None: no cap.
    """

    def __init__(
        self,
        signatures: MutableMapping[str, bytes],
        threshold: float = DEFAULT_THRESHOLD,
        window: timedelta | None = DEFAULT_WINDOW,
        slack: timedelta = DEFAULT_SLACK,
        max_entries: int | None = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.signatures = signatures
        self.threshold = threshold
        self.window = window
        self.slack = slack
        self.max_entries = max_entries
        # Band key -> the rank of the one article with it, or the ranks of several in rank order
        # (a list); a rank tuple is shared by all the bands of its article.
        self._bands: dict[BandKey, Rank | list[Rank]] = {}
        # Article id -> its rank and keys: what eviction and forgetting remove from the bands.
        self._entries: dict[str, tuple[Rank, tuple[BandKey, ...]]] = {}
        # The ranks indexed, lowest first; stale ones (forgotten or re-indexed articles) are skipped.
        self._expiry: list[Rank] = []
        self._newest: datetime | None = None
        # Evicted here and maybe still in ``signatures``: deleted at the next check.
        self._expired: set[str] = set()

    def __len__(self) -> int:
        """The band keys held (as the recovery log line reports them)."""
        return len(self._bands)

    @property
    def entries(self) -> int:
        """The articles indexed."""
        return len(self._entries)

    @property
    def cutoff(self) -> datetime | None:
        """Articles ingested before this have left the index (None: nothing leaves by age)."""
        if self.window is None or self._newest is None:
            return None
        return self._newest - self.window - self.slack

    def check(self, article_id: str, ingested_at: datetime, content_hash: str, text: str) -> str | None:
        """The id of the first article this one copies (None if it is the first), recorded for later ones.

        Idempotent: checking the same article again (a replay) gives the same answer, never itself.
        """
        sig = signature(text)
        keys = band_keys(sig, content_hash)
        own_rank: Rank = (ingested_at, article_id)
        since = ingested_at - self.window if self.window is not None else None
        found = {holder for key in keys if (holder := self._earliest(key, article_id, since)) is not None}
        matches = [
            seen
            for seen in (self._seen(candidate) for candidate in sorted(found))
            if seen is not None
            and (since is None or seen.ingested_at >= since)
            and (seen.content_hash == content_hash or is_near_duplicate(sig, seen.signature, self.threshold))
        ]
        earliest = min((seen.root_rank for seen in matches), default=None)
        root = earliest if earliest is not None and earliest < own_rank else own_rank
        cutoff = self.cutoff
        if cutoff is None or ingested_at >= cutoff:
            own = Seen(article_id, ingested_at, content_hash, sig, root[1], root[0])
            self.signatures[article_id] = own.to_bytes()
            self._index(own_rank, keys)
        self._delete_expired()
        return None if root == own_rank else root[1]

    def remember(self, article_id: str, data: bytes | None) -> None:
        """Apply a record this replica learned from the changelog: a value indexes, a tombstone forgets."""
        if data is None:
            self._forget(article_id)
            self._expired.discard(article_id)
            return
        seen = Seen.from_bytes(article_id, data)
        self._index(seen.rank, band_keys(seen.signature, seen.content_hash))

    def _earliest(self, key: BandKey, other_than: str, since: datetime | None) -> str | None:
        """The id of the first article with ``key`` ingested from ``since`` on, other than ``other_than``."""
        holders = self._bands.get(key)
        if holders is None:
            return None
        for at, holder in holders if isinstance(holders, list) else (holders,):
            if holder != other_than and (since is None or at >= since):
                return holder
        return None

    def _index(self, rank: Rank, keys: tuple[BandKey, ...]) -> None:
        article_id = rank[1]
        known = self._entries.get(article_id)
        if known is not None:
            if known == (rank, keys):
                return  # a replay, or this replica's own write coming back from the changelog
            self._forget(article_id)  # a new revision replaces the old one
        cutoff = self.cutoff
        if cutoff is not None and rank[0] < cutoff:
            self._expired.add(article_id)  # out of the window already (a log not compacted yet)
            return
        self._entries[article_id] = (rank, keys)
        heapq.heappush(self._expiry, rank)
        for key in keys:
            holders = self._bands.get(key)
            if holders is None:
                self._bands[key] = rank
            elif isinstance(holders, list):
                bisect.insort(holders, rank)
            else:
                self._bands[key] = sorted((holders, rank))
        newest = min(rank[0], datetime.now(UTC) + self.slack)
        if self._newest is None or newest > self._newest:
            self._newest = newest
        self._evict()

    def _forget(self, article_id: str) -> None:
        known = self._entries.pop(article_id, None)
        if known is None:
            return
        rank, keys = known
        for key in keys:
            holders = self._bands.get(key)
            if holders is None:
                continue
            if isinstance(holders, list):
                remaining = [holder for holder in holders if holder != rank]
                if len(remaining) > 1:
                    self._bands[key] = remaining
                elif remaining:
                    self._bands[key] = remaining[0]
                else:
                    del self._bands[key]
            elif holders == rank:
                del self._bands[key]

    def _evict(self) -> None:
        cutoff = self.cutoff
        while self._expiry:
            rank = self._expiry[0]
            too_many = self.max_entries is not None and len(self._entries) > self.max_entries
            if not too_many and (cutoff is None or rank[0] >= cutoff):
                return
            heapq.heappop(self._expiry)
            known = self._entries.get(rank[1])
            if known is None or known[0] != rank:
                continue  # forgotten or re-indexed since
            self._forget(rank[1])
            self._expired.add(rank[1])

    def _delete_expired(self) -> None:
        for article_id in self._expired:
            if article_id in self.signatures:  # another replica's tombstone may have come first
                del self.signatures[article_id]
        self._expired.clear()

    def _seen(self, article_id: str) -> Seen | None:
        data = self.signatures.get(article_id)
        return Seen.from_bytes(article_id, data) if data is not None else None


#: The lineage entry of the near-duplicate step, which runs after the enrichers.
LINEAGE = EnricherRun(name="near_duplicates", version="1")


def mark(index: NearDuplicateIndex, article: EnrichedArticle) -> EnrichedArticle:
    """``article`` with ``duplicate_of`` decided by ``index`` and the step added to its lineage."""
    duplicate_of = index.check(article.id, article.ingested_at, article.content_hash, article.body)
    return article.model_copy(
        update={"duplicate_of": duplicate_of, "enrichers": [*article.enrichers, LINEAGE]}
    )
