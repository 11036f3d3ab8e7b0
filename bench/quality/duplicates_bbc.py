"""Precision and recall of near-duplicate detection on the BBC corpus and on perturbed copies of it.

``python -m bench.quality.duplicates_bbc [--copies 300] [--seed 7]``

Ground truth:

* natural duplicates: every pair of corpus articles whose bodies' exact 5-word-shingle Jaccard
  similarity is at least ``NATURAL_JACCARD`` (found exhaustively through an inverted shingle index);
  the corpus repeats some stories verbatim and some as updated versions;
* perturbed copies: ``--copies`` articles drawn with a seeded RNG, each copied with one kind of
  edit from :mod:`bench.quality.perturb` (a copy is a duplicate of its original whatever its Jaccard).

Duplicate groups are the connected components of those pairs. Two views are measured:

* pairs: every pair that shares an LSH band and passes the signature check, against all pairs
  inside a group (what :func:`services.enrich.dedup.is_near_duplicate` plus ``bands`` find);
* stream: the corpus then the copies, fed in order through :class:`NearDuplicateIndex` as the
  service does: an article with an earlier member of its group must get
  ``duplicate_of`` in its group (precision/recall), ideally the group's first article ("first").

The corpus is read at run time from ``../shared/corpora/bbc-news`` and never copied.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.quality.perturb import PERTURBATIONS, perturb
from services.enrich.dedup import (
    DEFAULT_THRESHOLD,
    NearDuplicateIndex,
    bands,
    shingles,
    signature,
    similarity,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "bbc-news"
RESULTS = REPO_ROOT / "bench" / "results" / "duplicates_bbc.json"
NATURAL_JACCARD = 0.5
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8)
# Shingles this common are boilerplate, not evidence of copying, and would make the index quadratic.
MAX_SHINGLE_DOCS = 50


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    paragraphs: list[str]
    kind: str  # "corpus" or the perturbation
    origin: str  # the corpus article it was made from (itself for corpus articles)

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def load_corpus(root: Path) -> list[Doc]:
    docs = []
    for path in sorted(root.glob("*/*.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        paragraphs = [p.strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
        name = f"{path.parent.name}/{path.stem}"
        docs.append(Doc(name, lines[0].strip(), paragraphs, "corpus", name))
    return docs


def make_copies(corpus: list[Doc], count: int, seed: int) -> list[Doc]:
    rng = random.Random(seed)
    kinds = sorted(PERTURBATIONS)
    copies = []
    for n, original in enumerate(rng.sample(corpus, min(count, len(corpus)))):
        kind = kinds[n % len(kinds)]
        title, paragraphs = perturb(kind, seed * 100_003 + n, original.title, original.paragraphs)
        copies.append(Doc(f"copy/{kind}/{n}", title, paragraphs, kind, original.id))
    return copies


def natural_pairs(corpus: list[Doc]) -> dict[tuple[str, str], float]:
    """Exact Jaccard of every corpus pair sharing a shingle, kept when at least ``NATURAL_JACCARD``."""
    sets = {doc.id: shingles(doc.body) for doc in corpus}
    postings: defaultdict[str, list[str]] = defaultdict(list)
    for doc_id, found in sets.items():
        for shingle in found:
            postings[shingle].append(doc_id)
    shared: Counter[tuple[str, str]] = Counter()
    for ids in postings.values():
        if 1 < len(ids) <= MAX_SHINGLE_DOCS:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    shared[(a, b) if a < b else (b, a)] += 1
    pairs = {}
    for (a, b), common in shared.items():
        jaccard = common / (len(sets[a]) + len(sets[b]) - common)
        if jaccard >= NATURAL_JACCARD:
            pairs[(a, b)] = jaccard
    return pairs


def groups_of(ids: Iterable[str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Union-find: each id -> a representative of its duplicate group."""
    parent = {doc_id: doc_id for doc_id in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    return {doc_id: find(doc_id) for doc_id in parent}


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _pairs(ids: list[str]) -> Iterable[tuple[str, str]]:
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            yield (a, b) if a < b else (b, a)


def pair_metrics(
    docs: list[Doc], signatures: dict[str, Any], group: dict[str, str], threshold: float
) -> dict[str, Any]:
    by_band: defaultdict[int, list[str]] = defaultdict(list)
    for doc in docs:
        for key in bands(signatures[doc.id]):
            by_band[key].append(doc.id)
    candidates = {pair for ids in by_band.values() for pair in _pairs(ids)}
    predicted = {
        pair for pair in candidates if similarity(signatures[pair[0]], signatures[pair[1]]) >= threshold
    }
    members: defaultdict[str, list[str]] = defaultdict(list)
    for doc_id, representative in group.items():
        members[representative].append(doc_id)
    truth = {pair for ids in members.values() for pair in _pairs(ids)}
    hits = len(predicted & truth)
    return {
        "true_pairs": len(truth),
        "predicted_pairs": len(predicted),
        "candidate_pairs": len(candidates),
        "precision": ratio(hits, len(predicted)),
        "recall": ratio(hits, len(truth)),
    }


def stream_metrics(docs: list[Doc], group: dict[str, str], threshold: float) -> dict[str, Any]:
    index = NearDuplicateIndex({}, threshold)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    first_of_group: dict[str, str] = {}
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    elapsed = []
    for position, doc in enumerate(docs):
        began = time.perf_counter()
        duplicate_of = index.check(
            doc.id,
            start + timedelta(seconds=position),
            doc.id,  # unique per article: exact-copy detection is covered by the unit tests
            doc.body,
        )
        elapsed.append((time.perf_counter() - began) * 1000)
        tally = counts["natural" if doc.kind == "corpus" else doc.kind]
        first = first_of_group.setdefault(group[doc.id], doc.id)
        should = first != doc.id
        tally["positives"] += should
        tally["flagged"] += duplicate_of is not None
        correct = duplicate_of is not None and group.get(duplicate_of) == group[doc.id]
        tally["correct"] += correct
        tally["first"] += duplicate_of == first and should
    rows = {}
    for subset, tally in sorted(counts.items()):
        rows[subset] = {
            "positives": tally["positives"],
            "flagged": tally["flagged"],
            "precision": ratio(tally["correct"], tally["flagged"]),
            "recall": ratio(tally["correct"], tally["positives"]),
            "points_at_first": ratio(tally["first"], tally["positives"]),
        }
    total = sum(counts.values(), Counter())
    rows["all"] = {
        "positives": total["positives"],
        "flagged": total["flagged"],
        "precision": ratio(total["correct"], total["flagged"]),
        "recall": ratio(total["correct"], total["positives"]),
        "points_at_first": ratio(total["first"], total["positives"]),
    }
    return {"by_subset": rows, "ms_per_article_median": round(statistics.median(elapsed), 3)}


def copy_similarity(docs: list[Doc], by_id: dict[str, Doc]) -> dict[str, dict[str, float]]:
    """Exact shingle Jaccard between each copy and its original, per kind of edit."""
    per_kind: defaultdict[str, list[float]] = defaultdict(list)
    for doc in docs:
        if doc.kind != "corpus":
            a, b = shingles(doc.body), shingles(by_id[doc.origin].body)
            per_kind[doc.kind].append(len(a & b) / len(a | b) if a | b else 1.0)
    return {
        kind: {"min": round(min(values), 3), "median": round(statistics.median(values), 3)}
        for kind, values in sorted(per_kind.items())
    }


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [header, *[["-" if value is None else str(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        sys.stderr.write(f"skipped: the BBC corpus is not at {args.corpus}\n")
        return 0

    corpus = load_corpus(args.corpus)
    copies = make_copies(corpus, args.copies, args.seed)
    docs = corpus + copies
    by_id = {doc.id: doc for doc in docs}
    natural = natural_pairs(corpus)
    group = groups_of(by_id, [*natural, *((copy.id, copy.origin) for copy in copies)])
    began = time.perf_counter()
    signatures = {doc.id: signature(doc.body) for doc in docs}
    signature_ms = (time.perf_counter() - began) * 1000 / len(docs)

    results: dict[str, Any] = {
        "corpus_articles": len(corpus),
        "copies": len(copies),
        "seed": args.seed,
        "natural_jaccard": NATURAL_JACCARD,
        "natural_pairs": len(natural),
        "natural_pairs_below_0_95": sum(1 for j in natural.values() if j < 0.95),
        "copy_jaccard": copy_similarity(docs, by_id),
        "signature_ms_per_article": round(signature_ms, 3),
        "default_threshold": DEFAULT_THRESHOLD,
        "thresholds": {},
    }
    for threshold in THRESHOLDS:
        results["thresholds"][str(threshold)] = {
            "pairs": pair_metrics(docs, signatures, group, threshold),
            "stream": stream_metrics(docs, group, threshold),
        }

    say(
        f"{len(corpus)} corpus articles, {len(natural)} natural duplicate pairs "
        f"(exact Jaccard >= {NATURAL_JACCARD}), {len(copies)} perturbed copies, "
        f"signature {signature_ms:.2f} ms/article\n"
    )
    say(
        table(
            "Exact Jaccard of copy vs original",
            ["kind", "min", "median"],
            [[k, v["min"], v["median"]] for k, v in results["copy_jaccard"].items()],
        )
    )
    say()
    say(
        table(
            "Pairs (LSH candidates verified by signature)",
            ["threshold", "true", "predicted", "candidates", "precision", "recall"],
            [
                [t, p["true_pairs"], p["predicted_pairs"], p["candidate_pairs"], p["precision"], p["recall"]]
                for t, p in ((t, r["pairs"]) for t, r in results["thresholds"].items())
            ],
        )
    )
    say()
    rows = []
    for threshold, result in results["thresholds"].items():
        for subset, row in result["stream"]["by_subset"].items():
            rows.append(
                [
                    threshold,
                    subset,
                    row["positives"],
                    row["flagged"],
                    row["precision"],
                    row["recall"],
                    row["points_at_first"],
                ]
            )
        rows.append([threshold, "ms/article", result["stream"]["ms_per_article_median"], "", "", "", ""])
    say(
        table(
            "Stream (duplicate_of as the service assigns it)",
            ["threshold", "subset", "positives", "flagged", "precision", "recall", "first"],
            rows,
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    say(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
