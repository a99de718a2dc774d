"""JSON Lines: one result object per line, written and flushed the moment each probe finishes.

`rollcall run -o jsonl:- | jq` sees results as they arrive, and a run killed half way leaves
every finished result on disk. Each line is `ProbeResult.to_dict()` (the DESIGN.md field list).
"""

from __future__ import annotations

from collections import Counter
from typing import IO

from ..models import ProbeResult, RunInfo, RunResult
from ..safetext import json_text
from ..stdio import write_stdout


def line(result: ProbeResult) -> str:
    """One result as one JSON line (with its newline). The value is exact; C1 controls, U+2028/9
    (which end a line for Python's str.splitlines() and for JavaScript), bidi controls and lone
    surrogates are \\u-escaped, so every consumer sees one result per line and a terminal showing
    the stream cannot be steered."""
    return json_text(result.to_dict()) + "\n"


def dumps(run: RunResult) -> str:
    """The whole run as JSON Lines (what `rollcall report -o jsonl:...` writes)."""
    return "".join(line(r) for r in run.results)


class JsonlSink:
    """A Sink streaming JSON Lines to `path` ("-" = stdout).

    A file is written in place, not through a temporary file: streaming is the point, and a
    line is only ever appended, so a reader or a killed run sees whole lines (the last one at
    worst cut short by a crash mid-write). A FIFO, a device or a process substitution is opened
    as it is (a symlink is followed); /dev/stdout counts as stdout. A reader that leaves
    (`-o jsonl:- | head -1`) ends this output quietly and nothing else.
    """

    def __init__(self, path: str) -> None:
        from .outputs import STDOUT, destination

        self.path = path
        self.label = f"jsonl:{path}"
        self._stdout = destination(path)[0] == STDOUT
        self._out: IO[bytes] | None = None
        self._started = False
        self._written: Counter[ProbeResult] = Counter()
        self._broken = False

    def start(self, info: RunInfo | None = None) -> None:
        self._started = True
        if not self._stdout:
            self._out = open(self.path, "wb")  # noqa: SIM115 - lives across start/result/finish

    def _write(self, result: ProbeResult) -> None:
        if self._broken:
            return
        if not self._started:  # fed without start(): the runner always calls it, be lenient anyway
            self.start()
        try:
            if self._stdout:
                if not write_stdout(line(result)):  # whole, even through an unbuffered pipe
                    self._broken = True  # the reader left; write_stdout has silenced stdout
                    return
            else:
                self._out.write(line(result).encode("utf-8"))
                self._out.flush()
        except BrokenPipeError:
            # A FIFO or `>(head -1)` whose reader left: stop this output, nothing else.
            self._broken = True
            return
        self._written[result] += 1

    def result(self, result: ProbeResult) -> None:
        self._write(result)

    def finish(self, run: RunResult) -> None:
        # An interrupted run's snapshot adds `cancelled` results that were never streamed;
        # write those (and anything else not yet seen) so the file holds the whole run.
        seen = self._written.copy()
        try:
            for r in run.results:
                if seen[r] > 0:
                    seen[r] -= 1
                else:
                    self._write(r)
        finally:
            out, self._out = self._out, None
            if out is not None:
                try:
                    out.close()
                except BrokenPipeError:  # the last lines could not reach a reader that left
                    pass
