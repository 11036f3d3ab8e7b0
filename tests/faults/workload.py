"""What the fault suite publishes, and what it expects to find afterwards.

Good articles come from the BBC corpus when it is present (read at run time, never copied into the
repository), each file published several times under distinct URLs until there are enough; without
the corpus, synthetic articles stand in so that the suite always runs. Among them go revisions
sent newest first, exact re-sends of some articles, and every event of the bad-input catalogue.
The article ids to expect are computed offline with ingest's own parsing and normalisation.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from schemas.topics import TOPICS
from services.ingest.normalize import normalize
from services.ingest.parsing import IngestRejection, parse_submission
from services.runtime.messages import TRACE_HEADER
from tests.faults.bad_events import BadEvent, catalogue

BBC_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "bbc-news"
URL_BASE = "https://faults.newswire.test"
_WORDS = tuple(
    [
        "council",
        "budget",
        "river",
        "bridge",
        "minister",
        "harbour",
        "election",
        "festival",
        "school",
        "railway",
        "market",
        "storm",
        "hospital",
        "museum",
        "court",
        "energy",
        "farmers",
        "port",
        "airline",
        "strike",
        "treaty",
        "summit",
        "coast",
        "village",
    ]
)


@dataclass(frozen=True)
class Outgoing:
    """One record to publish."""

    topic: str
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    trace_id: str
    kind: str
    article_id: str | None = None
    key: bytes | None = None
    bad: BadEvent | None = None


@dataclass
class Workload:
    messages: list[Outgoing] = field(default_factory=list)
    #: Article ids ingest will emit: the index must end up with exactly these documents.
    expected_ids: set[str] = field(default_factory=set)
    #: Trace id -> the bad event published under it: the DLQ must hold exactly these.
    bad_by_trace: dict[str, BadEvent] = field(default_factory=dict)
    #: Article id -> (revision, title) that must win although an older revision is sent later.
    newest_revision: dict[str, tuple[int, str]] = field(default_factory=dict)
    source: str = ""
    refused_offline: int = 0

    def count(self, kind: str) -> int:
        return sum(message.kind == kind for message in self.messages)


def corpus_texts(limit: int) -> list[tuple[str, str]]:
    """(name, text) of BBC articles, or [] when the corpus is not on this machine."""
    if not BBC_CORPUS.is_dir():
        return []
    files = sorted(BBC_CORPUS.glob("*/*.txt"))[:limit]
    return [
        (f"{path.parent.name}/{path.stem}", path.read_text(encoding="utf-8", errors="replace"))
        for path in files
    ]


def synthetic_texts(count: int, rng: random.Random) -> list[tuple[str, str]]:
    texts = []
    for n in range(count):
        title = f"Synthetic report {n}: {' '.join(rng.choices(_WORDS, k=5))}"
        paragraphs = [
            " ".join(rng.choices(_WORDS, k=rng.randint(15, 40))).capitalize() + "."
            for _ in range(rng.randint(3, 8))
        ]
        texts.append((f"synthetic/{n:05d}", "\n\n".join([title, *paragraphs])))
    return texts


def _expected_id(value: bytes, content_type: str) -> str | None:
    try:
        return normalize(parse_submission(value, content_type), received_at_ms=0).id
    except IngestRejection:
        return None


def _headers(trace_id: str, content_type: str) -> tuple[tuple[str, bytes], ...]:
    return ((TRACE_HEADER, trace_id.encode()), ("content-type", content_type.encode()))


def _as_json(name: str, text: str, copy: int | str, **extra: object) -> bytes:
    title, _, body = text.strip().partition("\n")
    return orjson.dumps(
        {
            "title": title.strip(),
            "body": body.strip(),
            "url": f"{URL_BASE}/{name}/{copy}",
            "source": "Fault suite",
            **extra,
        }
    )


def build_workload(articles: int, rng: random.Random, salt: str = "") -> Workload:
    """``articles`` distinct good articles, their revisions and re-sends, and the bad catalogue, shuffled."""
    texts = corpus_texts(articles)
    workload = Workload(source=f"BBC corpus ({len(texts)} files)" if texts else "synthetic")
    if not texts:
        texts = synthetic_texts(min(articles, 2_500), rng)

    good: list[Outgoing] = []
    seen: set[str] = set()
    copy = 0
    while len(workload.expected_ids) < articles:
        for name, text in texts:
            if len(workload.expected_ids) >= articles:
                break
            # A quarter of the first copies go in as raw page text (id from the content), the rest
            # as JSON with a URL per copy (id from the URL).
            if copy == 0 and rng.random() < 0.25:
                value, content_type = text.encode(), "text/plain"
            else:
                value, content_type = _as_json(name, text, f"{salt}{copy}"), "application/json"
            article_id = _expected_id(value, content_type)
            if article_id is None:
                workload.refused_offline += 1
                continue
            if article_id in seen:
                continue  # the corpus has a few verbatim duplicates
            seen.add(article_id)
            workload.expected_ids.add(article_id)
            trace_id = uuid.uuid4().hex
            good.append(
                Outgoing(TOPICS.raw, value, _headers(trace_id, content_type), trace_id, "good", article_id)
            )
        copy += 1

    # Revisions: the newest is published first and an older one later; the newest must stay.
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    revised = rng.sample([m for m in good if m.value and m.value.startswith(b"{")], k=max(10, articles // 40))
    late_old_revisions: list[Outgoing] = []
    for message in revised:
        document = orjson.loads(message.value or b"{}")
        newest_at, older_at = base + timedelta(hours=2), base + timedelta(hours=1)
        newest = {
            **document,
            "title": f"{document['title']} (revision 2)",
            "updated_at": newest_at.isoformat(),
        }
        older = {**document, "title": f"{document['title']} (revision 1)", "updated_at": older_at.isoformat()}
        index = good.index(message)
        good[index] = Outgoing(
            TOPICS.raw,
            orjson.dumps(newest),
            message.headers,
            message.trace_id,
            "revision_newest",
            message.article_id,
        )
        # the title as ingest normalizes it (whitespace collapsed), which is what the index holds
        newest_title = normalize(parse_submission(orjson.dumps(newest), "application/json")).title
        workload.newest_revision[message.article_id or ""] = (
            int(newest_at.timestamp() * 1000),
            newest_title,
        )
        trace_id = uuid.uuid4().hex
        late_old_revisions.append(
            Outgoing(
                TOPICS.raw,
                orjson.dumps(older),
                _headers(trace_id, "application/json"),
                trace_id,
                "revision_older",
                message.article_id,
            )
        )

    resent = [
        Outgoing(m.topic, m.value, m.headers, m.trace_id, "resent", m.article_id)
        for m in rng.sample([m for m in good if m.kind == "good"], k=max(10, articles // 30))
    ]

    bad: list[Outgoing] = []
    for event in catalogue():
        trace_id = uuid.uuid4().hex
        workload.bad_by_trace[trace_id] = event
        bad.append(
            Outgoing(
                event.topic,
                event.value,
                tuple(event.headers(trace_id)),
                trace_id,
                "bad",
                key=event.key,
                bad=event,
            )
        )

    # Older revisions and re-sends always come after what they repeat: in the second half.
    first_half, second_half = good[: len(good) // 2], good[len(good) // 2 :]
    second_half += late_old_revisions + resent
    rng.shuffle(second_half)
    messages = first_half + second_half
    for message in bad:
        messages.insert(rng.randrange(len(messages) + 1), message)
    # ...but a re-send or older revision shuffled before its original would not be "later": fix up.
    workload.messages = _older_after_newest(messages)
    return workload


def _older_after_newest(messages: list[Outgoing]) -> list[Outgoing]:
    """Move every older revision or re-send behind the first publication of its article."""
    first_seen: dict[str, int] = {}
    ordered: list[Outgoing] = []
    deferred: list[Outgoing] = []
    for message in messages:
        if message.kind in ("revision_older", "resent") and message.article_id not in first_seen:
            deferred.append(message)
            continue
        if message.article_id:
            first_seen.setdefault(message.article_id, len(ordered))
        ordered.append(message)
    return ordered + deferred
