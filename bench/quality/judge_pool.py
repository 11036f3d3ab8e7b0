"""The judging pool for the BBC search labels (``bench/quality/labels/search_bbc.json``), built reproducibly.

``python -m bench.quality.judge_pool [--only bbc01,bbc02] [--pool-out pools.json] [--body-chars 350]``

For every query of the label file this indexes the BBC corpus into a private throwaway index on the
local Elasticsearch (made from the project's own template, so the analyzer is the archive's) and
pools the union of:

* the top ``--depth`` (20) of five different requests: plain ``match`` on the body;
  ``multi_match`` best_fields over ``title^2`` and ``body``; ``combined_fields`` over title and body
  with operator ``and``; ``match_phrase`` on the body; and the project's own request
  (:func:`services.search.query.build_query`);
* a grep-style list: articles whose text contains every query word or an obvious variant of it
  (crude suffix stripping plus the few hand-written :data:`VARIANTS`), headline matches first, then
  the words side by side, capped at ``--grep-cap``, so relevant articles that no BM25 system ranks
  high can still be judged.

It prints each pooled article in id order (never in rank order, so ranks cannot bias the judge):
id, headline, the start of the body, how often the query words occur, and the sentences containing
them. The pools are written as JSON with ``--pool-out`` (query id -> doc ids) for ``pool_sizes``.
The private index is deleted at the end. The corpus is read at run time from
``../shared/corpora/bbc-news`` and never copied into the repository.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from schemas.search_index import index_template
from services.search.query import build_query

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "bbc-news"
LABELS = REPO_ROOT / "bench" / "quality" / "labels" / "search_bbc.json"
ES_URL = "http://127.0.0.1:9200"
CATEGORIES = ("business", "entertainment", "politics", "sport", "tech")
DEPTH = 20
GREP_CAP = 25
SENTENCES_SHOWN = 4
SENTENCE_CHARS = 260
#: Word forms the articles use that suffix stripping does not reach (query word -> extra regexes).
VARIANTS: dict[str, tuple[str, ...]] = {
    "japanese": (r"japan\w*",),
    "dems": (r"democrats?",),
    "lib": (r"liberal",),
    "identity": (r"id",),
    "licence": (r"licen[cs]e\w*",),
}
STOPWORDS = frozenset({"of", "the", "a", "an", "and", "in", "on", "for", "to"})
SUFFIXES = ("ing", "ers", "er", "es", "s", "ed")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Article:
    doc_id: str  # "business/001"
    title: str
    body: str

    @property
    def es_id(self) -> str:
        return self.doc_id.replace("/", "-")


def load_corpus(root: Path) -> list[Article]:
    articles = []
    for category in CATEGORIES:
        for path in sorted((root / category).glob("*.txt")):
            raw = path.read_text(encoding="utf-8", errors="replace").strip()
            title, _, body = raw.partition("\n")
            articles.append(Article(f"{category}/{path.stem}", title.strip(), body.strip()))
    return articles


def query_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[\w'-]+", text.lower()) if w not in STOPWORDS]


def word_pattern(word: str) -> re.Pattern[str]:
    """A word, its crude stem followed by any ending, and its :data:`VARIANTS`; short words only ±s."""
    forms = [re.escape(word) + r"s?"]
    if len(word) >= 5:
        stem = word
        for suffix in SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 4:
                stem = stem[: -len(suffix)]
                break
        forms.append(re.escape(stem) + r"\w*")
    forms += VARIANTS.get(word, ())
    return re.compile(r"\b(?:" + "|".join(forms) + r")\b", re.IGNORECASE)


def grep_candidates(text: str, articles: list[Article], cap: int) -> list[str]:
    """Articles containing every query word (or a variant), best first, at most ``cap``.

    Best means: all words in the headline, then most occurrences of the words next to each other in
    query order, then most occurrences of the rarest word (a total count would let one frequent word,
    "cards", crowd out articles about "identity cards").
    """
    patterns = [word_pattern(w) for w in query_words(text)]
    adjacent = re.compile(r"\W+".join(p.pattern for p in patterns), re.IGNORECASE)
    found = []
    for article in articles:
        full = article.title + "\n" + article.body
        if patterns and all(p.search(full) for p in patterns):
            in_title = all(p.search(article.title) for p in patterns)
            rarest = min(len(p.findall(full)) for p in patterns)
            found.append((not in_title, -len(adjacent.findall(full)), -rarest, article.doc_id))
    return [doc_id for *_, doc_id in sorted(found)[:cap]]


def system_requests(text: str, depth: int) -> dict[str, dict[str, Any]]:
    bare = text.replace('"', " ").strip()
    project = build_query(text, size=depth)
    for unused in ("aggs", "highlight"):
        project.pop(unused, None)
    return {
        "match_body": {"query": {"match": {"body": bare}}},
        "multi_match_best": {
            "query": {"multi_match": {"query": bare, "fields": ["title^2", "body"], "type": "best_fields"}}
        },
        "combined_and": {
            "query": {"combined_fields": {"query": bare, "fields": ["title", "body"], "operator": "and"}}
        },
        "phrase_body": {"query": {"match_phrase": {"body": bare}}},
        "project": project,
    }


def create_index(es: Elasticsearch, articles: list[Article]) -> str:
    name = f"newswire-judge-pool-{uuid.uuid4().hex[:10]}"
    template = copy.deepcopy(index_template()["template"])
    es.indices.create(index=name, settings=template["settings"], mappings=template["mappings"])
    actions = (
        {"_index": name, "_id": a.es_id, "_source": {"id": a.es_id, "title": a.title, "body": a.body}}
        for a in articles
    )
    helpers.bulk(es, actions, chunk_size=500)
    es.indices.refresh(index=name)
    return name


def pool_for(
    es: Elasticsearch, index: str, text: str, articles: list[Article], depth: int, cap: int
) -> set[str]:
    by_es_id = {a.es_id: a.doc_id for a in articles}
    pool: set[str] = set()
    for request in system_requests(text, depth).values():
        request = {**request, "size": depth, "_source": False}
        hits = es.search(index=index, body=request)["hits"]["hits"]
        pool.update(by_es_id[hit["_id"]] for hit in hits)
    pool.update(grep_candidates(text, articles, cap))
    return pool


def describe(article: Article, text: str, body_chars: int, sentences: int, sentence_chars: int) -> str:
    patterns = [word_pattern(w) for w in query_words(text)]
    full = article.title + "\n" + article.body
    counts = [len(p.findall(full)) for p in patterns]
    head = f"== {article.doc_id} | {article.title} | mentions {counts}"
    if not any(counts):
        return head + " | (no query word)"
    lines = [head, "   " + article.body[:body_chars].replace("\n", " ")]
    shown = 0
    for sentence in SENTENCE_END.split(article.body[body_chars:]):
        if shown == sentences:
            break
        if any(p.search(sentence) for p in patterns):
            lines.append("   > " + sentence.strip()[:sentence_chars])
            shown += 1
    return "\n".join(lines)


def write(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--es", default=ES_URL)
    parser.add_argument("--only", default="", help="comma-separated query ids (default: all)")
    parser.add_argument("--depth", type=int, default=DEPTH)
    parser.add_argument("--grep-cap", type=int, default=GREP_CAP)
    parser.add_argument("--body-chars", type=int, default=350)
    parser.add_argument("--sentences", type=int, default=SENTENCES_SHOWN, help="matching sentences shown")
    parser.add_argument("--sentence-chars", type=int, default=SENTENCE_CHARS)
    parser.add_argument("--pool-out", type=Path, help="write query id -> pooled doc ids as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)

    queries: dict[str, dict[str, Any]] = json.loads(args.labels.read_text(encoding="utf-8"))["queries"]
    wanted = [q for q in args.only.split(",") if q] or list(queries)
    articles = load_corpus(args.corpus)
    by_id = {a.doc_id: a for a in articles}
    es = Elasticsearch(args.es, request_timeout=60)
    index = create_index(es, articles)
    pools: dict[str, list[str]] = {}
    try:
        for query_id in wanted:
            text = queries[query_id]["text"]
            pool = sorted(pool_for(es, index, text, articles, args.depth, args.grep_cap))
            pools[query_id] = pool
            write(f"\n######## {query_id} {text!r} ({queries[query_id]['kind']}): {len(pool)} pooled")
            for doc_id in pool:
                write(describe(by_id[doc_id], text, args.body_chars, args.sentences, args.sentence_chars))
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
    if args.pool_out:
        args.pool_out.write_text(json.dumps(pools, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
