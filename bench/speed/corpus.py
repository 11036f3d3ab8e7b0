"""The benchmark's articles: the BBC News corpus, replicated under distinct URLs to any count.

The corpus is read at run time from ``../shared/corpora/bbc-news`` (one ``<category>/NNN.txt`` per
article, headline on the first line); its text is never stored in the repository. Copies differ by
URL only, so every copy gets its own article id (ids come from the canonical URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from services.ingest.identity import article_id, canonicalize_url

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "bbc-news"
URL_HOST = "bench.newswire.test"


class CorpusMissing(Exception):
    """The corpus is not where it was looked for."""


@dataclass(frozen=True)
class CorpusArticle:
    category: str
    number: str
    title: str
    body: str


def load_corpus(directory: Path = DEFAULT_CORPUS) -> list[CorpusArticle]:
    """Every article of the corpus, in a stable order; raises :class:`CorpusMissing` without it."""
    files = sorted(directory.glob("*/*.txt")) if directory.is_dir() else []
    if not files:
        raise CorpusMissing(f"no BBC News corpus at {directory} (expected <category>/NNN.txt files)")
    articles = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        title, _, body = text.partition("\n")
        if title.strip() and body.strip():
            articles.append(CorpusArticle(path.parent.name, path.stem, title.strip(), body.strip()))
    return articles


def article_url(article: CorpusArticle, copy: int, tag: str) -> str:
    return f"https://{URL_HOST}/{tag}/{article.category}/{article.number}/{copy}"


def raw_articles(corpus: list[CorpusArticle], count: int, tag: str) -> Iterator[dict[str, Any]]:
    """``count`` structured submissions (``RawArticle`` JSON), cycling through the corpus.

    ``tag`` goes into every URL, so two sets made with different tags never share an id.
    """
    for index in range(count):
        article = corpus[index % len(corpus)]
        yield {
            "title": article.title,
            "body": article.body,
            "url": article_url(article, index // len(corpus), tag),
            "source": "BBC News",
            "section": article.category,
            "language": "en",
        }


def expected_id(raw: dict[str, Any]) -> str:
    """The id ingest gives ``raw`` (it has a URL, so the id is the hash of the canonical URL)."""
    return article_id(canonicalize_url(raw["url"]), raw["title"], raw["body"])[0]


def write_jsonl(path: Path, articles: Iterator[dict[str, Any]]) -> int:
    """Write one submission per line; return how many."""
    count = 0
    with path.open("wb") as out:
        for article in articles:
            out.write(orjson.dumps(article) + b"\n")
            count += 1
    return count
