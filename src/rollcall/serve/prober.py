"""Probes made on request (/probe?target=&model=, blackbox_exporter's pattern), so Prometheus
can own the schedule. A probe is an ordinary one-target run (same prompt, deadline and checks as
the watch or config gives), on the event loop that owns the targets' HTTP clients: the watcher's
under `watch --listen`, the server's own under `serve -c`. Nothing is stored.

At most MAX_AT_ONCE probes run at a time, one per target x model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..settings import ProbeSettings

MAX_AT_ONCE = 4


class ProbeRefused(Exception):
    """A probe that cannot be made: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _OneModel:
    """A target seen with only one of its models (the Runner probes every model it lists)."""

    inner: Any
    model: str
    name: str = ""
    kind: str = ""
    models: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.name = self.inner.name
        self.kind = getattr(self.inner, "kind", "")
        self.models = (self.model,)

    def stream(self, request: Any) -> Any:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        pass  # the owner closes the real target


class Prober:
    def __init__(self, targets: Sequence[Any], settings: ProbeSettings | None = None, *,
                 loop: asyncio.AbstractEventLoop | None = None, owned: bool = False) -> None:
        self.owned = owned  # True: the server made these targets and closes them (serve -c)
        self.targets = {t.name: t for t in targets}
        self.settings = settings if settings is not None else ProbeSettings()  # prompt, deadline, checks
        self.loop = loop  # where probes run; None: the caller's loop
        self._busy: set[tuple[str, str]] = set()
        self._running = 0

    async def aclose(self) -> None:
        """Close the targets (their HTTP clients) if they are ours, on the loop that used them."""
        if not self.owned:
            return
        for target in self.targets.values():
            try:
                await target.aclose()
            except Exception:  # noqa: BLE001 - closing must not fail the shutdown
                pass

    def names(self) -> list[str]:
        return sorted(self.targets)

    def find(self, target: str, model: str | None) -> tuple[Any, str]:
        found = self.targets.get(target)
        if found is None:
            lowered = {name.lower(): t for name, t in self.targets.items()}
            found = lowered.get(target.lower())
        if found is None:
            raise ProbeRefused(404, f"no target {target!r} to probe (targets: {', '.join(self.names()) or 'none'})")
        models = [str(m) for m in getattr(found, "models", ()) or ("",)]
        if model is None or model == "":
            return found, models[0]
        if model not in models:
            raise ProbeRefused(404, f"target {found.name!r} is not probed with model {model!r} "
                                    f"(models: {', '.join(models)})")
        return found, model

    async def probe(self, target: str, model: str | None) -> Any:
        """The RunResult of probing one target x model now (ProbeRefused when it cannot be made)."""
        found, chosen = self.find(target, model)
        key = (found.name, chosen)
        if key in self._busy:
            raise ProbeRefused(429, f"{found.name!r} with model {chosen!r} is being probed already; try again")
        if self._running >= MAX_AT_ONCE:
            raise ProbeRefused(429, f"{MAX_AT_ONCE} probes are running already; try again")
        self._busy.add(key)
        self._running += 1
        try:
            work = self._run(_OneModel(found, chosen))
            if self.loop is None or self.loop is asyncio.get_running_loop():
                return await work
            try:
                future = asyncio.run_coroutine_threadsafe(work, self.loop)
            except RuntimeError:  # the watcher's loop has closed: it is stopping
                work.close()
                raise ProbeRefused(503, "the watcher is stopping; no probes now") from None
            # The watcher's loop may stop before the probe ends: never wait past its deadline.
            limit = self.settings.timeout_s + 5.0
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), limit)
            except TimeoutError:
                future.cancel()
                raise ProbeRefused(503, "the probe did not finish (the watcher is stopping)") from None
        finally:
            self._busy.discard(key)
            self._running -= 1

    async def _run(self, target: Any) -> Any:
        from ..runner import Runner

        return await Runner([target], settings=self.settings).run()
