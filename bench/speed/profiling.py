"""Optional sampling profiles of the services under test (``--profile``), taken with py-spy.

py-spy attaches to a running process from outside, so the service runs exactly as in production;
``--nonblocking`` keeps the sampling from pausing it. Only running threads are sampled, so the shares
are of CPU time. Each profile is kept as collapsed stacks (open them in speedscope or any flamegraph
tool) and summarized as the functions holding the most samples.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Recording:
    label: str
    output: Path
    popen: subprocess.Popen[bytes] | None

    def finish(self, top: int = 25) -> str | None:
        """Stop sampling, write ``<output>.top.txt`` and return its text (None without py-spy)."""
        if self.popen is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
        if not self.output.is_file():
            return None
        summary = summarize(self.output, top)
        self.output.with_suffix(".top.txt").write_text(summary)
        return summary


def record(label: str, pid: int, output: Path) -> Recording:
    """Start sampling ``pid`` into ``output`` (collapsed stacks), or do nothing without py-spy."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        log.warning("py-spy not found: no profile of %s", label)
        return Recording(label, output, None)
    output.parent.mkdir(parents=True, exist_ok=True)
    popen = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(output),
            "--nonblocking",
            "--idle",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Recording(label, output, popen)


def summarize(collapsed: Path, top: int = 25) -> str:
    """Functions by share of samples: inclusive (on the stack) and self (at the top of the stack)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self %       function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


def _function(frame: str) -> str:
    # py-spy frames read "function (path/file.py:line)"; the line number would split one function.
    name, _, location = frame.partition(" (")
    path = location.rstrip(")").rpartition(":")[0]
    return f"{name} ({path})" if path else name
