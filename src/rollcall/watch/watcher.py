"""The watch loop: rounds on schedule, each an ordinary Runner run, its bookkeeping handed to the
store writer and delivery so the next round never waits for either.

    watcher = Watcher(targets, settings=..., ledger=..., writer=..., channels=..., view=...)
    summary = await watcher.run(stop)     # until `stop` is set, or every group ran `rounds`

Setting `stop` cuts the rounds under way: what finished is kept, unfinished probes become
`cancelled` results, everything is handed to the writer and the watcher returns.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import RunResult, Skipped
from ..runner import Runner
from ..settings import ProbeSettings
from ..sinks import Sink
from ..timing import utc_now_iso
from . import delivery as delivery_mod
from .alerts import Alert
from .incidents import EventKind
from .ledger import Ledger, RoundChanges
from .schedule import Group, make_groups
from .settings import Selector, WatchSettings
from .state import State
from .view import RoundView

REFRESH_S = 60.0  # Alertmanager: firing alerts re-sent at most this often
MAINTAIN_S = 600.0  # pruning and late rollups at most this often
CUT_GRACE_S = 2.0  # a cut round's targets get this long to close


@dataclass
class ChannelEntry:
    channel: Any  # channels.Channel
    select: Selector


@dataclass
class WatchSummary:
    rounds: int = 0
    cut: int = 0
    opened: int = 0
    resolved: int = 0
    alerts: int = 0
    last_run: RunResult | None = None
    bookkeeping_s: float = 0.0  # time spent on the loop between rounds' probes (states, alerts, hand-off)
    rounds_s: list[float] = field(default_factory=list)  # only when asked to keep timings


class Watcher:
    def __init__(
        self,
        targets: Sequence[Any],
        *,
        settings: WatchSettings,
        ledger: Ledger,
        view: RoundView,
        probe: ProbeSettings | None = None,
        skipped: Sequence[Skipped] = (),
        origins: dict[str, str] | None = None,
        writer: Any = None,  # writer.StoreWriter, or None (--no-store)
        channels: Sequence[ChannelEntry] = (),
        pushers: Sequence[Any] = (),
        sinks: Sequence[Sink] = (),
        rounds: int | None = None,
        seed: int | None = None,
        on_round: Callable[[int, RunResult, RoundChanges], Any] | None = None,
        delivery_options: dict[str, Any] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.settings = settings
        self.ledger = ledger
        self.view = view
        self.probe = probe if probe is not None else ProbeSettings()
        self.skipped = tuple(skipped)
        self.origins = dict(origins or {})
        self.writer = writer
        self.channels = list(channels)
        self.pushers = list(pushers)
        self.sinks = list(sinks)
        self.rounds = rounds
        self.seed = seed
        self.on_round = on_round
        self.delivery_options = dict(delivery_options or {})
        self.summary = WatchSummary()
        self.delivery: delivery_mod.Delivery | None = None
        self._round_no = 0
        self._last_refresh = 0.0
        self._last_maintain = 0.0
        self._pending: Sequence[Any] = ()

    # -- setup -----------------------------------------------------------------------------
    def groups(self, start: float) -> list[Group]:
        return make_groups(self.targets, lambda t: self.settings.every_for(self.origins.get(t.name, t.name)),
                           site=self.ledger.site, start=start, seed=self.seed)

    def resume(self, pending: Sequence[Any]) -> None:
        """Alerts a previous watcher stored but did not deliver (watchdb.PendingAlert): sent first."""
        self._pending = pending

    def _outcome(self, outcome: delivery_mod.Outcome) -> None:
        if outcome.row_id is None or self.writer is None:
            return
        from ..store import watchdb

        from .writer import Batch

        update = watchdb.DeliveryUpdate(outcome.row_id, "sent" if outcome.ok else "failed", outcome.attempts,
                                        outcome.at, outcome.error)
        self.writer.submit("alert delivery status", Batch("delivery", watchdb.update_deliveries, update))

    # -- the loop --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> WatchSummary:
        self.delivery = delivery_mod.Delivery(on_outcome=self._outcome, warn=self.view.warn, **self.delivery_options)
        self._send_pending()
        groups = self.groups(time.monotonic())
        loops = [asyncio.ensure_future(self._group_loop(g, stop)) for g in groups]
        refresher = asyncio.ensure_future(self._refresh_loop())
        try:
            await asyncio.gather(*loops)
        finally:
            for task in (*loops, refresher):
                task.cancel()
            await asyncio.wait([refresher])
        return self.summary

    async def _refresh_loop(self) -> None:
        # Between rounds too: with `every` longer than Alertmanager's hold, a firing alert must
        # still be re-sent in time.
        while True:
            await asyncio.sleep(REFRESH_S)
            self._refresh()

    async def close(self, grace_s: float = 1.0) -> int:
        """Stop delivery (up to `grace_s` for what is queued) and close channels; returns the
        number of deliveries left unsent."""
        left = await self.delivery.close(grace_s) if self.delivery is not None else 0
        for entry in self.channels:
            try:
                await entry.channel.aclose()
            except Exception:  # noqa: BLE001
                pass
        for pusher in self.pushers:
            try:
                await pusher.aclose()
            except Exception:  # noqa: BLE001
                pass
        return left

    async def _group_loop(self, group: Group, stop: asyncio.Event) -> None:
        while not stop.is_set() and (self.rounds is None or group.rounds < self.rounds):
            delay = group.due_in(time.monotonic())
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break  # stop was set while waiting
                except TimeoutError:
                    pass
            group.rounds += 1
            self._round_no += 1
            number = self._round_no
            started = time.monotonic()
            run, cut = await self._probe(group, number, stop)
            late = group.schedule_next(started, time.monotonic())
            was_late, group.late = group.late, late > 0
            self._after_round(group, number, run, late_s=late, cut=cut, was_late=was_late)

    async def _probe(self, group: Group, number: int, stop: asyncio.Event) -> tuple[RunResult, bool]:
        settings = self.probe.with_extra(watch={"round": number, "every_s": group.every_s})
        runner = Runner(group.targets, settings=settings, skipped=self.skipped, sinks=[*self.sinks, self.view])
        runner.start_sinks()
        round_task = asyncio.ensure_future(runner.run())
        stop_task = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({round_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_task.cancel()
        cut = not round_task.done()
        if cut:
            round_task.cancel()
            await asyncio.wait({round_task}, timeout=CUT_GRACE_S)
            run = runner.snapshot(complete=False)
        else:
            try:
                run = round_task.result()
            except Exception as exc:  # noqa: BLE001 - a round that broke is told, the watch goes on
                self.view.warn(f"round {number} failed: {type(exc).__name__}: {exc}")
                run = runner.snapshot(complete=False)
        runner.finish(run)
        return run, cut

    def _after_round(self, group: Group, number: int, run: RunResult, *, late_s: float, cut: bool,
                     was_late: bool = False) -> None:
        started = time.perf_counter()
        changes = self.ledger.apply(run, number)
        deliveries: list[tuple[ChannelEntry, Alert]] = []
        for alert in changes.alerts:
            origin = self.origins.get(alert.target)
            deliveries.extend((e, alert) for e in self.channels
                              if e.select.wants(alert.target, alert.model, alert.state, origin))
        if self.writer is not None:
            from ..store import watchdb

            from .writer import Batch

            rows = [(e.channel.key, a) for e, a in deliveries]
            self.writer.submit(f"round {number}", Batch("round", watchdb.write_rounds, (changes, rows)))
        assert self.delivery is not None
        for entry, alert in deliveries:
            from ..store.watchdb import alert_row_id

            self.delivery.submit(entry.channel.key, entry.channel.label, functools.partial(entry.channel.send, alert),
                                 row_id=alert_row_id(alert, entry.channel.key) if self.writer is not None else None)
        for pusher in self.pushers:
            for send in pusher.jobs(run.results):
                self.delivery.submit(pusher.key, pusher.label, send, attempts=2)
        self._refresh()
        self._maintain()
        self.summary.rounds += 1
        self.summary.cut += cut
        self.summary.alerts += len(deliveries)
        for _key, transition, _obs in changes.transitions:
            if transition.current is State.UP and transition.previous in (State.DOWN, State.DEGRADED):
                self.summary.resolved += 1
        self.summary.opened += sum(1 for a in changes.alerts if a.event is EventKind.OPENED)
        self.summary.last_run = run
        self.summary.bookkeeping_s += time.perf_counter() - started
        self.view.round(number, run, changes, late_s=late_s, every_s=group.every_s, cut=cut, was_late=was_late)
        if self.on_round is not None:
            self.on_round(number, run, changes)

    def _send_pending(self) -> None:
        by_key = {e.channel.key: e.channel for e in self.channels}
        assert self.delivery is not None
        for pending in self._pending:
            channel = by_key.get(pending.channel)
            if channel is not None:
                self.delivery.submit(channel.key, channel.label, functools.partial(channel.send, pending.alert),
                                     row_id=pending.row_id)
        self._pending = ()

    def _refresh(self) -> None:
        """Re-send firing alerts to receivers that expect it (Alertmanager), at most every REFRESH_S."""
        now = time.monotonic()
        if now - self._last_refresh < REFRESH_S * 0.9:
            return
        self._last_refresh = now
        firing = self.ledger.firing()
        assert self.delivery is not None
        for entry in self.channels:
            if getattr(entry.channel, "kind", "") != "alertmanager":
                continue
            mine = [a for a in firing if entry.select.wants(a.target, a.model, a.state, self.origins.get(a.target))]
            if mine:
                self.delivery.submit(entry.channel.key, entry.channel.label,
                                     functools.partial(entry.channel.refresh, mine), attempts=1)

    def _maintain(self) -> None:
        """Late rollups and pruning (`keep`), in bounded batches on the writer thread."""
        now = time.monotonic()
        if self.writer is None or now - self._last_maintain < MAINTAIN_S:
            return
        self._last_maintain = now
        self.writer.submit("pruning", functools.partial(maintain, keep_s=self.settings.keep_s))


def maintain(store: Any, *, keep_s: float, budget_s: float = 1.0) -> None:
    """Roll up runs recorded outside the watch, then prune results older than `keep_s`, within
    about `budget_s` (what is left waits for the next call)."""
    import datetime as _dt

    from ..store import watchdb
    from ..store.queries import iso
    from .rollups import RETAIN_S

    deadline = time.perf_counter() + budget_s
    now = _dt.datetime.now(_dt.timezone.utc)
    settled = iso(now - _dt.timedelta(days=1))
    while time.perf_counter() < deadline and watchdb.roll_up_pending(store, settled_before=settled, limit_runs=20):
        pass
    fine = iso(now - _dt.timedelta(seconds=RETAIN_S["5m"]))  # 5-minute rollups go whatever `keep` says
    if keep_s <= 0:
        before, hourly = "", None  # keep every run and hourly rollup
    else:
        before = iso(now - _dt.timedelta(seconds=keep_s))
        hourly = iso(now - _dt.timedelta(seconds=max(keep_s, RETAIN_S["hour"])))
    while time.perf_counter() < deadline and watchdb.prune(store, before=before, hourly_before=hourly,
                                                           fine_before=fine):
        pass


def stamp() -> str:
    return utc_now_iso()
