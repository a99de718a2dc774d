"""`-o FORMAT:PATH` while watching: JSON Lines keeps streaming every result of every round into
one file; the other formats are rewritten after each round with that round's run."""

from __future__ import annotations

from collections.abc import Sequence

from ..models import RunInfo, RunResult
from ..reports.jsonl import JsonlSink
from ..reports.outputs import ReportSink, parse_specs
from ..sinks import Sink


class JsonlStream(JsonlSink):
    """A JsonlSink that stays open across rounds (one file for the whole watch)."""

    def start(self, info: RunInfo | None = None) -> None:
        self._written.clear()  # per round: memory stays flat however long the watch
        if not self._started:
            super().start(info)

    def finish(self, run: RunResult) -> None:
        seen = self._written.copy()
        for r in run.results:
            if seen[r] > 0:
                seen[r] -= 1
            else:
                self._write(r)

    def close(self) -> None:
        out, self._out = self._out, None
        if out is not None:
            try:
                out.close()
            except BrokenPipeError:  # a FIFO's reader left
                pass


def watch_sinks(specs: Sequence[str]) -> list[Sink]:
    """Sinks reused by every round (ValueError for a bad spec, before anything runs)."""
    return [JsonlStream(p.path) if p.format == "jsonl" else ReportSink(p) for p in parse_specs(specs)]
