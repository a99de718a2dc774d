"""Where results go while a run is under way: the live view, streaming report writers, the store.

A sink is three methods. `start` gets the run's RunInfo (id, prompt, typed settings, planned
targets with what their kinds say about them), the runner feeds `result` as each probe
finishes, `finish` gets the whole run (also an interrupted one), so nothing measured is lost when
a run is cut short. Sinks learn everything through these calls, never through their constructors. A sink
may carry a `label` (`json:run.json`, `the history (...)`) naming it as an output the user asked
for; the terminal view has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .models import ProbeResult, RunInfo, RunResult
from .safetext import one_line
from .stdio import say


class Sink(Protocol):
    def start(self, info: RunInfo) -> None: ...

    def result(self, result: ProbeResult) -> None: ...

    def finish(self, run: RunResult) -> None: ...


def label(sink: object) -> str | None:
    """The output a sink writes, as the user named it; None for the terminal view."""
    return getattr(sink, "label", None)


class Fanout:
    """Feeds every sink; one failing sink is reported once and does not stop the others.

    `unfinished` lists the labelled sinks whose `finish` has not completed: everything before
    `finish`, then whatever a BaseException (a repeated stop signal) cut off.
    """

    def __init__(self, sinks: Iterable[Sink]) -> None:
        self.sinks = list(sinks)
        self.errors: list[str] = []
        self._finished: set[int] = set()

    @property
    def unfinished(self) -> list[str]:
        return [name for i, s in enumerate(self.sinks) if i not in self._finished and (name := label(s))]

    def _call(self, sink: Sink, method: str, *args: object) -> None:
        try:
            getattr(sink, method)(*args)
        except Exception as exc:  # noqa: BLE001 - keep the run and the other sinks going
            # The exception may quote a provider's text (a path, an answer, a name).
            message = one_line(f"{type(sink).__name__}.{method}: {type(exc).__name__}: {exc}", 500)
            if message not in self.errors:
                self.errors.append(message)
                say(f"rollcall: warning: {message}")

    def start(self, info: RunInfo) -> None:
        for sink in self.sinks:
            self._call(sink, "start", info)

    def result(self, result: ProbeResult) -> None:
        for sink in self.sinks:
            self._call(sink, "result", result)

    def finish(self, run: RunResult) -> None:
        for i, sink in enumerate(self.sinks):
            self._call(sink, "finish", run)
            self._finished.add(i)
