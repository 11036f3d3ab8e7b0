"""Ranking quality of ``newswire search`` against plain BM25 on relevance-judged collections.

``python -m bench.quality.relevance [--sets cisi,med,bbc] [--systems project,bm25_body,...] [--show]``

Each judged set is indexed into a private index made from the project's own template (its settings,
analyzer and mappings), on the Elasticsearch the stack runs (``NEWSWIRE_ES_URL``, default
``http://127.0.0.1:9200``); the index is deleted afterwards. Every query runs through every system on
the same index, and the harness prints nDCG@10 (graded gains, log2 discount), P@10, MAP (over the
first :data:`DEPTH` hits) and the number of queries with no hit at all, per set, per query length
(1-3 words, 4-8, 9+), for the queries used for tuning and, apart, for the held-out ones.

Sets:

* ``cisi``, ``med``: the classic collections in ``../shared/corpora/ir-dev`` (long natural-language
  questions, short topic descriptions). About a fifth of their queries, chosen by a hash of the query
  id (:func:`is_held_out`), are held out; the README of that folder asks not to tune field boosts to
  them, so they are there to keep ranking honest, not to fit it.
* ``bbc``: journalists' short queries over the BBC corpus (``../shared/corpora/bbc-news``), judged
  by reading pooled articles (``bench/quality/labels/search_bbc.json``; see the labels README). The
  queries marked ``held_out`` were drawn at random before judging and are never tuned on.

Systems are functions from the query text to an Elasticsearch query (:data:`SYSTEMS`): ``project``
is exactly the ``query`` of :func:`services.search.query.build_query`, the request the CLI and the
API send; the others are the baselines and the variants tried on the way (the README's table).
Results go to ``bench/results/relevance.json`` and ``bench/results/relevance.md``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from schemas.search_index import index_template, lead_of
from services.search.query import build_query
from services.search.ranking import RANKING, Ranking, can_relax

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared" / "corpora"
IR_DEV = SHARED / "ir-dev"
BBC_CORPUS = SHARED / "bbc-news"
BBC_LABELS = REPO_ROOT / "bench" / "quality" / "labels" / "search_bbc.json"
RESULTS_JSON = REPO_ROOT / "bench" / "results" / "relevance.json"
RESULTS_MD = REPO_ROOT / "bench" / "results" / "relevance.md"
#: Ranked hits fetched per query: nDCG and P are cut at 10, MAP at this depth.
DEPTH = 100
CUTOFF = 10
BUCKETS = (("1-3", 1, 3), ("4-8", 4, 8), ("9+", 9, 10_000))
#: One in this many ir-dev queries is held out (by hash of set and query id).
HELD_OUT_ONE_IN = 5

Query = dict[str, Any]
#: A baseline: the query text to an Elasticsearch query. A :class:`Ranking` is the project's request
#: with those knobs, relaxed when the strict request finds nothing, exactly as the CLI and API do.
System = Callable[[str], Query] | Ranking


@dataclass(frozen=True)
class JudgedSet:
    """Documents, queries and graded judgements of one collection."""

    name: str
    documents: list[dict[str, str]]
    queries: dict[str, str]
    #: query id -> {document id: grade (> 0 is relevant)}
    judgements: dict[str, dict[str, int]]
    held_out: frozenset[str]


def is_held_out(set_name: str, query_id: str) -> bool:
    """The fixed fifth of an ir-dev set's queries kept aside from tuning."""
    digest = hashlib.sha1(f"{set_name}:{query_id}".encode()).digest()
    return digest[0] % HELD_OUT_ONE_IN == 0


def load_ir_dev(name: str) -> JudgedSet:
    folder = IR_DEV / name
    documents = [
        json.loads(line) for line in (folder / "docs.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    queries: dict[str, str] = json.loads((folder / "queries.json").read_text(encoding="utf-8"))
    qrels: dict[str, list[str]] = json.loads((folder / "qrels.json").read_text(encoding="utf-8"))
    judged = {qid: {doc: 1 for doc in docs} for qid, docs in qrels.items() if docs and qid in queries}
    return JudgedSet(
        name=name,
        documents=[
            {"id": str(d["id"]), "title": d.get("title") or "", "body": d.get("body") or ""}
            for d in documents
        ],
        queries={qid: queries[qid] for qid in judged},
        judgements=judged,
        held_out=frozenset(qid for qid in judged if is_held_out(name, qid)),
    )


def load_bbc() -> JudgedSet:
    labels = json.loads(BBC_LABELS.read_text(encoding="utf-8"))
    documents = []
    for path in sorted(BBC_CORPUS.glob("*/*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        headline, _, body = text.partition("\n")
        documents.append(
            {"id": f"{path.parent.name}/{path.stem}", "title": headline.strip(), "body": body.strip()}
        )
    judged = {
        qid: {doc: int(grade) for doc, grade in grades.items() if int(grade) > 0}
        for qid, grades in labels["qrels"].items()
    }
    judged = {qid: grades for qid, grades in judged.items() if grades and qid in labels["queries"]}
    return JudgedSet(
        name="bbc",
        documents=documents,
        queries={qid: labels["queries"][qid]["text"] for qid in judged},
        judgements=judged,
        held_out=frozenset(qid for qid in judged if labels["queries"][qid].get("held_out")),
    )


LOADERS: dict[str, Callable[[], JudgedSet]] = {
    "cisi": lambda: load_ir_dev("cisi"),
    "med": lambda: load_ir_dev("med"),
    "bbc": load_bbc,
}


def available_sets() -> list[str]:
    present = [name for name in ("cisi", "med") if (IR_DEV / name / "qrels.json").exists()]
    if BBC_LABELS.exists() and BBC_CORPUS.is_dir():
        present.append("bbc")
    return present


# --- systems -------------------------------------------------------------------------------------


def bm25_body(text: str) -> Query:
    """Plain BM25: a ``match`` on the body, every word optional."""
    return {"match": {"body": {"query": text}}}


def multi_match_title_body(text: str) -> Query:
    """``multi_match`` (best_fields) over title and body."""
    return {"multi_match": {"query": text, "fields": ["title", "body"]}}


def combined_fields(text: str) -> Query:
    """BM25F: title and body scored as one field (``combined_fields``), every word optional."""
    return {"combined_fields": {"query": text, "fields": ["title^2", "body"]}}


#: The request before issue 11, knob for knob: best_fields over title^3, caption and body, "2<75%"
#: of the words, the phrase anywhere adding 4 and multiplying by 10.
PREVIOUS = Ranking(
    scoring="best_fields",
    title_weight=3.0,
    minimum_should_match="2<75%",
    headline_boost=0.0,
    lead_boost=0.0,
    phrase_boost=4.0,
    phrase_multiplier=10.0,
    phrase_fields=("title", "caption", "body"),
    quoted_phrase_multiplier=1.0,
)


def previous(text: str) -> Query:
    """The request before issue 11 (:data:`PREVIOUS`), never relaxed."""
    query: Query = build_query(text, ranking=PREVIOUS)["query"]
    return query


#: Name -> system. ``project`` first; the baselines next (shown in the main table).
SYSTEMS: dict[str, System] = {
    "project": RANKING,
    "bm25_body": bm25_body,
    "multi_match": multi_match_title_body,
    "combined_fields": combined_fields,
    "previous": previous,
}
#: The main table's nDCG columns.
TABLE_SYSTEMS = tuple(SYSTEMS)
#: Variants of the project's request tried on the way, one change each from :data:`RANKING`
#: (the README's "what was tried" table, on the queries used for tuning).
VARIANTS: dict[str, tuple[Ranking, str]] = {
    "previous_msm_1": (
        replace(PREVIOUS, minimum_should_match="1"),
        "the request before issue 11 with any one word enough",
    ),
    "msm_1": (replace(RANKING, minimum_should_match="1"), "any one word matches, at every length"),
    "msm_2<75%": (
        replace(RANKING, minimum_should_match="2<75%"),
        "the old rule: all of 1-2 words, 75% beyond",
    ),
    "msm_more_on_long": (
        replace(RANKING, minimum_should_match="1<-1 3<50% 8<20%"),
        '"1<-1 3<50% 8<20%": more words required on long queries',
    ),
    "title^2_in_core": (
        replace(RANKING, title_weight=2.0, headline_boost=0.0),
        "title weighted inside BM25F instead of the all-words headline clause",
    ),
    "title^8_in_core": (
        replace(RANKING, title_weight=8.0, headline_boost=0.0),
        "a heavy title weight inside BM25F",
    ),
    "no_headline": (replace(RANKING, headline_boost=0.0), "title only through the phrase multiplier"),
    "headline_1.0": (replace(RANKING, headline_boost=1.0), "twice the all-words headline weight"),
    "no_lead": (replace(RANKING, lead_boost=0.0), "no weight for words in the opening"),
    "lead_0.3": (replace(RANKING, lead_boost=0.3), "three times the opening's weight"),
    "no_phrase_multiplier": (
        replace(RANKING, phrase_multiplier=1.0),
        "the exact phrase is not promised first",
    ),
    "phrase_multiplier_headline": (
        replace(RANKING, phrase_fields=("title", "caption", "lead")),
        "the multiplier only for the phrase in the title, caption or opening",
    ),
    "additive_phrase_1": (replace(RANKING, phrase_boost=1.0), "the phrase anywhere adds to the score"),
    "additive_phrase_4": (replace(RANKING, phrase_boost=4.0), "the old additive phrase weight"),
    "quoted_phrases_x10": (
        replace(RANKING, quoted_phrase_multiplier=10.0),
        "quoted phrases multiply the score like the whole query",
    ),
    "quoted_phrases_required": (
        replace(RANKING, quoted_phrases_required=True),
        "quoted phrases filter, as in web search engines",
    ),
    "exact_forms_required": (
        replace(RANKING, exact_forms_required=True),
        "the required words must also match unstemmed (Cooper no longer counts for Cooperation)",
    ),
    "proximity_slop_10": (
        replace(RANKING, proximity_slop=10, proximity_boost=0.3),
        "words within 10 positions add 0.3",
    ),
}
SYSTEMS.update({name: ranking for name, (ranking, _) in VARIANTS.items()})


def describe(name: str) -> str:
    if name in VARIANTS:
        return VARIANTS[name][1]
    system = SYSTEMS[name]
    if isinstance(system, Ranking):
        return "the project's request (RANKING in services/search/ranking.py), relaxed when it finds nothing"
    return (system.__doc__ or "").strip()


def system_query(system: System, text: str, relaxed: bool = False) -> Query:
    if isinstance(system, Ranking):
        query: Query = build_query(text, ranking=system, relaxed=relaxed)["query"]
        return query
    return system(text)


# --- metrics -------------------------------------------------------------------------------------


def dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


def ndcg_at(ranked: Sequence[str], grades: dict[str, int], cutoff: int = CUTOFF) -> float:
    """Normalised DCG of the first ``cutoff`` hits, with the grades as gains."""
    ideal = dcg(sorted(grades.values(), reverse=True)[:cutoff])
    if ideal == 0:
        return 0.0
    return dcg([grades.get(doc, 0) for doc in ranked[:cutoff]]) / ideal


def precision_at(ranked: Sequence[str], grades: dict[str, int], cutoff: int = CUTOFF) -> float:
    return sum(1 for doc in ranked[:cutoff] if grades.get(doc, 0) > 0) / cutoff


def average_precision(ranked: Sequence[str], grades: dict[str, int]) -> float:
    relevant = sum(1 for grade in grades.values() if grade > 0)
    if relevant == 0:
        return 0.0
    found, total = 0, 0.0
    for rank, doc in enumerate(ranked, start=1):
        if grades.get(doc, 0) > 0:
            found += 1
            total += found / rank
    return total / relevant


def bucket_of(text: str) -> str:
    words = len(text.split())
    return next(name for name, low, high in BUCKETS if low <= words <= high)


@dataclass
class Scores:
    """Per-query figures of one system on one set."""

    ndcg: dict[str, float] = field(default_factory=dict)
    precision: dict[str, float] = field(default_factory=dict)
    ap: dict[str, float] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)


def summarise(scores: Scores, query_ids: Iterable[str]) -> dict[str, float]:
    ids = list(query_ids)
    if not ids:
        return {"queries": 0}
    return {
        "queries": len(ids),
        "ndcg@10": sum(scores.ndcg[q] for q in ids) / len(ids),
        "p@10": sum(scores.precision[q] for q in ids) / len(ids),
        "map": sum(scores.ap[q] for q in ids) / len(ids),
        "no_hit": sum(1 for q in ids if scores.hits[q] == 0),
    }


# --- running -------------------------------------------------------------------------------------


def es_client() -> Elasticsearch:
    return Elasticsearch(os.environ.get("NEWSWIRE_ES_URL", "http://127.0.0.1:9200"), request_timeout=120)


def create_index(es: Elasticsearch, judged: JudgedSet) -> str:
    name = f"newswire-relevance-{judged.name}-{uuid.uuid4().hex[:8]}"
    template = copy.deepcopy(index_template()["template"])
    es.indices.create(index=name, settings=template["settings"], mappings=template["mappings"])
    actions = ({"_index": name, "_id": doc["id"], "_source": searchable(doc)} for doc in judged.documents)
    helpers.bulk(es, actions, chunk_size=500, refresh="wait_for")
    return name


def searchable(document: dict[str, str]) -> dict[str, str]:
    """The text fields the index service writes for an article with this title and body."""
    paragraphs = [" ".join(p.split()) for p in document["body"].split("\n") if p.strip()]
    return {**document, "lead": lead_of(paragraphs)}


def ranked_lists(
    es: Elasticsearch, index: str, system: System, queries: dict[str, str]
) -> dict[str, list[str]]:
    """Query id -> document ids in ranked order, :data:`DEPTH` deep, one ``_msearch`` per 50 queries."""
    ranked = _msearch(es, index, {qid: system_query(system, text) for qid, text in queries.items()})
    if isinstance(system, Ranking):
        empty = {
            qid: queries[qid] for qid, hits in ranked.items() if not hits and can_relax(queries[qid], system)
        }
        ranked.update(
            _msearch(
                es, index, {qid: system_query(system, text, relaxed=True) for qid, text in empty.items()}
            )
        )
    return ranked


def _msearch(es: Elasticsearch, index: str, queries: dict[str, Query]) -> dict[str, list[str]]:
    ids = list(queries)
    ranked: dict[str, list[str]] = {}
    for start in range(0, len(ids), 50):
        chunk = ids[start : start + 50]
        searches: list[dict[str, Any]] = []
        for qid in chunk:
            searches.append({"index": index})
            searches.append({"query": queries[qid], "size": DEPTH, "_source": False})
        responses = es.msearch(searches=searches)["responses"]
        for qid, response in zip(chunk, responses, strict=True):
            if "error" in response:
                raise RuntimeError(f"query {qid} failed: {response['error']}")
            ranked[qid] = [hit["_id"] for hit in response["hits"]["hits"]]
    return ranked


def score(judged: JudgedSet, ranked: dict[str, list[str]]) -> Scores:
    scores = Scores()
    for qid, grades in judged.judgements.items():
        hits = ranked[qid]
        scores.ndcg[qid] = ndcg_at(hits, grades)
        scores.precision[qid] = precision_at(hits, grades)
        scores.ap[qid] = average_precision(hits, grades)
        scores.hits[qid] = len(hits)
    return scores


def evaluate(
    es: Elasticsearch, judged: JudgedSet, systems: dict[str, System]
) -> tuple[dict[str, Scores], dict[str, Any]]:
    """Every system on one set: per-query scores and the summary rows (tuning and held-out apart)."""
    index = create_index(es, judged)
    try:
        per_system = {
            name: score(judged, ranked_lists(es, index, system, judged.queries))
            for name, system in systems.items()
        }
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
    tuning = [q for q in judged.queries if q not in judged.held_out]
    held_out = [q for q in judged.queries if q in judged.held_out]
    summary: dict[str, Any] = {}
    for name, scores in per_system.items():
        rows: dict[str, Any] = {"tuning": summarise(scores, tuning), "held_out": summarise(scores, held_out)}
        for bucket, _, _ in BUCKETS:
            rows[f"tuning {bucket}"] = summarise(
                scores, [q for q in tuning if bucket_of(judged.queries[q]) == bucket]
            )
            rows[f"held_out {bucket}"] = summarise(
                scores, [q for q in held_out if bucket_of(judged.queries[q]) == bucket]
            )
        summary[name] = rows
    return per_system, summary


def zero_hit_regressions(per_system: dict[str, Scores], baseline: str = "bm25_body") -> dict[str, list[str]]:
    """Queries where a system returns nothing but the baseline returns something."""
    base = per_system[baseline].hits
    return {
        name: sorted(q for q, count in scores.hits.items() if count == 0 and base[q] > 0)
        for name, scores in per_system.items()
    }


def markdown(results: dict[str, Any], system_names: Sequence[str]) -> str:
    """The README's tables: one row per set, split and length bucket with nDCG@10 of the project's
    request and the baselines, then P@10, MAP and queries with no hit for the project's request and
    plain BM25; then one row per variant tried, on the tuning queries."""
    systems = [name for name in system_names if name in TABLE_SYSTEMS]
    header = ["set", "queries", "n", *[f"nDCG@10 {name}" for name in systems]]
    header += ["P@10 project", "P@10 bm25", "MAP project", "MAP bm25", "no hit project", "no hit bm25"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for set_name, summary in results["sets"].items():
        for split in ("tuning", "held_out"):
            for row in (split, *(f"{split} {bucket}" for bucket, _, _ in BUCKETS)):
                first = summary[systems[0]][row]
                if not first.get("queries"):
                    continue
                cells = [set_name, row.replace("_", "-"), str(first["queries"])]
                cells += [f"{summary[name][row]['ndcg@10']:.3f}" for name in systems]
                project_row, bm25_row = summary["project"][row], summary["bm25_body"][row]
                cells += [f"{project_row['p@10']:.3f}", f"{bm25_row['p@10']:.3f}"]
                cells += [f"{project_row['map']:.3f}", f"{bm25_row['map']:.3f}"]
                cells += [str(project_row["no_hit"]), str(bm25_row["no_hit"])]
                lines.append("| " + " | ".join(cells) + " |")
    variants = [name for name in system_names if name not in TABLE_SYSTEMS]
    if variants:
        set_names = list(results["sets"])
        header = ["variant (tuning queries)", *(f"nDCG@10 {s}" for s in set_names), "worst bucket vs bm25"]
        lines += ["", "| " + " | ".join(header) + " | what changed |", "|" + "---|" * (len(header) + 1)]
        for name in ["project", "bm25_body", *variants]:
            cells = [f"{results['sets'][s][name]['tuning']['ndcg@10']:.3f}" for s in set_names]
            worst = min(
                summary[name][row]["ndcg@10"] - summary["bm25_body"][row]["ndcg@10"]
                for summary in results["sets"].values()
                for row in (f"tuning {bucket}" for bucket, _, _ in BUCKETS)
                if summary[name][row].get("queries")
            )
            cells.append(f"{worst:+.3f}")
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {results['systems'][name]} |")
    return "\n".join(lines) + "\n"


def run(set_names: Sequence[str], system_names: Sequence[str], show: bool = False) -> dict[str, Any]:
    systems = {name: SYSTEMS[name] for name in system_names}
    es = es_client()
    results: dict[str, Any] = {
        "systems": {name: describe(name) for name in systems},
        "sets": {},
    }
    results["zero_hit_regressions"] = {}
    results["per_query"] = {}
    started = time.monotonic()
    try:
        for set_name in set_names:
            judged = LOADERS[set_name]()
            per_system, summary = evaluate(es, judged, systems)
            results["sets"][set_name] = summary
            results["zero_hit_regressions"][set_name] = zero_hit_regressions(per_system)
            results["per_query"][set_name] = {
                qid: {name: round(per_system[name].ndcg[qid], 4) for name in systems if name in TABLE_SYSTEMS}
                for qid in judged.queries
                if show or qid not in judged.held_out
            }
    finally:
        es.close()
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(available_sets()), help="comma-separated: cisi,med,bbc")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated names of SYSTEMS")
    parser.add_argument("--show", action="store_true", help="also list per-query nDCG of held-out queries")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/relevance.*")
    args = parser.parse_args(argv)
    set_names = [name for name in args.sets.split(",") if name]
    if not set_names:
        print(
            "no judged sets found (../shared/corpora/ir-dev, bench/quality/labels/search_bbc.json)",
            file=sys.stderr,
        )
        return 2
    system_names = [name for name in args.systems.split(",") if name]
    for required in ("project", "bm25_body"):
        if required not in system_names:
            system_names.insert(0 if required == "project" else 1, required)
    results = run(set_names, system_names, show=args.show)
    table = markdown(results, system_names)
    print(table)
    for set_name, regressions in results["zero_hit_regressions"].items():
        for name, queries in regressions.items():
            if queries:
                print(
                    f"{set_name}: {name} returns nothing where plain BM25 returns hits: {', '.join(queries)}"
                )
    if not args.no_save:
        RESULTS_JSON.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        RESULTS_MD.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
