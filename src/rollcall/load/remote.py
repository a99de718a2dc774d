"""Shards run by workers elsewhere (processes, Ray actors): hand out the plans, forward what comes
back, and make sure a stage ends however its workers fare.

`RemoteExecutor` is a ShardExecutor over a pool of worker handles; a subclass only says how a
worker is started (`_spawn`). A handle sends messages (`send`), can be killed (`kill`), and its
messages arrive on the executor's queue as (handle, message), ending with ("dead", why) when the
worker is gone (worker.py lists the messages).

When a worker dies, stops answering (nothing heard for HEARTBEAT_TIMEOUT_S while it runs shards;
it reports about every 0.2 s) or does not stop within STOP_GRACE_S of being told to, each of its
unfinished shards ends with a summary of its own: `lost` = the requests it had sent (as last
reported) whose outcome never arrived, `partial`, and `failure` saying what happened. The stage
is flagged and the run goes on; before the next stage a dead worker is replaced when it can be,
and its plans go to the others when it cannot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .record import RequestRecord
from .shard import ShardPlan
from .stage import ShardSummary

HEARTBEAT_TIMEOUT_S = 15.0  # a worker running shards that is silent this long is taken for dead
STOP_GRACE_S = 10.0  # after a stop, how long a worker may take to cancel and report
CHECK_S = 0.5  # how often the watchdog looks, at the longest
START_LEAD_S = 0.25  # a stage starts this long after it is planned: plans reach every worker first

Item = list[RequestRecord] | ShardSummary


class WorkerError(RuntimeError):
    """Workers could not be started (one line, for the user)."""


class WorkerHandle(Protocol):
    name: str  # "worker 2 (pid 4711)": what a failure message calls it
    alive: bool  # False once it is known to be gone
    heard: float  # time.monotonic() of its last message

    def send(self, message: tuple[Any, ...]) -> None: ...

    def kill(self) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Pending:
    handle: WorkerHandle
    plan: ShardPlan
    received: int = 0
    sent: int = 0


def lost_summary(plan: ShardPlan, *, sent: int, received: int, failure: str) -> ShardSummary:
    """The summary of a shard whose worker is gone: what it had sent and we never heard of is lost.
    `failure` may quote a worker's stderr or Ray's words: scrubbed here, once, for every output."""
    from ..redact import redact

    return ShardSummary(stage=plan.stage, shard=plan.shard, loop_lag_max_s=0.0, cpu_s=0.0, sent=sent,
                        finished=received, lost=max(0, sent - received), partial=True,
                        failure=redact(failure) or "")


class RemoteExecutor:
    """Runs plans on `workers` remote workers (plan i on worker i, or on the next one alive)."""

    start_lead_s = START_LEAD_S
    heartbeat_timeout_s = HEARTBEAT_TIMEOUT_S
    stop_grace_s = STOP_GRACE_S

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.handles: list[WorkerHandle | None] = []
        self.queue: asyncio.Queue[tuple[WorkerHandle | None, tuple[Any, ...]]] = asyncio.Queue()
        self.failures: list[str] = []  # why workers were lost or could not be replaced, in order
        self.gone: set[WorkerHandle] = set()  # given up on (their late messages are ignored)

    async def _spawn(self, index: int) -> WorkerHandle:
        """Start worker `index` and wait until it is ready; WorkerError if it cannot be."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the run's settings say about where it ran."""
        return {"executor": type(self).__name__, "workers": self.workers}

    async def start(self) -> None:
        results = await asyncio.gather(*(self._spawn(i) for i in range(self.workers)), return_exceptions=True)
        started = [r for r in results if not isinstance(r, BaseException)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            for handle in started:
                await handle.aclose()
            first = failed[0]
            if isinstance(first, WorkerError):
                raise first
            raise WorkerError(f"a worker could not be started: {type(first).__name__}: {first}") from first
        self.handles = list(started)

    async def prepare(self) -> None:
        await self._replace_dead()

    async def _replace_dead(self) -> None:
        for index, handle in enumerate(self.handles):
            if handle is not None and handle.alive and handle not in self.gone:
                continue
            if handle is not None:
                await handle.aclose()
                self.handles[index] = None
            try:
                self.handles[index] = await self._spawn(index)
            except Exception as exc:  # noqa: BLE001 - the others take its plans
                self.failures.append(f"worker {index + 1} could not be replaced: {exc}")

    async def run(self, plans: Sequence[ShardPlan], stop: asyncio.Event) -> AsyncIterator[Item]:
        alive = [h for h in self.handles if h is not None and h.alive]
        if not alive:
            for plan in plans:
                yield lost_summary(plan, sent=0, received=0, failure="no worker was left to run this shard")
            return
        pending: dict[tuple[int, int], _Pending] = {}
        now = time.monotonic()
        for i, plan in enumerate(plans):
            handle = alive[i % len(alive)]
            pending[(plan.stage, plan.shard)] = _Pending(handle, plan)
            handle.send(("run", plan))
        for handle in alive:
            handle.heard = now
        stopper = asyncio.ensure_future(stop.wait())
        stopper.add_done_callback(lambda f: None if f.cancelled() else self.queue.put_nowait((None, ("stop",))))
        stop_deadline: float | None = None
        try:
            while pending:
                try:
                    async with asyncio.timeout(CHECK_S):
                        handle, message = await self.queue.get()
                except TimeoutError:
                    handle, message = None, ("tick",)
                now = time.monotonic()
                verb = message[0]
                if handle is None:
                    if verb == "stop" and stop_deadline is None:
                        stop_deadline = now + self.stop_grace_s
                        for stage in {p.plan.stage for p in pending.values()}:
                            for h in {p.handle for p in pending.values()}:
                                h.send(("stop", stage))
                else:
                    handle.heard = now
                    for item in self._receive(handle, message, pending):
                        yield item
                for item in self._watch(now, stop_deadline, pending):
                    yield item
        finally:
            stopper.cancel()
            for p in pending.values():  # the consumer went away mid-stage: stop what still runs
                if p.handle.alive:
                    p.handle.send(("stop", p.plan.stage))

    def _receive(self, handle: WorkerHandle, message: tuple[Any, ...],
                 pending: dict[tuple[int, int], _Pending]) -> list[Item]:
        verb = message[0]
        if verb == "batch":
            _, stage, shard, records, sent = message
            p = pending.get((stage, shard))
            if p is None:
                return []  # from a shard already given up on
            p.received += len(records)
            p.sent = max(p.sent, sent)
            return [records]
        if verb == "progress":
            for stage, shard, sent in message[1]:
                p = pending.get((stage, shard))
                if p is not None:
                    p.sent = max(p.sent, sent)
            return []
        if verb == "summary":
            summary: ShardSummary = message[1]
            return [summary] if pending.pop((summary.stage, summary.shard), None) is not None else []
        if verb == "failed":
            _, stage, shard, text = message
            p = pending.pop((stage, shard), None)
            if p is None:
                return []
            why = f"{handle.name}: shard failed: {text}"
            return [lost_summary(p.plan, sent=p.sent, received=p.received, failure=why)]
        if verb == "dead":
            handle.alive = False
            if handle in self.gone:
                return []  # already given up on (killed by the watchdog)
            self.gone.add(handle)
            why = f"{handle.name} {message[1]}"
            self.failures.append(why)
            return self._give_up(handle, why, pending)
        return []

    def _give_up(self, handle: WorkerHandle, why: str, pending: dict[tuple[int, int], _Pending]) -> list[Item]:
        items: list[Item] = []
        for key, p in list(pending.items()):
            if p.handle is handle:
                del pending[key]
                items.append(lost_summary(p.plan, sent=p.sent, received=p.received, failure=why))
        return items

    def _watch(self, now: float, stop_deadline: float | None, pending: dict[tuple[int, int], _Pending]) -> list[Item]:
        """Workers that went silent, or did not stop in time, are killed and their shards given up."""
        items: list[Item] = []
        for handle in {p.handle for p in pending.values()}:
            if stop_deadline is not None and now > stop_deadline:
                why = f"{handle.name} did not stop within {self.stop_grace_s:g} s and was killed"
            elif now - handle.heard > self.heartbeat_timeout_s:
                why = f"{handle.name} sent nothing for {self.heartbeat_timeout_s:g} s and was killed"
            else:
                continue
            handle.kill()
            handle.alive = False
            self.gone.add(handle)
            self.failures.append(why)
            items += self._give_up(handle, why, pending)
        return items

    async def aclose(self) -> None:
        handles = [h for h in self.handles if h is not None]
        self.handles = []
        if handles:
            await asyncio.gather(*(h.aclose() for h in handles), return_exceptions=True)
