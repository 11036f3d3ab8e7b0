"""Entity quality and cost on CoNLL-2003, per document: ``python -m bench.quality.ner_conll``.

``python -m bench.quality.ner_conll [--corpus valid|train|PATH] [--split tune|check|all] [--show]``

CoNLL-2003 (``shared/corpora/conll2003``) is read at run time and used for measuring only: its
licence forbids shipping anything trained on it, and nothing from it is copied into the repository.

Each ``-DOCSTART-`` document is rebuilt as an article: the first sentence is the title, every other
sentence a paragraph; tokens are detokenised (no space before closing punctuation and ``'s``, none
inside quotes and brackets). Gold is the SET of distinct PER, ORG and LOC names of the document
(the exact token span, case-sensitive; MISC is ignored); predicted is the set of our entities of
each type.

Scoring, per type, micro-averaged over documents: a predicted entity is correct when its canonical
name or one of its aliases equals a gold name of the same type (our canonical name may be a longer
form: "Phil Simmons" with alias "Simmons" matches both gold "Phil Simmons" and gold "Simmons").
Precision = correct predicted entities / predicted entities; recall = gold names matched by a
predicted entity's name or alias / gold names. A final full stop is ignored on both sides: the
corpus splits a sentence's full stop from an abbreviation that ends it ("Calif" "."), which
detokenised reads "Calif." like the same abbreviation inside a sentence.

Split: a document belongs to the ``check`` part when the first byte of SHA-256("ner_conll:" + its
text, one sentence a line) is below 52 (about 1 in 5, fixed by the text alone), else to ``tune``.
Rules are tuned on the ``tune`` part of ``train``; ``check`` is only looked at as a summary figure,
to see whether the rules fit the tune part better than unseen text; ``valid`` is held out as a
whole (run it only to report). ``--show`` prints the misses and false entities by type, and only
for the ``tune`` part of ``train``.

CPU time (``time.process_time``) covers the whole extraction (backend and resolution) per document,
after one warm-up; it is also given per 600 words, the size of a typical news article.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.provenance import code_version
from schemas.articles import Article, ContentFormat, Entity
from services.enrich.enrichers.entities import BACKENDS, extract_entities, warm_up

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPORA = REPO_ROOT.parent / "shared" / "corpora" / "conll2003"
DEFAULT_CORPUS = CORPORA / "valid.txt"
SPLITS = ("tune", "check", "all")
CHECK_SALT = "ner_conll:"
#: First bytes below this put a document in the check part: 52/256, about one in five.
CHECK_BELOW = 52
SHOWN_PER_KIND = 40
RESULTS_DIR = REPO_ROOT / "bench" / "results"
TYPES = ("PER", "ORG", "LOC")
WORDS_PER_ARTICLE = 600

_NO_SPACE_BEFORE = frozenset(
    {",", ".", ";", ":", ")", "]", "}", "?", "!", "%", "'s", "n't", "'", "'re", "'ve", "'ll", "'d", "'m"}
)
_NO_SPACE_AFTER = frozenset({"(", "[", "{", "$"})

Token = tuple[str, str]  # (word, IOB tag)
Sentence = list[Token]


@dataclass
class Document:
    sentences: list[Sentence]

    @property
    def lines(self) -> list[str]:
        return [detokenize([word for word, _ in sentence]) for sentence in self.sentences]

    @property
    def part(self) -> str:
        """``check`` or ``tune``, fixed by the document's text alone."""
        text = "\n".join(" ".join(word for word, _ in sentence) for sentence in self.sentences)
        digest = hashlib.sha256((CHECK_SALT + text).encode()).digest()
        return "check" if digest[0] < CHECK_BELOW else "tune"

    def gold(self) -> dict[str, set[str]]:
        names: dict[str, set[str]] = defaultdict(set)
        for sentence in self.sentences:
            kind: str | None = None
            words: list[str] = []
            for word, tag in [*sentence, ("", "O")]:
                continues = tag.startswith("I-") and tag[2:] == kind
                if not continues:
                    if kind in TYPES:
                        names[kind].add(detokenize(words))
                    kind, words = (tag[2:], [word]) if tag != "O" else (None, [])
                else:
                    words.append(word)
        return names


@dataclass
class Tally:
    predicted: int = 0
    correct: int = 0
    gold: int = 0
    found: int = 0

    def scores(self) -> dict[str, float]:
        precision = self.correct / self.predicted if self.predicted else 0.0
        recall = self.found / self.gold if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


@dataclass
class Run:
    backend: str
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in TYPES})
    cpu_seconds: float = 0.0
    documents: int = 0
    words: int = 0
    split: str = "all"
    #: (kind, what, name) -> count, what being "missed", "false" or "false, gold as <kind>"
    errors: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def read_documents(path: Path) -> Iterator[Document]:
    """CoNLL-2003 columns ``token POS chunk NER``; blank lines end sentences, -DOCSTART- documents."""
    sentences: list[Sentence] = []
    sentence: Sentence = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            columns = line.split()
            if not columns:
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                continue
            if columns[0] == "-DOCSTART-":
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                if sentences:
                    yield Document(sentences)
                sentences = []
                continue
            sentence.append((columns[0], columns[-1]))
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield Document(sentences)


def detokenize(words: list[str]) -> str:
    text = ""
    inside_quotes = False
    previous = ""
    for word in words:
        space = bool(text) and word not in _NO_SPACE_BEFORE and previous not in _NO_SPACE_AFTER
        if word == '"':
            if inside_quotes:
                space = False
            inside_quotes = not inside_quotes
        elif previous == '"' and inside_quotes:
            space = False
        text += (" " if space else "") + word
        previous = word
    return text


def as_article(document: Document) -> Article:
    lines = document.lines
    title, paragraphs = lines[0], lines[1:] or lines[:1]
    return Article(
        id=uuid.uuid4().hex,
        id_basis="content",
        title=title[:1000],
        paragraphs=paragraphs,
        content_format=ContentFormat.TEXT,
        content_hash=hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        ingested_at=datetime.now(UTC),
    )


def _without_full_stop(name: str) -> str:
    """'Calif.' and 'Calif', 'Walt Disney Co.' and 'Walt Disney Co' are one name here (see above)."""
    return name[:-1] if name.endswith(".") and len(name) > 2 else name


def score(run: Run, gold: dict[str, set[str]], predicted: list[Entity], show: bool = False) -> None:
    gold = {kind: {_without_full_stop(name) for name in names} for kind, names in gold.items()}
    for kind in TYPES:
        tally = run.tallies[kind]
        names = gold.get(kind, set())
        ours = [entity for entity in predicted if entity.type.value == kind]
        matched: set[str] = set()
        for entity in ours:
            forms = {_without_full_stop(form) for form in (entity.name, *entity.aliases)} & names
            tally.correct += bool(forms)
            matched |= forms
            if show and not forms:
                all_forms = {_without_full_stop(form) for form in (entity.name, *entity.aliases)}
                other = [other for other in TYPES if all_forms & gold.get(other, set())]
                run.errors[(kind, f"false, gold {other[0]}" if other else "false", entity.name)] += 1
        tally.predicted += len(ours)
        tally.gold += len(names)
        tally.found += len(matched)
        if show:
            for name in names - matched:
                typed = [
                    entity.type.value
                    for entity in predicted
                    if name in {_without_full_stop(form) for form in (entity.name, *entity.aliases)}
                ]
                run.errors[(kind, f"missed, ours {typed[0]}" if typed else "missed", name)] += 1


def measure(path: Path, backend: str, limit: int | None, split: str = "all", show: bool = False) -> Run:
    warm_up(backend)
    run = Run(backend, split=split)
    for document in read_documents(path):
        if limit is not None and run.documents >= limit:
            break
        if split != "all" and document.part != split:
            continue
        article = as_article(document)
        started = time.process_time()
        predicted = extract_entities(article, backend)
        run.cpu_seconds += time.process_time() - started
        run.documents += 1
        run.words += sum(len(line.split()) for line in document.lines)
        score(run, document.gold(), predicted, show)
    return run


def errors_table(run: Run) -> str:
    """The most frequent misses and false entities of each type (document counts)."""
    rows: list[str] = []
    for kind in TYPES:
        for what in ("missed", "false"):
            found = [
                (count, key)
                for key, count in run.errors.items()
                if key[0] == kind and key[1].startswith(what)
            ]
            found.sort(key=lambda item: (-item[0], item[1]))
            total = sum(count for count, _ in found)
            rows.append(f"\n## {kind} {what}: {total}")
            by_cause = Counter(key[1] for count, key in found for _ in range(count))
            rows.append("  " + ", ".join(f"{cause}: {count}" for cause, count in by_cause.most_common()))
            rows += [f"  {count:3d}  {name}  ({cause})" for count, (_, cause, name) in found[:SHOWN_PER_KIND]]
    return "\n".join(rows)


def report(run: Run, corpus: Path) -> dict[str, object]:
    per_document_ms = 1000 * run.cpu_seconds / max(run.documents, 1)
    per_article_ms = 1000 * run.cpu_seconds * WORDS_PER_ARTICLE / max(run.words, 1)
    return {
        "benchmark": "ner_conll",
        "backend": run.backend,
        "corpus": str(corpus),
        "split": run.split,
        "split_rule": f"check when SHA-256({CHECK_SALT!r} + document text)[0] < {CHECK_BELOW}, else tune",
        "tuned_on": "train, tune part; train's check part and valid are not tuned on",
        "documents": run.documents,
        "words": run.words,
        "scores": {kind: run.tallies[kind].scores() | vars(run.tallies[kind]) for kind in TYPES},
        "cpu_ms_per_document": round(per_document_ms, 2),
        "cpu_ms_per_600_words": round(per_article_ms, 2),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(),
        "code": code_version("services/enrich"),
    }


def markdown(result: dict[str, object]) -> str:
    scores = result["scores"]
    assert isinstance(scores, dict)
    rows = [
        f"Backend `{result['backend']}` on {result['documents']} documents ({result['words']} words), "
        f"{Path(str(result['corpus'])).stem} split {result['split']}",
        "",
        "| type | precision | recall | F1 | predicted | gold |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind in TYPES:
        entry = scores[kind]
        rows.append(
            f"| {kind} | {entry['precision']:.3f} | {entry['recall']:.3f} | {entry['f1']:.3f} "
            f"| {entry['predicted']} | {entry['gold']} |"
        )
    rows += [
        "",
        f"CPU: {result['cpu_ms_per_document']} ms per document, "
        f"{result['cpu_ms_per_600_words']} ms per {WORDS_PER_ARTICLE} words",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=BACKENDS, default="rules")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument(
        "--corpus", default=str(DEFAULT_CORPUS), help="valid (default), train, or the path of a CoNLL file"
    )
    parser.add_argument("--split", choices=SPLITS, default="all", help="part of the documents (see above)")
    parser.add_argument(
        "--show", action="store_true", help="print misses and false entities (train tune only)"
    )
    args = parser.parse_args(argv)
    corpus = CORPORA / f"{args.corpus}.txt" if args.corpus in ("train", "valid") else Path(args.corpus)
    if args.show and (args.split != "tune" or corpus.stem != "train"):
        sys.stderr.write("--show is for the tune part of train only (--corpus train --split tune)\n")
        return 2
    if not corpus.is_file():
        sys.stderr.write(f"CoNLL-2003 not found at {corpus}; nothing measured\n")
        return 2
    run = measure(corpus, args.backend, args.limit, args.split, args.show)
    result = report(run, corpus)
    sys.stdout.write(markdown(result) + "\n")
    if args.show:
        sys.stdout.write(errors_table(run) + "\n")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    split = "" if args.split == "all" else f"-{args.split}"
    target = RESULTS_DIR / f"ner_conll-{args.backend}-{corpus.stem}{split}.json"
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"\nwritten to {target.relative_to(REPO_ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
