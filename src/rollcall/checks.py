"""Answer conditions (turn an ok result into `check_failed`) and run requirements (exit code 1).

A check is a function of the result. One that can take long on hostile input (a regular
expression: `(a|aa)+$` against a long answer backtracks for minutes) is a BoundedCheck: it is
given a deadline, runs off the event loop, and a check that cannot finish in time fails the
answer with a clear reason instead of stalling the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from .models import ErrorKind, ProbeResult, RunResult
from .settings import ProbeSettings

Check = Callable[[ProbeResult], str | None]  # returns why the answer fails, or None
MIN_CHECK_S = 0.05  # what a bounded check gets when the probe used up (almost) all its deadline
_GRACE_S = 0.05  # the regex engine notices its timeout a little late; the run does not wait longer


class BoundedCheck:
    """A check that takes the monotonic (time.perf_counter) moment it must be done by."""

    bounded = True

    def __call__(self, result: ProbeResult, deadline: float | None = None) -> str | None:
        raise NotImplementedError

    def too_late(self) -> str:
        """Why an answer fails when this check could not finish in time."""
        return "an answer check did not finish within the probe's deadline"


class _Regex(BoundedCheck):
    def __init__(self, pattern: str) -> None:
        import regex  # the `regex` engine has a match timeout and releases the GIL; `re` has neither

        try:
            self.compiled = regex.compile(pattern, regex.IGNORECASE)
        except (regex.error, OverflowError, RecursionError) as exc:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        self.pattern = pattern

    def __call__(self, result: ProbeResult, deadline: float | None = None) -> str | None:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return self.too_late()
        try:
            # concurrent=True releases the GIL while matching, so probes still in flight (and
            # the event loop's clock) keep running.
            found = self.compiled.search(result.text, timeout=left, concurrent=True)
        except TimeoutError:
            return self.too_late()
        return None if found else f"answer does not match /{self.pattern}/"

    def too_late(self) -> str:
        return f"matching /{self.pattern}/ did not finish within the probe's deadline"


def expect_regex(pattern: str) -> Check:
    """The answer must match `pattern` (case-insensitive search), bounded by the probe deadline."""
    return _Regex(pattern)


def max_total(limit_s: float) -> Check:
    def check(result: ProbeResult) -> str | None:
        if result.total_s is not None and result.total_s > limit_s:
            return f"total {result.total_s:.2f} s exceeds the limit of {limit_s:g} s"
        return None

    return check


def max_ttft(limit_s: float) -> Check:
    def check(result: ProbeResult) -> str | None:
        if result.ttft_s is not None and result.ttft_s > limit_s:
            return f"time to first token {result.ttft_s:.2f} s exceeds the limit of {limit_s:g} s"
        return None

    return check


def apply(result: ProbeResult, checks: Sequence[Check], *, deadline: float | None = None) -> ProbeResult:
    """The result, failed with `check_failed` if it was ok and a check objects. Bounded checks
    get `deadline` (a time.perf_counter moment; None = unbounded)."""
    if not result.ok:
        return result
    for check in checks:
        reason = check(result, deadline) if getattr(check, "bounded", False) else check(result)  # type: ignore[call-arg]
        if reason:
            return _failed(result, reason)
    return result


async def apply_bounded(result: ProbeResult, checks: Sequence[Check], *, deadline: float) -> ProbeResult:
    """apply() for the event loop: checks that may be slow run on a worker thread, and the
    caller waits no later than `deadline` (at least MIN_CHECK_S from now)."""
    if not result.ok or not any(getattr(c, "bounded", False) for c in checks):
        return apply(result, checks)
    deadline = max(deadline, time.perf_counter() + MIN_CHECK_S)
    future = asyncio.wrap_future(_workers.submit(lambda: apply(result, checks, deadline=deadline)))
    try:
        async with asyncio.timeout_at(_loop_time_at(deadline) + _GRACE_S):
            return await future
    except TimeoutError:
        # The worker notices the deadline itself and ends soon; its verdict comes too late.
        late = next(c for c in checks if getattr(c, "bounded", False))
        return _failed(result, late.too_late())  # type: ignore[attr-defined]


def _loop_time_at(perf_moment: float) -> float:
    return asyncio.get_running_loop().time() + (perf_moment - time.perf_counter())


class _Workers:
    """A few daemon threads for bounded checks. Not the loop's default executor (aiohttp resolves
    host names there, and checks stuck on a hostile pattern must not delay other probes' DNS),
    and not a ThreadPoolExecutor (its threads are joined at exit: the process would outlive the
    run by a check's overrun)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((future, job))
        with self._lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name="rollcall-check", daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            future, job = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue  # its waiter gave up before it started
            try:
                future.set_result(job())
            except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine
                future.set_exception(exc)


_workers = _Workers(size=4)


def _failed(result: ProbeResult, reason: str) -> ProbeResult:
    return dataclasses.replace(result, ok=False, error_kind=ErrorKind.CHECK_FAILED, error=f"CheckFailed: {reason}")


def from_settings(settings: ProbeSettings) -> list[Check]:
    """The answer checks a run's settings ask for (--expect, --max-total, --max-ttft)."""
    return combine([
        expect_regex(settings.expect) if settings.expect else None,
        max_total(settings.max_total_s) if settings.max_total_s else None,
        max_ttft(settings.max_ttft_s) if settings.max_ttft_s else None,
    ])


@dataclass(frozen=True, slots=True)
class Requirements:
    """What must hold for exit code 0: named targets answered, at least N answered, and no
    answer failed a check the run was given (--expect, --max-ttft, --max-total)."""

    require: tuple[str, ...] = ()
    min_ok: int = 0

    @classmethod
    def of(cls, settings: ProbeSettings) -> Requirements:
        return cls(settings.require, settings.min_ok)

    def unmet(self, run: RunResult) -> list[str]:
        problems = []
        failed = [r for r in run.results if r.error_kind == ErrorKind.CHECK_FAILED]
        if failed:
            first = failed[0]
            problems.append(f"{len(failed)} answer(s) failed a check; first: {first.target} [{first.model or 'default'}]"
                            f": {first.error}")
        ok_targets = {r.target.lower() for r in run.results if r.ok}
        probed = {r.target.lower() for r in run.results}
        for name in self.require:
            if name.lower() not in probed:
                problems.append(f"required target {name} was not probed")
            elif name.lower() not in ok_targets:
                problems.append(f"required target {name} did not answer")
        if run.ok_count < self.min_ok:
            problems.append(f"only {run.ok_count} answered, --min-ok requires {self.min_ok}")
        return problems


def combine(checks: Iterable[Check | None]) -> list[Check]:
    return [c for c in checks if c is not None]
