"""Stopping on SIGINT, SIGTERM and SIGHUP the way Ctrl-C stops a run: orderly, and remembered.

One place owns the stop signals for anything long-running (`run`, `demo`, later `watch`): while a
`StopSignals` is active, the first signal cancels the coroutine running under `until_stopped()`
(its `finally` blocks run, the caller then writes what it has), one more only says what is still
being finished, and the one after that abandons the rest (`Abandoned`, naming what was left). The
first signal is kept for the exit status: 128 + its number (130, 143, 129).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Awaitable, Iterable
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
NOTICE = "rollcall: finishing: writing the outputs and the history first; signal again to abandon them\n"


class Abandoned(BaseException):
    """A further stop signal arrived while rollcall was finishing: leave the rest undone.

    A BaseException, like KeyboardInterrupt, so `except Exception` in a sink cannot swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + signum


class StopSignals:
    """Context manager: SIGINT/SIGTERM/SIGHUP become an orderly stop while it is active.

    Off the main thread (where Python cannot install handlers) it does nothing and the caller's
    KeyboardInterrupt handling applies. A signal the parent set to be ignored stays ignored
    (`nohup` ignores SIGHUP; a shell's background job ignores SIGINT).
    """

    def __init__(self, signals: Iterable[int] = STOP_SIGNALS, *, notice: str = NOTICE) -> None:
        self.signals = tuple(signals)
        self.notice = notice
        self.signum: int | None = None  # the first stop signal received
        self.installed: tuple[int, ...] = ()
        self._previous: dict[int, Any] = {}
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None
        self._noticed = False
        self._cancel_sent = False

    @property
    def stopped(self) -> bool:
        return self.signum is not None

    @property
    def exit_status(self) -> int | None:
        return None if self.signum is None else exit_status(self.signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        installed = []
        for sig in self.signals:
            try:
                previous = signal.getsignal(sig)
                if previous is signal.SIG_IGN:
                    continue
                signal.signal(sig, self._handle)
            except (OSError, ValueError):  # pragma: no cover - a platform without this signal
                continue
            self._previous[sig] = previous
            installed.append(sig)
        self.installed = tuple(installed)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, previous in self._previous.items():
            try:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            except (OSError, ValueError):  # pragma: no cover
                pass
        self._previous.clear()
        self.installed = ()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Runs on the main thread between two bytecodes, possibly inside the event loop's own
        # code: hand the cancellation to the loop instead of cancelling here.
        if self.signum is None:
            self.signum = signum
        running = self._running
        if running is not None and not self._cancel_sent:
            self._cancel_sent = True
            try:
                running[0].call_soon_threadsafe(self._cancel, running[1])
                return
            except RuntimeError:  # the loop is closed: nothing left to cancel
                pass
        if not self._noticed:
            self._noticed = True
            try:
                os.write(2, self.notice.encode())  # not print(): it may be mid-write to stderr
            except OSError:
                pass
            return
        raise Abandoned(signum)

    def _cancel(self, task: asyncio.Task[Any]) -> None:
        # Only while the task is still under until_stopped(): a late callback must not cancel
        # whatever the caller went on to do.
        if self._running is not None and self._running[1] is task and not task.done():
            task.cancel(msg="stop signal")

    async def until_stopped(self, awaitable: Awaitable[T]) -> T | None:
        """Await `awaitable`; a stop signal cancels it, and then None is returned.

        Cancellation from anywhere else propagates as usual.
        """
        task = asyncio.current_task()
        if self.signum is not None or task is None:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            return None
        self._running = (asyncio.get_running_loop(), task)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if not self._cancel_sent or task.cancelling() == 0:
                raise  # not our cancellation
            task.uncancel()
            return None
        finally:
            self._running = None
