"""Near-duplicate detection: MinHash signatures of word shingles, LSH bands, and a first-seen index.

A syndicated or lightly edited copy (sentences dropped or reordered, a new headline) shares most
of its 5-word shingles with the original. The MinHash signature estimates the Jaccard similarity
of two shingle sets; cutting it into bands and indexing each band finds the candidates of a new
article without comparing it to every article seen, and the signature comparison confirms them.

State: ``signatures``, a mutable mapping article id -> what was seen of it (signature, content
hash, ingested_at, the root of its group), as bytes. It is a plain dict in tests and a faust
GlobalTable in the service, one changelog record per article. The band index is derived from it and
kept in memory: :meth:`NearDuplicateIndex.remember` adds each signature a replica learns from the
changelog (at recovery and from other workers), :meth:`~NearDuplicateIndex.check` the ones it writes.

"First seen" is decided by a total order, not by arrival: the earliest ``ingested_at``, then the
smallest id. Each band points at the earliest article having it, a minimum that does not depend on
the order in which a replica learned the signatures, so every worker resolves a lookup the same way
once it has seen the same articles. A copy points at the root of the earliest matching article (the
root is the article its group started with), so a chain of edits still points at the very first one.
Two copies checked at the same moment by two workers cannot see each other: both become roots, and
later copies point at the earlier of the two.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime

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


def bands(sig: Signature, rows: int = ROWS_PER_BAND) -> list[str]:
    """LSH band keys: articles sharing any key are candidates. An empty signature has none."""
    if len(sig) == 0:
        return []
    data = sig.astype("<u4").tobytes()  # one conversion: slicing numpy arrays 32 times costs more
    width = 4 * rows
    return [
        f"{index}:{data[start : start + width].hex()}"
        for index, start in enumerate(range(0, len(data), width))
    ]


def encode_signature(sig: Signature) -> str:
    return base64.b64encode(sig.astype("<u4").tobytes()).decode()


def decode_signature(text: str) -> Signature:
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint64)


Rank = tuple[datetime, str]
_CONTENT_HASH_BAND = "sha256:"


def band_keys(sig: Signature, content_hash: str) -> list[str]:
    """The keys an article is indexed under: its LSH bands and its exact content hash."""
    return [_CONTENT_HASH_BAND + content_hash, *bands(sig)]


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
        return orjson.dumps(
            {
                "sig": encode_signature(self.signature),
                "hash": self.content_hash,
                "at": self.ingested_at.isoformat(),
                "root": self.root,
                "root_at": self.root_ingested_at.isoformat(),
            }
        )

    @classmethod
    def from_bytes(cls, article_id: str, data: bytes) -> Seen:
        fields = orjson.loads(data)
        return cls(
            id=article_id,
            ingested_at=datetime.fromisoformat(fields["at"]),
            content_hash=fields["hash"],
            signature=decode_signature(fields["sig"]),
            root=fields["root"],
            root_ingested_at=datetime.fromisoformat(fields["root_at"]),
        )


class NearDuplicateIndex:
    """Decides ``duplicate_of`` for each article and remembers it for the ones after."""

    def __init__(self, signatures: MutableMapping[str, bytes], threshold: float = DEFAULT_THRESHOLD) -> None:
        self.signatures = signatures
        self.threshold = threshold
        # Band key -> rank of the earliest article with it; one rank tuple is shared by all its bands.
        self._bands: dict[str, Rank] = {}

    def __len__(self) -> int:
        return len(self._bands)

    def check(self, article_id: str, ingested_at: datetime, content_hash: str, text: str) -> str | None:
        """The id of the first article this one copies (None if it is the first), recorded for later ones.

        Idempotent: checking the same article again (a replay) gives the same answer, never itself.
        """
        sig = signature(text)
        keys = band_keys(sig, content_hash)
        own_rank: Rank = (ingested_at, article_id)
        found = {self._bands[key][1] for key in keys if key in self._bands} - {article_id}
        matches = [
            seen
            for seen in (self._seen(candidate) for candidate in sorted(found))
            if seen is not None
            and (seen.content_hash == content_hash or is_near_duplicate(sig, seen.signature, self.threshold))
        ]
        earliest = min((seen.root_rank for seen in matches), default=None)
        root = earliest if earliest is not None and earliest < own_rank else own_rank
        own = Seen(article_id, ingested_at, content_hash, sig, root[1], root[0])
        self.signatures[article_id] = own.to_bytes()
        self._index(own)
        return None if root == own_rank else root[1]

    def remember(self, article_id: str, data: bytes | None) -> None:
        """Index a signature this replica learned from the changelog (a ``None`` value deletes nothing)."""
        if data is not None:
            self._index(Seen.from_bytes(article_id, data))

    def _index(self, seen: Seen) -> None:
        rank = seen.rank
        for key in band_keys(seen.signature, seen.content_hash):
            holder = self._bands.get(key)
            if holder is None or rank < holder:
                self._bands[key] = rank

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
