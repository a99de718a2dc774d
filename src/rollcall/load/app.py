"""Running a LoadRunner from synchronous code: its own event loop, and the stop signals.

Stop signals come through rollcall.stop (one mechanism for every long-running command). The
first SIGINT, SIGTERM or SIGHUP stops a load run the gentle way: no more requests are sent, those
in flight are cancelled and counted, the current stage is finished as `partial`, and every sink
still gets the document. A further signal prints a notice; the one after that abandons whatever
is still being written (`abandoned` names it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..app import new_event_loop
from ..stop import Abandoned, StopSignals, exit_status, signal_name
from .run import LoadRunner


@dataclass(frozen=True)
class LoadExecution:
    doc: dict[str, Any]
    signum: int | None = None
    abandoned: tuple[str, ...] = ()
    sink_errors: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int | None:
        """128 + the stop signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP); None without one."""
        if self.signum is not None:
            return exit_status(self.signum)
        return 130 if self.doc.get("interrupted") else None


async def _main(runner: LoadRunner, signals: StopSignals) -> dict[str, Any]:
    work = asyncio.ensure_future(runner.run())
    # The stop signal cancels only the wait (the shield keeps the run itself going), so the
    # runner can cut its stage in order instead of being torn down mid-request.
    done = await signals.until_stopped(asyncio.shield(work))
    if done is not None:
        return done
    runner.interrupt(signal_name(signals.signum) if signals.signum is not None else "SIGINT")
    return await work


def execute(runner: LoadRunner, *, stop: StopSignals | None = None) -> LoadExecution:
    """Run to the end or to a stop signal, then give the document to every sink."""
    with stop if stop is not None else StopSignals() as signals:
        doc: dict[str, Any] | None = None
        try:
            try:
                with asyncio.Runner(loop_factory=new_event_loop) as loop_runner:
                    doc = loop_runner.run(_main(runner, signals))
            except KeyboardInterrupt:  # off the main thread no handlers: asyncio's own Ctrl-C
                runner.interrupt("SIGINT")
            if doc is None:
                doc = runner.document()
            errors = runner.finish(doc)
        except Abandoned:
            if doc is None:
                runner.interrupt(signal_name(signals.signum) if signals.signum is not None else "SIGINT")
                doc = runner.document()
            return LoadExecution(doc, signals.signum, tuple(runner.fanout.unfinished), tuple(runner.fanout.errors))
    return LoadExecution(doc, signals.signum, (), tuple(errors))
