"""Running a LoadRunner from synchronous code: its own event loop, SIGINT and SIGTERM.

The first signal stops the run the gentle way (no more requests, the current stage cut and
marked partial, everything finished kept); a second one stops waiting for in-flight requests to
be cancelled. Either way the caller gets the document of what finished and writes it.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from ..app import new_event_loop
from .run import LoadRunner

SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _run(runner: LoadRunner) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal(name: str) -> None:
        if runner.interrupted is None:
            runner.interrupt(name)
        elif task is not None:
            task.cancel()

    installed = []
    for sig in SIGNALS:
        try:
            loop.add_signal_handler(sig, on_signal, sig.name)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
    try:
        return await runner.run()
    except asyncio.CancelledError:
        if runner.interrupted is None:
            raise
        return runner.document()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def execute(runner: LoadRunner) -> dict[str, Any]:
    """Run to the end or to an interrupt; returns the document (sinks not yet finished)."""
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as loop_runner:
            return loop_runner.run(_run(runner))
    except KeyboardInterrupt:  # a signal that arrived before the handlers were in place
        runner.interrupt("SIGINT")
        return runner.document()


def exit_code_for(signal_name: str | None) -> int | None:
    """128 + the signal number for an interrupted run (130 for SIGINT, 143 for SIGTERM)."""
    if signal_name is None:
        return None
    try:
        return 128 + int(signal.Signals[signal_name])
    except KeyError:
        return 130
