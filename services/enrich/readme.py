"""The enrichers as README.md and the enrich package's docstring list them, generated from the pipeline.

``python3 -m services.enrich.readme`` rewrites both lists from :data:`services.enrich.pipeline.ENRICHERS`
(name, version, the first line of the enricher's docstring, how much of the body it reads);
``--check`` changes nothing and exits 1 when either has drifted, as ``make lint`` runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.enrich.enrichers import Enricher
from services.enrich.pipeline import ENRICHERS, TEXT_BUDGET_CHARS, WHOLE_BODY_ENRICHERS

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
PACKAGE_INIT = Path(__file__).with_name("__init__.py")
README_MARKERS = ("<!-- enrichers:start -->", "<!-- enrichers:end -->")
#: The docstring paragraph that lists the enrichers starts with this and ends at a blank line.
DOCSTRING_LEAD = "Enrichers, in run order"
DOCSTRING_WIDTH = 110


def summary_line(step: Enricher) -> str:
    """The first line of the enricher function's docstring: what it adds."""
    lines = (step.run.__doc__ or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def reads(step: Enricher) -> str:
    if step.name in WHOLE_BODY_ENRICHERS or TEXT_BUDGET_CHARS is None:
        return "the whole body"
    return f"the first {TEXT_BUDGET_CHARS:,} characters"


def enrichers_markdown(enrichers: Sequence[Enricher] = ENRICHERS) -> str:
    """The Markdown table of the enrichers, in run order, as README shows it."""
    rows = [
        f"| `{step.name}` | {step.version} | {reads(step)} | {summary_line(step)} |" for step in enrichers
    ]
    return "\n".join(["| enricher | version | reads | what it adds |", "| --- | --- | --- | --- |", *rows])


def with_enrichers_table(document: str, enrichers: Sequence[Enricher] = ENRICHERS) -> str:
    """``document`` with the text between :data:`README_MARKERS` replaced by the current table."""
    start, end = README_MARKERS
    head, found_start, rest = document.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found_start and found_end):
        raise ValueError(f"the document has no {start} ... {end} block")
    return f"{head}{start}\n{enrichers_markdown(enrichers)}\n{end}{tail}"


def enrichers_paragraph(enrichers: Sequence[Enricher] = ENRICHERS) -> str:
    """The docstring's paragraph naming the enrichers in run order, wrapped to the line length."""
    words = (
        f"{DOCSTRING_LEAD} (:data:`services.enrich.pipeline.ENRICHERS`, listed by :mod:`.readme`):".split()
    )
    names = [f"``{step.name}``" for step in enrichers]
    words += [f"{name}," for name in names[:-1]] + [f"{names[-1]}."]
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= DOCSTRING_WIDTH:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def with_enrichers_paragraph(source: str, enrichers: Sequence[Enricher] = ENRICHERS) -> str:
    """The package's source with its docstring's enrichers paragraph replaced by the current one."""
    start = source.find(DOCSTRING_LEAD)
    if start < 0:
        raise ValueError(f"the docstring has no paragraph starting {DOCSTRING_LEAD!r}")
    # The paragraph ends with its last newline: before a blank line or the docstring's closing quotes.
    blank, closing = source.find("\n\n", start), source.find('"""', start)
    end = min(position for position in (blank + 1 if blank >= 0 else -1, closing) if position >= 0)
    return f"{source[:start]}{enrichers_paragraph(enrichers)}\n{source[end:]}"


def drifted() -> list[Path]:
    """The files whose enricher list is not the pipeline's."""
    found = []
    for path, regenerate in ((README, with_enrichers_table), (PACKAGE_INIT, with_enrichers_paragraph)):
        text = path.read_text(encoding="utf-8")
        if regenerate(text) != text:
            found.append(path)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a list drifted")
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted()
        for path in stale:
            relative = path.relative_to(REPO_ROOT)
            sys.stderr.write(
                f"{relative}: the enricher list drifted; run python3 -m services.enrich.readme\n"
            )
        return 1 if stale else 0
    for path, regenerate in ((README, with_enrichers_table), (PACKAGE_INIT, with_enrichers_paragraph)):
        path.write_text(regenerate(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
