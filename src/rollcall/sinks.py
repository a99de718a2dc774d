"""Where results go while a run is under way: the live view, streaming report writers, the store.

A sink is three methods. The runner feeds `result` as each probe finishes; `finish` gets the
whole run (also an interrupted one), so nothing measured is lost when a run is cut short.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Protocol

from .models import ProbeResult, RunResult
from .safetext import one_line


class Sink(Protocol):
    def start(self, run_id: str, planned: int) -> None: ...

    def result(self, result: ProbeResult) -> None: ...

    def finish(self, run: RunResult) -> None: ...


class Fanout:
    """Feeds every sink; one failing sink is reported once and does not stop the others."""

    def __init__(self, sinks: Iterable[Sink]) -> None:
        self.sinks = list(sinks)
        self.errors: list[str] = []

    def _each(self, method: str, *args: object) -> None:
        for sink in self.sinks:
            try:
                getattr(sink, method)(*args)
            except Exception as exc:  # noqa: BLE001 - keep the run and the other sinks going
                # The exception may quote a provider's text (a path, an answer, a name).
                message = one_line(f"{type(sink).__name__}.{method}: {type(exc).__name__}: {exc}", 500)
                if message not in self.errors:
                    self.errors.append(message)
                    print(f"rollcall: warning: {message}", file=sys.stderr)

    def start(self, run_id: str, planned: int) -> None:
        self._each("start", run_id, planned)

    def result(self, result: ProbeResult) -> None:
        self._each("result", result)

    def finish(self, run: RunResult) -> None:
        self._each("finish", run)
