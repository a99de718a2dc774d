"""Delivery: alerts and pushes sent beside the probes, never in a round's way.

Each channel has its own queue and worker task, so a dead receiver delays only itself and its
alerts keep their order (opened before resolved). A send is retried with exponential backoff up
to `attempts` times; the first failure of a channel is told once (not again until it has worked
again), and each alert's final outcome goes to `on_update` (the store keeps it). Queues are
bounded: past `queue_limit` a job is refused and recorded as failed instead of growing memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..redact import redact
from ..timing import utc_now_iso
from .channels import DeliveryError

ATTEMPTS = 4
BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
QUEUE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one job ended (`row_id` names its outbox row; None for pushes, which are not stored)."""

    row_id: str | None
    ok: bool
    attempts: int
    at: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    send: Callable[[], Awaitable[None]]
    row_id: str | None
    attempts: int


class Delivery:
    """Create it inside the running loop; `submit` from the loop; `close` at the end."""

    def __init__(
        self,
        *,
        on_outcome: Callable[[Outcome], None] = lambda outcome: None,
        warn: Callable[[str], None] = lambda message: None,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.on_outcome = on_outcome
        self.warn = warn
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.queue_limit = queue_limit
        self.sent = 0
        self.failed = 0
        self._queues: dict[str, asyncio.Queue[_Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._labels: dict[str, str] = {}
        self._failing: set[str] = set()
        self._pending = 0  # submitted and not finished, in every queue

    def submit(self, key: str, label: str, send: Callable[[], Awaitable[None]], *,
               row_id: str | None = None, attempts: int | None = None) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._labels[key] = label
            self._workers[key] = asyncio.get_running_loop().create_task(self._work(key, queue),
                                                                        name=f"rollcall-deliver-{key}")
        if queue.qsize() >= self.queue_limit:
            error = f"{label}: {self.queue_limit} deliveries already waiting; this one was dropped"
            self._tell_failure(key, error)
            self._finish(_Job(send, row_id, 0), ok=False, attempts=0, error=error)
            return
        self._pending += 1
        queue.put_nowait(_Job(send, row_id, attempts or self.attempts))

    @property
    def waiting(self) -> int:
        """Jobs submitted and not yet finished (queued or being sent)."""
        return self._pending

    async def _work(self, key: str, queue: asyncio.Queue[_Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._attempt(key, job)
            finally:
                self._pending -= 1
                queue.task_done()

    async def _attempt(self, key: str, job: _Job) -> None:
        label = self._labels[key]
        error = ""
        for attempt in range(1, job.attempts + 1):
            try:
                await job.send()
            except DeliveryError as exc:
                error = redact(str(exc)) or label
            except Exception as exc:  # noqa: BLE001 - a broken channel must not stop delivery
                error = f"{label}: {type(exc).__name__}"
            else:
                if key in self._failing:
                    self._failing.discard(key)
                    self.warn(f"alert channel {label} works again")
                self._finish(job, ok=True, attempts=attempt)
                return
            self._tell_failure(key, error, retrying=attempt < job.attempts)
            if attempt < job.attempts:
                await asyncio.sleep(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))
        self._finish(job, ok=False, attempts=job.attempts, error=error)

    def _tell_failure(self, key: str, error: str, *, retrying: bool = False) -> None:
        if key in self._failing:
            return
        self._failing.add(key)
        tail = f"retrying up to {self.attempts} times; " if retrying else ""
        self.warn(f"alert channel failed: {error} ({tail}further failures of this channel are not shown "
                  "until it works again)")

    def _finish(self, job: _Job, *, ok: bool, attempts: int, error: str | None = None) -> None:
        if ok:
            self.sent += 1
        else:
            self.failed += 1
        try:
            self.on_outcome(Outcome(job.row_id, ok, attempts, utc_now_iso(), error))
        except Exception:  # noqa: BLE001 - recording an outcome must not kill the worker
            pass

    async def close(self, grace_s: float = 1.0) -> int:
        """Give queued jobs up to `grace_s`, then stop; returns how many were left unsent
        (stored alerts among them are sent by the next watcher that starts)."""
        if self._queues:
            joins = [asyncio.ensure_future(q.join()) for q in self._queues.values()]
            await asyncio.wait(joins, timeout=grace_s)
            for join in joins:
                join.cancel()
        left = self._pending
        for worker in self._workers.values():
            worker.cancel()
        if self._workers:
            await asyncio.wait(list(self._workers.values()), timeout=1.0)
        self._workers.clear()
        self._queues.clear()
        return left
