"""Running a watch from synchronous code: the parts wired together, the event loop, signals.

Stop signals are the project's StopSignals (stop.py): the first SIGTERM, SIGINT or SIGHUP cuts the
rounds under way (finished probes kept, unfinished ones stored as `cancelled`), gives queued
alerts and writes a short grace, and returns; another says what is still being finished; the one
after that abandons it. `run_watch` says which signal ended it, so the command line can exit 0 on
SIGTERM (what service managers expect) and 130 on Ctrl-C.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from ..settings import ProbeSettings
from .ledger import Ledger
from .settings import WatchSettings
from .view import RoundView
from .watcher import ChannelEntry, WatchSummary, Watcher

DELIVERY_GRACE_S = 0.5  # after a stop: queued alerts get this long (stored ones go out next start)
WRITER_GRACE_S = 1.5  # after a stop: queued writes get this long


@dataclass
class WatchJob:
    """Everything one watch needs, resolved by the caller (the command line, a test, a benchmark)."""

    targets: Sequence[Any]
    settings: WatchSettings
    site: str
    probe: ProbeSettings = field(default_factory=ProbeSettings)  # each round's, recorded with it
    skipped: Sequence[Any] = ()  # targets that could not be prepared, reported with each round
    origins: dict[str, str] = field(default_factory=dict)
    store: Any = None  # an open Store, or None for --no-store
    reopen: Callable[[], Any] | None = None  # opens the store again after an outage
    outputs: Sequence[str] = ()
    rounds: int | None = None
    seed: int | None = None
    verbose: bool = False
    quiet: bool = False
    on_round: Callable[..., Any] | None = None
    delivery_options: dict[str, Any] = field(default_factory=dict)
    on_start: Callable[[asyncio.AbstractEventLoop], Any] | None = None  # the watch's loop, as it starts
    on_stored: Callable[[], Any] | None = None  # after each write reached the store (writer thread)


@dataclass
class WatchEnd:
    summary: WatchSummary
    signal: int | None  # the signal that stopped it, None when --rounds ran out
    unsent: int = 0  # deliveries still queued at the end (stored alerts are resent next start)
    unwritten: int = 0  # writes the store never got
    writer_s: float = 0.0  # time the store writer spent writing (off the event loop)
    max_buffered: int = 0  # the most writes that waited at once


def build(job: WatchJob, view: RoundView) -> Watcher:
    """The Watcher for `job`: state and undelivered alerts loaded from the store, channels made.
    ValueError (a sentence) for a channel that cannot be used; StoreError if the store fails."""
    from ..store import watchdb
    from .channels import make_channel
    from .push import Pusher
    from .writer import StoreWriter

    tracked: dict = {}
    incidents: list = []
    pending: list = []
    if job.store is not None:
        store = watchdb.require_schema(job.store)
        tracked = watchdb.load_states(store, job.site)
        incidents = watchdb.list_incidents(store, open_only=True, site=job.site)
        pending = watchdb.pending_alerts(store, job.site)
    settings = job.settings
    ledger = Ledger(
        job.site, thresholds=settings.thresholds,
        slo_for=lambda target: settings.slo_for(job.origins.get(target, target)),
        remind_s=settings.remind_s, base_url=settings.url, tracked=tracked, incidents=incidents,
    )
    channels = [ChannelEntry(make_channel(spec), spec.select) for spec in settings.alerts]
    pushers = [Pusher(spec, job.origins) for spec in settings.pushes]
    from .outputs import watch_sinks

    sinks = watch_sinks(job.outputs)
    writer = (StoreWriter(job.store, reopen=job.reopen, warn=view.warn, on_written=job.on_stored)
              if job.store is not None else None)
    watcher = Watcher(
        job.targets, settings=settings, ledger=ledger, view=view, probe=job.probe, skipped=job.skipped,
        origins=job.origins, writer=writer, channels=channels, pushers=pushers,
        sinks=sinks, rounds=job.rounds, seed=job.seed, on_round=job.on_round, delivery_options=job.delivery_options,
    )
    watcher.resume(pending)
    return watcher


NOTICE = "rollcall: stopping: storing the cut round and sending queued alerts; signal again to leave at once\n"


async def _watch(watcher: Watcher, signals: Any, on_start: Any = None) -> tuple[WatchSummary, int]:
    if on_start is not None:
        on_start(asyncio.get_running_loop())
    stop = asyncio.Event()
    watching = asyncio.ensure_future(watcher.run(stop))
    try:
        # A stop signal cancels the wait, not the watch: the watch is then told to stop, so it
        # can cut its rounds and hand over what they found.
        if await signals.until_stopped(asyncio.shield(watching)) is None:
            stop.set()
        summary = await watching
    finally:
        unsent = await watcher.close(DELIVERY_GRACE_S)
    return summary, unsent


def run_watch(job: WatchJob, console: Console | None = None) -> WatchEnd:
    """Watch until --rounds ran out or a signal came; every round recorded as it ends."""
    from ..app import new_event_loop

    view = RoundView(console or Console(stderr=True), verbose=job.verbose, quiet=job.quiet)
    watcher = build(job, view)
    groups: dict[float, int] = {}
    for target in job.targets:
        every = job.settings.every_for(job.origins.get(target.name, target.name))
        groups[every] = groups.get(every, 0) + sum(1 for _ in target.models)
    view.intro(len(job.targets), list(groups.items()), fail_after=job.settings.thresholds.fail_after,
               recover_after=job.settings.thresholds.recover_after, site=job.site,
               channels=[e.channel.label for e in watcher.channels] + [p.label for p in watcher.pushers],
               store=getattr(job.store, "location", None))
    from ..stop import Abandoned, StopSignals

    grace = WRITER_GRACE_S
    summary, unsent = watcher.summary, 0
    with StopSignals(notice=NOTICE) as signals:
        try:
            try:
                with asyncio.Runner(loop_factory=new_event_loop) as runner:
                    summary, unsent = runner.run(_watch(watcher, signals, job.on_start))
            except KeyboardInterrupt:  # off the main thread there are no handlers: asyncio's Ctrl-C
                signals.signum = signals.signum or 2
            except Abandoned:
                grace = 0.2  # asked three times: keep only what is written by now
        finally:
            unwritten = watcher.writer.close(grace) if watcher.writer is not None else 0
        for sink in watcher.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()
    if unwritten:
        view.warn(f"{unwritten} write(s) could not reach the history store before the end and are lost")
    writer = watcher.writer
    return WatchEnd(summary, signals.signum, unsent, unwritten, writer.write_s if writer else 0.0,
                    writer.max_buffered if writer else 0)
