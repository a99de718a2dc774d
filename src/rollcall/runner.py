"""Fan-out: every (target, model, attempt) probed under one concurrency bound and one deadline each.

Results are delivered as they finish (callbacks feed the live view, report writers, the store).
Interrupted runs keep what finished: `Runner.snapshot()` returns it, unfinished probes marked
`cancelled`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import __version__
from . import checks as checks_mod
from .checks import Check, apply_bounded
from .models import ErrorKind, ProbeResult, RunInfo, RunResult, Skipped, TargetInfo
from .probe import DEFAULT_MAX_OUTPUT_CHARS, run_probe
from .safetext import one_line
from .settings import ProbeSettings
from .sinks import Fanout, Sink
from .stdio import say
from .targets.base import ProbeRequest, Target
from .timing import LagMonitor, utc_now_iso

ResultCallback = Callable[[ProbeResult], Any]


class Runner:
    """Plans the jobs, runs them, and remembers every result as it arrives.

    `settings` says how to probe (prompt, deadline, concurrency, repeats, the answer checks
    --expect/--max-ttft/--max-total; `checks` adds more). `sinks` are told the run's RunInfo
    when it starts and each result as it finishes; `finish(run)` hands them the run (execute()
    does, after a stop signal too). `described` are the planned targets' descriptions (a plan's;
    default: what each target says about itself).
    """

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        settings: ProbeSettings | None = None,
        sinks: Iterable[Sink] = (),
        skipped: Iterable[Skipped] = (),
        checks: Sequence[Check] = (),
        described: Sequence[TargetInfo] | None = None,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        on_result: ResultCallback | None = None,
    ) -> None:
        self.settings = settings if settings is not None else ProbeSettings()
        if not isinstance(self.settings, ProbeSettings):
            raise TypeError(f"settings must be a ProbeSettings, got {type(self.settings).__name__}")
        self.targets = list(targets)
        self.max_output_chars = max_output_chars
        self.skipped = tuple(skipped)
        self.checks = [*checks_mod.from_settings(self.settings), *checks]
        self.on_result = on_result
        self.sinks = Fanout(sinks)
        self.id = uuid.uuid4().hex[:12]
        self.described = tuple(described) if described is not None else tuple(TargetInfo.of(t) for t in self.targets)
        self.results: list[ProbeResult] = []
        self.callback_errors: list[str] = []
        self._pending: dict[tuple[str, str], int] = {}
        self._started_at = ""
        self._t0 = 0.0
        self._lag: LagMonitor | None = None
        self._sinks_started = False

    @property
    def prompt(self) -> str:
        return self.settings.prompt

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s

    @property
    def planned(self) -> int:
        return sum(len(t.models) for t in self.targets) * self.settings.repeat

    @property
    def info(self) -> RunInfo:
        return RunInfo(self.id, self._started_at or utc_now_iso(), self.prompt, self.settings, self.planned,
                       self.described)

    def start_sinks(self) -> None:
        """Tell the sinks the run begins (once; run() does it if nobody did before)."""
        if not self._sinks_started:
            self._sinks_started = True
            self._started_at = self._started_at or utc_now_iso()
            self.sinks.start(self.info)

    def finish(self, run: RunResult) -> None:
        """Hand the run (finished or a snapshot) to every sink; a failing sink is reported and
        does not stop the others (Fanout)."""
        self.start_sinks()
        self.sinks.finish(run)

    def _record(self, result: ProbeResult) -> None:
        self.results.append(result)
        self.sinks.result(result)
        if self.on_result is None:
            return
        try:
            self.on_result(result)
        except Exception as exc:  # noqa: BLE001 - a broken sink must not lose the run
            message = one_line(f"{type(exc).__name__}: {exc}", 500)  # it may quote a provider's text
            if message not in self.callback_errors:
                self.callback_errors.append(message)
                say(f"rollcall: warning: a result consumer failed: {message}")

    async def _run_series(self, target: Target, model: str, slots: asyncio.Semaphore) -> None:
        # Repeats of one (target, model) run one after another so a provider is never hammered
        # by our own parallel copies (that would measure our rate limit, not the provider).
        request = ProbeRequest(prompt=self.prompt, model=model)
        key = (target.name, model)
        for attempt in range(1, self.settings.repeat + 1):
            queued = time.perf_counter()
            async with slots:
                started = time.perf_counter()
                queue_s = started - queued
                result = await run_probe(
                    target,
                    request,
                    timeout_s=self.timeout_s,
                    queue_s=queue_s,
                    attempt=attempt,
                    max_output_chars=self.max_output_chars,
                )
            # Checks on the answer share the probe's deadline: a hostile --expect pattern cannot
            # hold the run past it (nor block the loop: bounded checks run on a worker thread).
            if self.checks:
                result = await apply_bounded(result, self.checks, deadline=started + self.timeout_s)
            self._pending[key] -= 1
            self._record(result)

    async def run(self) -> RunResult:
        """Run every job; returns the finished run (not yet handed to the sinks' finish: see
        finish()). Cancellation propagates (see snapshot())."""
        self._started_at = utc_now_iso()
        self.start_sinks()
        self._t0 = time.perf_counter()
        self._lag = LagMonitor()
        self._lag.start()
        slots = asyncio.Semaphore(self.settings.concurrency)
        tasks = []
        for target in self.targets:
            for model in target.models:
                self._pending[(target.name, model)] = self.settings.repeat
                tasks.append(asyncio.ensure_future(self._run_series(target, model, slots)))
        try:
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await self._lag.stop()
            await self._close_targets()
        return self.snapshot(complete=True)

    async def _close_targets(self) -> None:
        for target in self.targets:
            try:
                async with asyncio.timeout(2.0):
                    await target.aclose()
            except Exception:  # noqa: BLE001 - closing must not lose the results
                pass

    def snapshot(self, *, complete: bool = False) -> RunResult:
        """The run so far. Probes that never finished appear as `cancelled` results."""
        results = list(self.results)
        if not complete:
            now = utc_now_iso()
            kinds = {t.name: t.kind for t in self.targets}
            for (name, model), left in self._pending.items():
                for _ in range(left):
                    results.append(
                        ProbeResult(
                            target=name,
                            kind=kinds.get(name, ""),
                            model=model,
                            ok=False,
                            error_kind=ErrorKind.CANCELLED,
                            error="Cancelled: the run was interrupted before this probe finished",
                            started_at=now,
                        )
                    )
        wall = time.perf_counter() - self._t0 if self._t0 else 0.0
        return RunResult(
            id=self.id,
            started_at=self._started_at or utc_now_iso(),
            ended_at=utc_now_iso(),
            wall_s=wall,
            prompt=self.prompt,
            results=tuple(results),
            skipped=self.skipped,
            complete=complete,
            settings=self.settings,
            loop_lag_max_s=self._lag.max_lag_s if self._lag else None,
            version=__version__,
            targets=self.described,
        )


async def run(targets: Sequence[Target], **options: Any) -> RunResult:
    """Probe every target (see Runner for the options) and return the run; sinks given get
    its end too."""
    runner = Runner(targets, **options)
    result = await runner.run()
    runner.finish(result)
    return result
