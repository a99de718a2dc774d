"""Clocks: wall-clock stamps, the classic `log_time_async`, and a monitor of event-loop lag.

Durations use time.perf_counter(); stamps shown to people are UTC ISO-8601.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def log_time_async(func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Await func(*args, **kwargs), print "<name> took X.XX seconds." and return its result.

    The original GPT4Free test's helper, kept with its exact output.
    """
    start = time.perf_counter()
    result = await func(*args, **kwargs)
    name = getattr(func, "__name__", type(func).__name__)
    print(f"{name} took {time.perf_counter() - start:.2f} seconds.")
    return result


class LagMonitor:
    """Measures how late the event loop wakes up; large lag means our own clocks read late.

    A probe's TTFT is stamped when the loop gets around to reading the bytes, so when the loop
    falls behind (CPU saturated, a provider blocking it) every measurement is inflated by up to
    the lag. The run reports the worst lag seen so results can be flagged unreliable.
    """

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.max_lag_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            lag = time.perf_counter() - before - self.interval_s
            if lag > self.max_lag_s:
                self.max_lag_s = lag

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # waits without re-raising the child's cancellation
        return self.max_lag_s
