"""Running a Runner to completion from synchronous code, stop signals included.

The command line and other programs call `execute`; it owns the event loop choice and turns
Ctrl-C, SIGTERM or SIGHUP into a finished, partial run instead of a traceback: what finished is
kept, the rest is marked `cancelled`, and every sink still gets the run (see stop.py for what a
second and a third signal do).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from .models import RunResult
from .runner import Runner
from .stop import Abandoned, StopSignals, exit_status


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (faster stream reading, steadier clocks), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@dataclass(frozen=True)
class Execution:
    """How a run ended. `signum` is the stop signal that ended it (None without one);
    `abandoned` names the outputs a repeated signal left unwritten; `sink_errors` the outputs
    that failed (each already reported once on stderr)."""

    run: RunResult
    interrupted: bool
    signum: int | None = None
    abandoned: tuple[str, ...] = ()
    sink_errors: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int | None:
        """128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP); None when not stopped."""
        if self.signum is not None:
            return exit_status(self.signum)
        return exit_status(signal.SIGINT) if self.interrupted else None  # a bare KeyboardInterrupt


def execute(runner: Runner, *, stop: StopSignals | None = None) -> Execution:
    """Run to the end, or until a stop signal; the runner's sinks see every result and the final
    run. A failing sink is reported without stopping the run or the other sinks."""
    fanout = runner.sinks
    run: RunResult | None = None
    interrupted = False
    with stop if stop is not None else StopSignals() as signals:
        try:
            runner.start_sinks()
            try:
                with asyncio.Runner(loop_factory=new_event_loop) as loop_runner:
                    run = loop_runner.run(signals.until_stopped(runner.run()))
            except KeyboardInterrupt:  # no handlers off the main thread: asyncio's own Ctrl-C
                pass
            if run is None:
                interrupted = True
                run = runner.snapshot(complete=False)
            runner.finish(run)
        except Abandoned:
            interrupted = True
            if run is None:
                run = runner.snapshot(complete=False)
            return Execution(run, True, signals.signum, tuple(fanout.unfinished), tuple(fanout.errors))
    return Execution(run, interrupted or signals.stopped, signals.signum, (), tuple(fanout.errors))
