"""Writes the JSON Schema of every event into ``schemas/json``; ``--check`` fails on drift.

Usage: ``python -m schemas.generate [--check]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.articles import RawArticle
from schemas.dead_letter import DeadLetter
from schemas.envelope import ArticleEnriched, ArticleIngested
from schemas.watches import AlertEvent, Watch

JSON_DIR = Path(__file__).parent / "json"

SCHEMAS: dict[str, type[BaseModel]] = {
    "articles.raw.schema.json": RawArticle,
    "articles.ingested.schema.json": ArticleIngested,
    "articles.enriched.schema.json": ArticleEnriched,
    "articles.dlq.schema.json": DeadLetter,
    "articles.alerts.schema.json": AlertEvent,
    "watch.schema.json": Watch,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def drifted() -> list[str]:
    """Names of schema files that differ from what the models generate."""
    stale = []
    for name, model in SCHEMAS.items():
        path = JSON_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(model):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the files are out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted()
        if stale:
            sys.stderr.write(f"stale JSON Schema files: {', '.join(stale)}; run python -m schemas.generate\n")
            return 1
        return 0
    JSON_DIR.mkdir(exist_ok=True)
    for name, model in SCHEMAS.items():
        (JSON_DIR / name).write_text(render(model), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
