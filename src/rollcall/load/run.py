"""A load run: its stages one after another, each split into shards, run by an executor, and
merged into stage statistics as records arrive.

The seam for more cores and more machines is `ShardExecutor`: anything that runs ShardPlans
and yields their record batches and ShardSummaries. `LocalExecutor` runs every shard on this
event loop; `ProcessExecutor` (processes.py, `--workers N`) and `RayExecutor` (ray_workers.py,
`--ray`) run `run_shard` in workers elsewhere and forward what it yields (remote.py). The merge
(StageStats) does not care where a record came from.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from .. import __version__
from ..targets.base import Target
from ..timing import utc_now_iso
from . import document
from .prompts import PromptSource
from .record import RequestRecord
from .shard import ShardPlan, plan_shards, run_shard
from .sinks import LoadFanout, LoadSink
from .spec import LoadSpec
from .stage import ShardSummary, StageStats, Timeline

START_LEAD_S = 0.05  # a stage starts this long after it is planned, so every shard is ready
EXECUTOR_CLOSE_S = 10.0  # workers are asked to exit, then killed (see processes.py)
Item = list[RequestRecord] | ShardSummary


class ShardExecutor(Protocol):
    start_lead_s: float  # how long before a stage's start its plans must be made

    async def start(self) -> None:
        """Get ready (start workers) before the first stage."""
        ...

    async def prepare(self) -> None:
        """Before each stage is planned (replace workers that died), so plans start on time."""
        ...

    def run(self, plans: Sequence[ShardPlan], stop: asyncio.Event) -> AsyncIterator[Item]:
        """Run every plan; yield their record batches and summaries as they come."""
        ...

    async def aclose(self) -> None: ...


class LocalExecutor:
    """Every shard on the running event loop (one process, one loop)."""

    start_lead_s = START_LEAD_S

    def __init__(self, target: Target, prompts: PromptSource) -> None:
        self.target = target
        self.prompts = prompts

    async def start(self) -> None:
        pass

    async def prepare(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def run(self, plans: Sequence[ShardPlan], stop: asyncio.Event) -> AsyncIterator[Item]:
        if len(plans) == 1:
            async for item in run_shard(self.target, plans[0], self.prompts, stop=stop):
                yield item
            return
        queue: asyncio.Queue[Item | None] = asyncio.Queue()

        async def pump(plan: ShardPlan) -> None:
            try:
                async for item in run_shard(self.target, plan, self.prompts, stop=stop):
                    queue.put_nowait(item)
            finally:
                queue.put_nowait(None)

        tasks = [asyncio.ensure_future(pump(p)) for p in plans]
        try:
            running = len(tasks)
            while running:
                item = await queue.get()
                if item is None:
                    running -= 1
                else:
                    yield item
            for task in tasks:
                task.result()  # a failed shard is a bug: say so
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)


class LoadRunner:
    """Runs the stages of `spec` against `target` and builds the rollcall.load/1 document."""

    def __init__(
        self,
        target: Target,
        spec: LoadSpec,
        prompts: PromptSource,
        *,
        model: str = "",
        sinks: Sequence[LoadSink] = (),
        shards: int = 1,
        executor: ShardExecutor | None = None,
        settings: dict[str, Any] | None = None,
        site: str = "",
    ) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.target = target
        self.spec = spec
        self.prompts = prompts
        self.model = model
        self.fanout = LoadFanout(sinks)
        self.shards = shards
        self.executor = executor if executor is not None else LocalExecutor(target, prompts)
        self.settings = {**spec.settings(), "prompts": prompts.describe(), "shards": shards, **(settings or {})}
        self.site = site
        self.id = uuid.uuid4().hex[:12]
        self.stages: list[dict[str, Any]] = []
        self.interrupted: str | None = None
        self._stop = asyncio.Event()
        self._current: StageStats | None = None
        self._started_at = ""
        self._t0 = 0.0
        self._timeline: Timeline | None = None

    def interrupt(self, why: str) -> None:
        """Stop after what is in flight: the current stage is cut (marked partial), no more start.
        Safe to call from a signal handler on the loop, more than once."""
        if self.interrupted is None:
            self.interrupted = why
        self._stop.set()

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id, "target": self.target.name, "kind": self.target.kind, "model": self.model,
            "mode": self.spec.mode, "stages": [s.label for s in self.spec.stages], "started_at": self._started_at,
            "settings": self.settings, "site": self.site,
        }

    async def run(self) -> dict[str, Any]:
        """Every stage (until interrupted); returns the document. The target is closed at the end."""
        try:
            await self.executor.start()  # workers ready before anything is recorded (WorkerError)
            workers = getattr(self.executor, "workers", None)
            if workers:  # remote workers: one shard each, known once they run (a Ray cluster's CPUs)
                self.shards = workers
                self.settings.update(self.executor.describe(), shards=workers)  # type: ignore[attr-defined]
            self._started_at = utc_now_iso()
            self._t0 = time.perf_counter()
            self._timeline = Timeline(time.time())
            self.fanout.start(self.info())
            for stage in self.spec.stages:
                if self._stop.is_set():
                    break
                await self._run_stage(stage)
        finally:
            for closing in (self.executor.aclose, self.target.aclose):
                try:
                    async with asyncio.timeout(EXECUTOR_CLOSE_S):
                        await closing()
                except Exception:  # noqa: BLE001 - closing must not lose the run
                    pass
        return self.document()

    async def _run_stage(self, stage: Any) -> None:
        await self.executor.prepare()
        start_at = time.time() + self.executor.start_lead_s
        stats = StageStats(stage, self.spec.slo, started_at=start_at)
        self._current = stats
        self.fanout.stage_started(stage)
        plans = plan_shards(self.spec, stage, shards=self.shards, start_at=start_at, model=self.model)
        timeline = self._timeline
        assert timeline is not None
        async for item in self.executor.run(plans, self._stop):
            if isinstance(item, ShardSummary):
                stats.add_shard(item)
                continue
            for record in item:
                stats.add(record)
                timeline.add(record)
            self.fanout.records(item, stats)
        self._finish_stage(stats, partial=self._stop.is_set())

    def _finish_stage(self, stats: StageStats, *, partial: bool) -> None:
        result = stats.result(partial=partial)
        result["cdf"] = stats.cdfs()
        self.stages.append(result)
        self._current = None
        self.fanout.stage_finished(result)

    def document(self) -> dict[str, Any]:
        """The run so far; a stage cut by an interrupt (or a cancelled run) is kept, partial."""
        if self._current is not None:
            self._finish_stage(self._current, partial=True)
        planned = len(self.spec.values)
        complete = self.interrupted is None and len(self.stages) == planned and not any(s["partial"] for s in self.stages)
        return document.build(
            run_id=self.id, target=self.target.name, kind=self.target.kind, model=self.model, mode=self.spec.mode,
            started_at=self._started_at or utc_now_iso(), ended_at=utc_now_iso(),
            wall_s=time.perf_counter() - self._t0 if self._t0 else 0.0, complete=complete,
            interrupted=self.interrupted, settings=self.settings, stages=self.stages,
            timeline=self._timeline.to_dict() if self._timeline else None, version=__version__, site=self.site,
        )

    def finish(self, doc: dict[str, Any]) -> list[str]:
        """Give the final document to every sink; returns the sinks' error messages."""
        self.fanout.finish(doc)
        return list(self.fanout.errors)
