"""Precision and recall of quote attribution on hand-labelled BBC articles.

``python -m bench.quality.quotes_bbc [--split dev|test|all] [--no-entities] [--show]``

Labels (``bench/quality/labels/bbc_quotes.jsonl``, one line per article) give for every direct quote
of the article its span in the normalised body (start, end character offsets), a fingerprint (first
12 hex digits of the SHA-1 of the span's text, to notice when normalisation changes under the labels)
and the speaker's canonical name (``null`` when the text does not say who it is). No corpus text is
stored. Each article is split ``dev`` (used for tuning, ~60%) or ``test`` (held out).

Labelling guide, decided before the extractor was tuned:

* a quote is text in double quotes reproducing someone's words, of at least five words, or shorter
  when it is a complete attributed utterance ending in punctuation inside the marks ("I resign,"
  she said); scare quotes, quoted terms and titles of works are not quotes;
* paragraphs that re-open a quote mark without closing the previous one continue the same quote
  (the multi-paragraph convention); a quote interrupted by an attribution is two quotes;
* the speaker is the fullest name the article gives the person or organisation ("Ms Hewitt" ->
  "Patricia Hewitt"; "a spokesman for the LSE" -> "London Stock Exchange"; a report speaks for
  its named author); honorifics are ignored when comparing names.

Scoring: a predicted quote matches a gold quote when their spans overlap by at least half of the
shorter one (one-to-one, greedy by overlap). A (quote, speaker) pair is correct when it matches a
gold quote whose speaker equals the predicted one. Precision is over predicted quotes that name a
speaker; recall over gold quotes that have one. Quote detection (spans only) is reported too.

The pipeline run per article: ingest normalisation of the raw file (headline on the first line),
then the entities enricher when it exists (``--no-entities`` skips it), then places and quotes.
The corpus is read at run time from ``../shared/corpora/bbc-news`` and never copied.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.articles import Article, Quote
from services.enrich.enrichers import Enricher
from services.enrich.enrichers import places as places_module
from services.enrich.enrichers import quotes as quotes_module
from services.enrich.enrichers.places import places
from services.enrich.enrichers.quotes import quotes
from services.enrich.lexicon.names import TITLE_WORDS
from services.ingest.normalize import normalize
from services.ingest.parsing import TextSubmission

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "bbc-news"
LABELS = REPO_ROOT / "bench" / "quality" / "labels" / "bbc_quotes.jsonl"
RESULTS = REPO_ROOT / "bench" / "results" / "quotes_bbc.json"
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class GoldQuote:
    start: int
    end: int
    fingerprint: str
    speaker: str | None


@dataclass
class Counts:
    predicted_pairs: int = 0
    correct_pairs: int = 0
    gold_pairs: int = 0
    predicted_quotes: int = 0
    matched_quotes: int = 0
    gold_quotes: int = 0

    def add(self, other: Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> dict[str, float | int]:
        return {
            **vars(self),
            "pair_precision": _ratio(self.correct_pairs, self.predicted_pairs),
            "pair_recall": _ratio(self.correct_pairs, self.gold_pairs),
            "quote_precision": _ratio(self.matched_quotes, self.predicted_quotes),
            "quote_recall": _ratio(self.matched_quotes, self.gold_quotes),
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def same_speaker(predicted: str | None, gold: str | None) -> bool:
    return predicted is not None and gold is not None and _speaker_key(predicted) == _speaker_key(gold)


def _speaker_key(name: str) -> str:
    tokens = name.replace("’", "'").split()
    while len(tokens) > 1 and tokens[0].rstrip(".") in TITLE_WORDS:
        tokens.pop(0)
    return " ".join(tokens).casefold()


def overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    shorter = min(a[1] - a[0], b[1] - b[0])
    return shared / shorter if shared > 0 and shorter > 0 else 0.0


def score(predicted: Sequence[Quote], gold: Sequence[GoldQuote]) -> tuple[Counts, list[str]]:
    """Counts for one article and a line per disagreement."""
    counts = Counts(
        predicted_pairs=sum(quote.speaker is not None for quote in predicted),
        gold_pairs=sum(quote.speaker is not None for quote in gold),
        predicted_quotes=len(predicted),
        gold_quotes=len(gold),
    )
    candidates = sorted(
        (
            (overlap((quote.offset, quote.offset + len(quote.text)), (truth.start, truth.end)), p, g)
            for p, quote in enumerate(predicted)
            for g, truth in enumerate(gold)
        ),
        reverse=True,
    )
    matched_p: dict[int, int] = {}
    matched_g: set[int] = set()
    for share, p, g in candidates:
        if share >= MIN_OVERLAP and p not in matched_p and g not in matched_g:
            matched_p[p] = g
            matched_g.add(g)
    counts.matched_quotes = len(matched_p)
    notes = []
    for p, quote in enumerate(predicted):
        index = matched_p.get(p)
        truth = gold[index] if index is not None else None
        if truth is not None and same_speaker(quote.speaker, truth.speaker):
            counts.correct_pairs += 1
        elif quote.speaker is not None or (truth is not None and truth.speaker is not None):
            expected = "no quote" if truth is None else repr(truth.speaker)
            notes.append(f"  @{quote.offset}: predicted {quote.speaker!r}, gold {expected}")
    for g, truth in enumerate(gold):
        if g not in matched_g:
            notes.append(f"  @{truth.start}: missed quote of {truth.speaker!r}")
    return counts, notes


def load_labels(split: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [record for record in records if split == "all" or record["split"] == split]


def ingest(name: str) -> Article:
    raw = (CORPUS / name).read_text(encoding="utf-8", errors="replace")
    return normalize(TextSubmission(raw))


def entities_enricher() -> Enricher | None:
    try:
        module = importlib.import_module("services.enrich.enrichers.entities")
    except ImportError:
        return None
    step = getattr(module, "entities", None)
    return step if isinstance(step, Enricher) else None


def run(split: str, use_entities: bool, show: bool) -> dict[str, Any]:
    entities = entities_enricher() if use_entities else None
    totals = {"dev": Counts(), "test": Counts()}
    stale: list[str] = []
    places_module.warm_up()
    quotes_module.warm_up()  # loading the name lists is a one-off, not a per-article cost
    seconds = places_seconds = 0.0
    for record in load_labels(split):
        article = ingest(record["file"])
        gold = [GoldQuote(q["start"], q["end"], q["sha1"], q["speaker"]) for q in record["quotes"]]
        stale += [
            f"{record['file']}@{q.start}"
            for q in gold
            if hashlib.sha1(article.body[q.start : q.end].encode()).hexdigest()[:12] != q.fingerprint
        ]
        fields: dict[str, Any] = entities(article, {}) if entities else {}
        began = time.process_time()
        fields.update(places(article, fields))
        places_seconds += time.process_time() - began
        began = time.process_time()
        predicted = quotes(article, fields)["quotes"]
        seconds += time.process_time() - began
        counts, notes = score(predicted, gold)
        totals[record["split"]].add(counts)
        if show and notes:
            _print(record["file"], *notes, sep="\n")
    overall = Counts()
    for counts in totals.values():
        overall.add(counts)
    articles = len(load_labels(split))
    return {
        "split": split,
        "entities_enricher": entities is not None,
        "articles": articles,
        "quotes_cpu_ms_per_article": round(1000 * seconds / max(articles, 1), 2),
        "places_cpu_ms_per_article": round(1000 * places_seconds / max(articles, 1), 2),
        "stale_labels": stale,
        **{name: counts.summary() for name, counts in totals.items() if counts.gold_quotes},
        "all": overall.summary(),
    }


def _print(*parts: object, sep: str = " ", file: Any = None) -> None:
    (file or sys.stdout).write(sep.join(map(str, parts)) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--no-entities", action="store_true", help="skip the entities enricher")
    parser.add_argument("--show", action="store_true", help="print every disagreement")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        _print(f"BBC corpus not found at {CORPUS}: nothing to measure", file=sys.stderr)
        return 2
    result = run(args.split, not args.no_entities, args.show)
    _print(f"{'set':<6}{'pairs P':>9}{'pairs R':>9}{'quotes P':>10}{'quotes R':>10}{'gold pairs':>12}")
    for name in ("dev", "test", "all"):
        if name in result:
            row = result[name]
            _print(
                f"{name:<6}{row['pair_precision']:>9.3f}{row['pair_recall']:>9.3f}"
                f"{row['quote_precision']:>10.3f}{row['quote_recall']:>10.3f}{row['gold_pairs']:>12}"
            )
    _print(
        f"entities enricher: {'yes' if result['entities_enricher'] else 'no'}; "
        f"CPU ms/article: quotes {result['quotes_cpu_ms_per_article']}, "
        f"places {result['places_cpu_ms_per_article']}; "
        f"stale labels: {len(result['stale_labels'])}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
