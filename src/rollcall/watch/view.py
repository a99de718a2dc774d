"""What a person watching sees: one line per round (when, ok/failed, what changed), a line per
state change, warnings; each probe's line only with --verbose. Every outside text (names, errors)
goes through text.one_line into a rich Text, so it is shown, never interpreted as markup.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from ..models import ProbeResult, RunInfo, RunResult
from ..durations import format_duration
from .ledger import RoundChanges
from .state import State
from ..safetext import one_line

_STYLE = {State.UP: "bold green", State.DEGRADED: "bold yellow", State.DOWN: "bold red", State.UNKNOWN: "dim"}
_ARROW = {State.UP: "▲", State.DEGRADED: "▼", State.DOWN: "▼", State.UNKNOWN: "·"}


def _clock(stamp: str) -> str:
    try:
        return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%H:%M:%S")
    except ValueError:
        return stamp[11:19]


def _name(target: str, model: str) -> str:
    return one_line(f"{target}/{model}" if model and model != target else target, 80)


class RoundView:
    """Renders to an injected Console; safe to call from the writer thread too (warn)."""

    def __init__(self, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self._lock = threading.Lock()

    def _print(self, renderable: Any, **kwargs: Any) -> None:
        with self._lock:
            self.console.print(renderable, overflow="ellipsis", crop=True, **kwargs)

    def intro(self, targets: int, groups: Sequence[tuple[float, int]], *, fail_after: int, recover_after: int,
              site: str, channels: Sequence[str], store: str | None) -> None:
        if self.quiet:
            return
        every = ", ".join(f"{_count(n, 'probe')} every {format_duration(e)}" for e, n in groups)
        line = Text(f"Watching {targets} target(s) ({every}) from site ", style="dim")
        line.append(one_line(site, 60), style="dim bold")
        line.append(f"; down after {_count(fail_after, 'failed round')}, up after {_count(recover_after, 'good round')}",
                    style="dim")
        self._print(line)
        for label in channels:
            self._print(Text(f"  alerts -> {label}", style="dim"))
        self._print(Text(f"  history -> {store}" if store else "  history: not recorded (--no-store)", style="dim"))

    # The Sink methods a round's Fanout calls; only `result` shows anything (with --verbose).
    def start(self, info: RunInfo) -> None:
        pass

    def finish(self, run: RunResult) -> None:
        pass

    def result(self, result: ProbeResult) -> None:
        if self.verbose:
            from ..reports.table import result_line

            self._print(result_line(result), no_wrap=True)

    def round(self, number: int, run: RunResult, changes: RoundChanges, *, late_s: float = 0.0,
              every_s: float = 0.0, cut: bool = False, was_late: bool = False) -> None:
        counted = [r for r in run.results if str(r.error_kind) != "cancelled"]
        ok = sum(1 for r in counted if r.ok)
        failed = len(counted) - ok
        cancelled = len(run.results) - len(counted)
        if not self.quiet:
            line = Text(f"{_clock(run.started_at)}  round {number:<4} ", style="bold")
            line.append(f"{ok} ok", style="green")
            line.append(", ")
            line.append(f"{failed} failed", style="red" if failed else "")
            if cancelled:
                line.append(f", {cancelled} cancelled", style="yellow")
            line.append(f"  {run.wall_s:.1f} s")
            if changes.transitions:
                line.append(f"  {len(changes.transitions)} change(s)", style="bold")
            if cut:
                line.append("  (cut short)", style="yellow")
            self._print(line, no_wrap=True)
        for (target, model, _site), transition, observation in changes.transitions:
            arrow = _ARROW[transition.current]
            line = Text(f"  {arrow} ")
            line.append(_name(target, model), style="bold")
            line.append(" is ")
            line.append(transition.current.upper(), style=_STYLE[transition.current])
            line.append(f" (was {transition.previous})", style="dim")
            reason = ": ".join(p for p in (observation.error_kind or "", one_line(observation.error, 100)) if p)
            if reason and transition.current is not State.UP:
                line.append(f"  {reason}", style="red" if transition.current is State.DOWN else "yellow")
            self._print(line, no_wrap=True)
        if self.quiet or late_s > 0 and was_late:
            return  # said when it began; said again when it ends
        if late_s > 0:
            self._print(Text(f"  round {number} took {run.wall_s:.1f} s, over its {format_duration(every_s)} "
                             f"interval: the next round for these targets starts {late_s:.1f} s late "
                             "(rounds never overlap)", style="yellow"))
        elif was_late:
            self._print(Text(f"  round {number} fit its {format_duration(every_s)} interval again", style="dim"))

    def warn(self, message: str) -> None:
        self._print(Text(f"rollcall: warning: {one_line(message)}", style="yellow"))

    def note(self, message: str) -> None:
        self._print(Text(f"rollcall: {one_line(message)}", style="dim"))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
