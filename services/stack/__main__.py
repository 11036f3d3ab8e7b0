"""python -m services.stack up|down|status [--json] [-v]"""

from __future__ import annotations

import argparse
import logging
import sys

from .manager import down, status, up
from .models import ComponentStatus, StackStatus
from .process import StackError
from .settings import StackSettings


def _line(c: ComponentStatus) -> str:
    state = "healthy" if c.healthy else ("running, NOT healthy" if c.running else "stopped")
    parts = [f"{c.name:<14}{state:<22}{c.address}"]
    if c.pid:
        parts.append(f"pid {c.pid}")
    if c.version:
        parts.append(f"v{c.version}")
    if c.action not in ("none",):
        parts.append(c.action)
    if c.startup_seconds:
        parts.append(f"{c.startup_seconds:.1f}s")
    if c.running and not c.managed:
        parts.append("(not managed here)")
    line = "  ".join(parts)
    if c.log_path:
        line += f"\n{'':<14}log: {c.log_path}"
    if c.detail:
        line += f"\n{'':<14}{c.detail}"
    return line


def render(result: StackStatus) -> str:
    lines = [f"state dir     {result.state_dir}", *(_line(c) for c in result.components)]
    if result.timings:
        lines.append("timings       " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("kafka").setLevel(logging.CRITICAL if not args.verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = StackSettings()
    try:
        result = {"up": up, "down": down, "status": status}[args.command](settings)
    except StackError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write((result.model_dump_json(indent=2) if args.json else render(result)) + "\n")
    if args.command == "up":
        return 0 if result.healthy else 1
    if args.command == "status":
        return 0 if result.healthy else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
