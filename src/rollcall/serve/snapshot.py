"""The served picture of the history: every key's state and windows, open incidents, totals.

Built from small tables only (target_states, rollups summed by the database, open incidents),
off the request path: the server builds a new Snapshot when the store says something changed
(servedb.change_stamp) or the hour turned, and every overview, status, badge and metrics request
is answered from the current one. Pure apart from `build`, which reads the store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import ErrorKind
from ..watch.incidents import Incident
from ..watch.ledger import Key, Recent, Tracked
from ..watch.rollups import Rollup, merged, percentile
from ..watch.state import State

WINDOWS = ("24h", "7d", "30d")
VERDICTS = ("good", "slow", "failed")
# Worst first: how a group of keys (a target's models and sites) is summed up.
SEVERITY = {State.DOWN: 3, State.DEGRADED: 2, State.UP: 1, State.UNKNOWN: 0}
RESULT_KINDS = frozenset(k.value for k in ErrorKind)


@dataclass(frozen=True, slots=True)
class Window:
    probes: int = 0
    ok: int = 0
    failed: int = 0

    @property
    def uptime(self) -> float | None:
        judged = self.ok + self.failed
        return self.ok / judged if judged else None


@dataclass(frozen=True, slots=True)
class Latency:
    p50: float | None = None
    p95: float | None = None


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One target x model x site as the overview shows it."""

    target: str
    model: str
    site: str
    kind: str = ""
    state: State = State.UNKNOWN
    since: str | None = None
    windows: dict[str, Window] = field(default_factory=dict)
    ttft: Latency = Latency()  # over 24 h
    total: Latency = Latency()
    recent: tuple[Recent, ...] = ()
    last_at: str | None = None
    last_ok: bool | None = None
    last_ok_at: str | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    last_ttft_s: float | None = None
    last_total_s: float | None = None
    last_run_id: str | None = None
    incident: Incident | None = None
    totals: Rollup | None = None  # since the key was first seen (Prometheus)

    @property
    def key(self) -> Key:
        return (self.target, self.model, self.site)


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    built_at: str
    rows: tuple[KeyRow, ...] = ()
    open_incidents: tuple[Incident, ...] = ()
    build_s: float = 0.0

    @property
    def last_round_at(self) -> str | None:
        return max((r.last_at for r in self.rows if r.last_at), default=None)

    @property
    def sites(self) -> list[str]:
        return sorted({r.site for r in self.rows})

    @property
    def pairs(self) -> set[tuple[str, str]]:
        return {(r.target, r.model) for r in self.rows}

    @property
    def targets(self) -> set[str]:
        return {r.target for r in self.rows}

    def rows_for(self, target: str, model: str | None = None, site: str | None = None) -> list[KeyRow]:
        return [r for r in self.rows if r.target == target and (model is None or r.model == model)
                and (site is None or r.site == site)]


def iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hour_start(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:00:00Z")


def day_start(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT00:00:00Z")


def window_starts(now: _dt.datetime) -> dict[str, tuple[str, str]]:
    """Each window as (rollup period, first bucket): the last 24 hours and 7 days from hourly
    rollups, the last 30 days from daily ones (the current bucket included)."""
    hours = _dt.timedelta(hours=1)
    return {
        "24h": ("hour", hour_start(now - 23 * hours)),
        "7d": ("hour", hour_start(now - 167 * hours)),
        "30d": ("day", day_start(now - _dt.timedelta(days=29))),
    }


def assemble(
    version: int,
    now: _dt.datetime,
    states: dict[Key, Tracked],
    windows: dict[str, dict[Key, Any]],
    latency: Iterable[Rollup],
    totals: Iterable[Rollup],
    open_incidents: Sequence[Incident],
    build_s: float = 0.0,
) -> Snapshot:
    """A Snapshot from what the store returned (pure, so it is tested without a store)."""
    by_key_latency: dict[Key, list[Rollup]] = {}
    for r in latency:
        by_key_latency.setdefault((r.target, r.model, r.site), []).append(r)
    by_key_totals = {(r.target, r.model, r.site): r for r in totals}
    incidents = {i.key: i for i in open_incidents}
    keys = set(states) | set(by_key_totals)
    rows = []
    for key in sorted(keys, key=lambda k: (k[0].lower(), k[0], k[1], k[2])):
        tracked = states.get(key, Tracked())
        lat = merged(by_key_latency.get(key, ()))
        counts = {name: windows.get(name, {}).get(key) for name in WINDOWS}
        rows.append(KeyRow(
            target=key[0], model=key[1], site=key[2], kind=tracked.kind, state=tracked.state.state,
            since=tracked.state.since,
            windows={name: Window(c.probes, c.ok, c.failed) for name, c in counts.items() if c is not None},
            ttft=Latency(percentile(lat.ttft_hist, 50), percentile(lat.ttft_hist, 95)) if lat else Latency(),
            total=Latency(percentile(lat.total_hist, 50), percentile(lat.total_hist, 95)) if lat else Latency(),
            recent=tracked.recent, last_at=tracked.last_at or (by_key_totals[key].last_at if key in by_key_totals else None),
            last_ok=tracked.last_ok, last_ok_at=tracked.last_ok_at, last_error_kind=tracked.last_error_kind,
            last_error=tracked.last_error, last_ttft_s=tracked.last_ttft_s, last_total_s=tracked.last_total_s,
            last_run_id=tracked.last_run_id, incident=incidents.get(key), totals=by_key_totals.get(key),
        ))
    return Snapshot(version=version, built_at=iso(now), rows=tuple(rows), open_incidents=tuple(open_incidents),
                    build_s=build_s)


def build(store: Any, version: int, now: _dt.datetime | None = None) -> Snapshot:
    """Read what a Snapshot needs from `store` (a SqlStore with the watch tables)."""
    import time

    from ..store import servedb, watchdb

    started = time.perf_counter()
    now = now or _dt.datetime.now(_dt.timezone.utc)
    starts = window_starts(now)
    windows = {name: servedb.window_counts(store, period, since) for name, (period, since) in starts.items()}
    period, since = starts["24h"]
    latency = servedb.rollups(store, period, since=since)
    totals = servedb.rollups(store, "all")
    states = watchdb.load_states(store)
    incidents = watchdb.list_incidents(store, open_only=True)
    return assemble(version, now, states, windows, latency, totals, incidents,
                    build_s=time.perf_counter() - started)


def worst(states: Iterable[State]) -> State:
    return max(states, key=lambda s: SEVERITY[s], default=State.UNKNOWN)
