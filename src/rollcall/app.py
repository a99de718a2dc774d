"""Running a Runner to completion from synchronous code, Ctrl-C included.

The command line and other programs call `execute`; it owns the event loop choice and turns an
interrupt into a finished, partial run instead of a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from .models import RunResult
from .runner import Runner
from .sinks import Fanout, Sink


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (faster stream reading, steadier clocks), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def execute(
    runner: Runner, sinks: Iterable[Sink] = (), *, sink_errors: list[str] | None = None
) -> tuple[RunResult, bool]:
    """Run to the end; returns (run, interrupted). Sinks see every result and the final run; a
    failing sink is reported (and its message appended to `sink_errors`) without stopping the run."""
    fanout = Fanout(sinks)
    runner.on_result = fanout.result
    fanout.start(runner.id, runner.planned)
    interrupted = False
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as loop_runner:
            run = loop_runner.run(runner.run())
    except KeyboardInterrupt:
        interrupted = True
        run = runner.snapshot(complete=False)
    fanout.finish(run)
    if sink_errors is not None:
        sink_errors.extend(fanout.errors)
    return run, interrupted
