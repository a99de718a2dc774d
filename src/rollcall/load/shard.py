"""One shard of a stage: its share of the users (closed loop) or of the arrivals (open loop), run
on one event loop, yielding per-request records in batches and, last, a ShardSummary.

This is the unit that runs anywhere: here in the main process, later in worker processes or Ray
actors. A ShardPlan is plain data (picklable, JSON-able); the stage start is an absolute
wall-clock time, converted once to this machine's monotonic clock, and every duration is
measured on that clock. Records carry offsets from the stage start and one wall-clock stamp
(`sent_at`, for timelines), so shards from several machines merge into one stage.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from ..probe import DEFAULT_MAX_OUTPUT_CHARS
from ..targets.base import ProbeRequest, Target
from ..timing import LagMonitor
from .prompts import PromptSource
from .record import RequestRecord, measure
from .schedule import arrivals, proportional, split, stage_seed
from .spec import LoadSpec, StageSpec
from .stage import ShardSummary

BATCH_INTERVAL_S = 0.2  # how often a shard hands over what finished
LAG_INTERVAL_S = 0.02


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """What one shard does in one stage.

    Closed loop: `users`, `requests` and `warmup` are this shard's shares. Open loop: `rate`,
    `requests` and `warmup` describe the whole stage's schedule, and the shard sends every
    `shards`-th arrival starting with arrival number `shard` (so all shards together send the
    schedule one process would have sent); `max_in_flight` is this shard's share of the cap.
    """

    stage: int
    mode: str
    shard: int
    shards: int
    start_at: float  # wall clock (Unix seconds) at which the stage starts, the same for every shard
    seed: int
    model: str
    timeout_s: float
    users: int = 0
    rate: float = 0.0
    burstiness: float = 1.0
    requests: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    max_in_flight: int | None = None
    max_tokens: int | None = None
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS


def plan_shards(spec: LoadSpec, stage: StageSpec, *, shards: int, start_at: float, model: str) -> list[ShardPlan]:
    """Split a stage into at most `shards` plans. Closed loop: the users as evenly as whole numbers
    allow over min(shards, users) shards, and the requests and warm-up in proportion to each
    shard's users (a shard of 1 user does half the requests of one of 2). Open loop: every shard
    draws the whole schedule and sends its share of the arrivals."""
    base = ShardPlan(
        stage=stage.index, mode=stage.mode, shard=0, shards=shards, start_at=start_at,
        seed=stage_seed(spec.seed, stage.index), model=model, timeout_s=spec.timeout_s,
        burstiness=spec.burstiness, duration_s=spec.duration_s, max_tokens=spec.max_tokens,
    )
    plans = []
    if stage.mode == "concurrency":
        used = max(1, min(shards, int(stage.value)))  # a shard with no user would have nothing to do
        users = [split(int(stage.value), used, shard) for shard in range(used)]
        for shard in range(used):
            plans.append(replace(
                base, shard=shard, shards=used, users=users[shard], warmup=proportional(spec.warmup, users, shard),
                requests=None if spec.requests is None else proportional(spec.requests, users, shard),
            ))
        return plans
    for shard in range(shards):
        cap = None if spec.max_concurrency is None else max(1, split(spec.max_concurrency, shards, shard))
        plans.append(replace(base, shard=shard, rate=stage.value, requests=spec.requests, warmup=spec.warmup,
                             max_in_flight=cap))
    return plans


class Shard:
    """One shard being run. `sent` and `finished` count its requests so far (warm-up included):
    a worker reports `sent` with every batch, so that if it dies the requests whose outcome never
    arrived can be counted as lost."""

    def __init__(self, target: Target, plan: ShardPlan, prompts: PromptSource) -> None:
        self.target = target
        self.plan = plan
        self.prompts = prompts
        self.buffer: list[RequestRecord] = []
        self.inflight: set[asyncio.Task[float]] = set()
        self.sent = self.finished = self.cancelled = 0
        self.max_in_flight = 0
        self.lag = LagMonitor(interval_s=LAG_INTERVAL_S)
        # The stage start on this machine's monotonic clock.
        self.t0 = time.perf_counter() + (plan.start_at - time.time())

    def _request(self, number: int) -> ProbeRequest:
        return ProbeRequest(prompt=self.prompts.prompt(number), model=self.plan.model, max_tokens=self.plan.max_tokens)

    async def _one(self, number: int, warmup: bool, scheduled: float, slots: asyncio.Semaphore | None,
                   ramp: bool = False) -> float:
        """Send one request; returns when it ended (perf_counter)."""
        plan = self.plan
        self.sent += 1
        queue_s = 0.0
        if slots is not None and slots.locked():
            queued = time.perf_counter()
            await slots.acquire()
            queue_s = time.perf_counter() - queued
        elif slots is not None:
            await slots.acquire()
        in_flight = self.sent - self.finished - self.cancelled
        if in_flight > self.max_in_flight:
            self.max_in_flight = in_flight
        try:
            m = await measure(self.target, self._request(number), timeout_s=plan.timeout_s,
                              max_output_chars=plan.max_output_chars)
        finally:
            if slots is not None:
                slots.release()
        self.buffer.append(RequestRecord.from_measurement(
            m, stage=plan.stage, shard=plan.shard, number=number, warmup=warmup, scheduled=scheduled,
            queue_s=queue_s, t0=self.t0, wall0=plan.start_at, ramp=ramp,
        ))
        self.finished += 1
        return m.end

    async def _closed_loop(self) -> None:
        plan = self.plan
        counter = itertools.count()
        last = None if plan.requests is None else plan.warmup + plan.requests
        window_end: list[float] = []  # duration mode: set by the first measured send

        async def user() -> None:
            due, ramp = self.t0, True
            while True:
                n = next(counter)
                if last is not None and n >= last:
                    return
                warmup = n < plan.warmup
                if n == plan.warmup and n:
                    self.lag.max_lag_s = 0.0  # the stage's own lag, from its first measured send
                if plan.duration_s is not None and not warmup:
                    now = time.perf_counter()
                    if not window_end:
                        window_end.append(now + plan.duration_s)
                    elif now >= window_end[0]:
                        return
                due = await self._one(n * plan.shards + plan.shard, warmup, due, None, ramp)
                ramp = False

        await self._await_all([asyncio.ensure_future(user()) for _ in range(plan.users)])

    async def _open_loop(self) -> None:
        plan = self.plan
        slots = asyncio.Semaphore(plan.max_in_flight) if plan.max_in_flight else None
        last = None if plan.requests is None else plan.warmup + plan.requests
        window_start = 0.0
        perf_counter = time.perf_counter
        behind = 0
        for number, offset in enumerate(arrivals(plan.rate, plan.burstiness, plan.seed)):
            if last is not None and number >= last:
                break
            if number == plan.warmup:
                window_start = offset
                if number:
                    self.lag.max_lag_s = 0.0  # the stage's own lag, from its first measured send
            if plan.duration_s is not None and number >= plan.warmup and offset >= window_start + plan.duration_s:
                break
            if number % plan.shards != plan.shard:
                continue
            due = self.t0 + offset
            delay = due - perf_counter()
            if delay > 0:
                behind = 0
                await asyncio.sleep(delay)
            else:
                behind += 1
                if behind % 64 == 0:  # catching up on a backlog: let the requests in flight be read
                    await asyncio.sleep(0)
            task = asyncio.ensure_future(self._one(number, number < plan.warmup, due, slots))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        await self._await_all(list(self.inflight))

    async def _await_all(self, tasks: list[asyncio.Task[object]]) -> None:
        self.inflight.update(tasks)  # type: ignore[arg-type]
        try:
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _drive(self) -> None:
        delay = self.t0 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.plan.mode == "concurrency":
            await self._closed_loop()
        else:
            await self._open_loop()

    async def _cancel_inflight(self) -> None:
        tasks = [t for t in self.inflight if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        # Users of a closed loop are cancelled too; only requests on the wire count as cut.
        self.cancelled = max(0, self.sent - self.finished)

    async def run(self, stop: asyncio.Event | None) -> AsyncIterator[list[RequestRecord] | ShardSummary]:
        lag = self.lag
        lag.start()
        cpu0 = time.process_time()
        driver = asyncio.ensure_future(self._drive())
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        partial = False
        try:
            while True:
                waiting = {driver} if stopper is None else {driver, stopper}
                done, _ = await asyncio.wait(waiting, timeout=BATCH_INTERVAL_S, return_when=asyncio.FIRST_COMPLETED)
                if stopper is not None and stopper in done and not driver.done():
                    partial = True
                    driver.cancel()
                    await asyncio.wait({driver})
                    await self._cancel_inflight()
                if self.buffer:
                    batch, self.buffer = self.buffer, []
                    yield batch
                if driver.done():
                    break
            if not driver.cancelled():
                driver.result()  # a bug in the shard itself must not pass silently
        finally:
            for task in (driver, stopper):
                if task is not None and not task.done():
                    task.cancel()
            await self._cancel_inflight()
            await lag.stop()
        yield ShardSummary(
            stage=self.plan.stage, shard=self.plan.shard, loop_lag_max_s=lag.max_lag_s,
            cpu_s=time.process_time() - cpu0, sent=self.sent, finished=self.finished, cancelled=self.cancelled,
            partial=partial, max_in_flight=self.max_in_flight,
        )


async def run_shard(
    target: Target, plan: ShardPlan, prompts: PromptSource, *, stop: asyncio.Event | None = None
) -> AsyncIterator[list[RequestRecord] | ShardSummary]:
    """Run one shard of a stage on the running loop: batches of records as they finish (about
    every BATCH_INTERVAL_S), then its ShardSummary. When `stop` is set, no more requests are sent,
    those in flight are cancelled (counted, not recorded) and the summary says `partial`."""
    async for item in Shard(target, plan, prompts).run(stop):
        yield item
