"""Scripted in-process targets, for tests of code that runs probes (rollcall's own and yours):
set the latency, the answer, the reasoning, a failure or a hang, and probe them like any target,
with no socket and no thread.

    from rollcall import ProbeSettings, Runner
    from rollcall.testing import ScriptedTarget

    targets = [ScriptedTarget("fast", answer=["Hello", " there"]),
               ScriptedTarget("slow", delay_s=0.3, reasoning="thinking…"),
               ScriptedTarget("down", error=ConnectionResetError("reset")),
               ScriptedTarget("stuck", hang=True)]
    run = await Runner(targets, settings=ProbeSettings(timeout_s=1)).run()

A call goes: `Started` after `dispatch_s` (time before it counts as queue time) when given, the
`Headers(status)`, a wait for `gate`, `delay_s`, the reasoning then the answer pieces (`gap_s`
between pieces; `error` raised after `error_after` answer pieces, or before any), `Usage` with
one token per piece, then a hang when asked. `script` instead replays (seconds after the call
began, event) pairs, each delivered at that offset and stamped with it exactly (load tests
measure against those stamps).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar

from .targets.base import Content, Event, Headers, ProbeRequest, ReasoningDelta, Started, Usage

__all__ = ["ScriptedTarget"]


def _pieces(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class ScriptedTarget:
    """A target that plays a script. `calls`, `active`, `max_active` and `closed` say how it was
    used; `ScriptedTarget.running` names the targets whose call is under way (all instances)."""

    running: ClassVar[list[str]] = []

    def __init__(
        self,
        name: str = "scripted",
        *,
        models: Sequence[str] = ("m",),
        answer: str | Sequence[str] = "hi",
        reasoning: str | Sequence[str] = (),
        delay_s: float = 0.0,
        gap_s: float = 0.0,
        dispatch_s: float | None = None,
        status: int | None = 200,
        usage: bool = True,
        error: BaseException | None = None,
        error_after: int = 0,
        hang: bool = False,
        gate: asyncio.Event | None = None,
        script: Sequence[tuple[float, Event]] | None = None,
        kind: str = "scripted",
        link: str | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        self.name, self.kind, self.models = name, kind, tuple(models)
        self.answer, self.reasoning = _pieces(answer), _pieces(reasoning)
        self.delay_s, self.gap_s, self.dispatch_s = delay_s, gap_s, dispatch_s
        self.status, self.usage, self.error, self.error_after = status, usage, error, error_after
        self.hang, self.gate = hang, gate
        self.script = list(script) if script is not None else None
        self.link, self.meta = link, dict(meta or {})
        self.calls = self.active = self.max_active = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"ScriptedTarget({self.name!r})"

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        ScriptedTarget.running.append(self.name)
        try:
            events = self._replay() if self.script is not None else self._play()
            async for event in events:
                yield event
            if self.hang:
                await asyncio.Event().wait()
        finally:
            self.active -= 1
            ScriptedTarget.running.remove(self.name)

    async def _play(self) -> AsyncIterator[Event]:
        if self.dispatch_s is not None:
            await asyncio.sleep(self.dispatch_s)
            yield Started(at=time.perf_counter())
        if self.status is not None:
            yield Headers(self.status)
        if self.gate is not None:
            await self.gate.wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.hang:
            return
        for piece in self.reasoning:
            yield ReasoningDelta(piece)
            await self._gap()
        for i, piece in enumerate(self.answer):
            if self.error is not None and i == self.error_after:
                raise self.error
            yield Content(piece)
            await self._gap()
        if self.error is not None:
            raise self.error
        if self.usage:
            yield Usage(completion_tokens=len(self.answer))

    async def _gap(self) -> None:
        if self.gap_s:
            await asyncio.sleep(self.gap_s)

    async def _replay(self) -> AsyncIterator[Event]:
        began = time.perf_counter()
        yield Started(at=began)  # the send time is exactly `began`
        for offset, event in self.script or ():
            delay = began + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # arrive when stamped: end-to-end time is then real time
            yield dataclasses.replace(event, at=began + offset)
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True
