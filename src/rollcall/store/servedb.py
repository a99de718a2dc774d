"""What `rollcall serve` reads, on either backend: a cheap change stamp, window counts summed by
the database, rollups of one key, a key's latest results. Nothing here reads the results table
beyond one key's newest rows (by the (target, model, started_at) index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models import ProbeResult
from .base import RESULT_FIELDS
from .sql import SqlStore, _probe_result
from .watchdb import _ROLLUP_COLUMNS, _rollup
from ..watch.rollups import Rollup

Key = tuple[str, str, str]


def change_stamp(store: SqlStore) -> tuple[Any, ...]:
    """Something that differs whenever a watcher has written a round (or an incident moved)."""
    with store._lock:
        states = store.query("SELECT COUNT(*), MAX(last_at) FROM target_states")[0]
        incidents = store.query("SELECT COUNT(*), MAX(opened_at), MAX(resolved_at) FROM incidents")[0]
        totals = store.query("SELECT COUNT(*), MAX(last_at), SUM(probes) FROM rollups WHERE period = 'all'")[0]
    return (*states, *incidents, *totals)


@dataclass(frozen=True, slots=True)
class Counts:
    probes: int = 0
    ok: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def uptime(self) -> float | None:
        judged = self.ok + self.failed
        return self.ok / judged if judged else None


def window_counts(store: SqlStore, period: str, since: str) -> dict[Key, Counts]:
    """Probe counts per key over the `period` rollups from `since` on, summed by the database."""
    sql = ("SELECT target, model, site, SUM(probes), SUM(ok), SUM(failed), SUM(cancelled) FROM rollups "
           "WHERE period = ? AND bucket >= ? GROUP BY target, model, site")
    with store._lock:
        rows = store.query(sql, (period, since))
    return {(t, m, s): Counts(int(p or 0), int(o or 0), int(f or 0), int(c or 0)) for t, m, s, p, o, f, c in rows}


def rollups(
    store: SqlStore, period: str, *, since: str | None = None, until: str | None = None,
    target: str | None = None, model: str | None = None, site: str | None = None,
) -> list[Rollup]:
    """Rollups of one period, oldest first, optionally for one key (or one target x model, every site)."""
    sql = f"SELECT {', '.join(_ROLLUP_COLUMNS)} FROM rollups WHERE period = ?"
    params: list[object] = [period]
    for clause, value in (("bucket >= ?", since), ("bucket < ?", until), ("target = ?", target),
                          ("model = ?", model), ("site = ?", site)):
        if value is not None:
            sql += f" AND {clause}"
            params.append(value)
    with store._lock:
        return [_rollup(row) for row in store.query(sql + " ORDER BY bucket, site", params)]


@dataclass(frozen=True, slots=True)
class StoredResult:
    result: ProbeResult
    run_id: str
    site: str


def latest_results(
    store: SqlStore, target: str, model: str, *, site: str | None = None, limit: int = 50,
) -> list[StoredResult]:
    """One target x model's newest results, newest first."""
    columns = ", ".join(f"x.{c}" for c in RESULT_FIELDS)
    sql = (f"SELECT {columns}, x.run_id, r.site FROM results x JOIN runs r ON r.id = x.run_id "
           "WHERE x.target = ? AND x.model = ?")
    params: list[object] = [target, model]
    if site is not None:
        sql += " AND r.site = ?"
        params.append(site)
    sql += " ORDER BY x.started_at DESC LIMIT ?"
    params.append(int(limit))
    with store._lock:
        rows = store.query(sql, params)
    n = len(RESULT_FIELDS)
    return [StoredResult(_probe_result(row[:n]), str(row[n]), str(row[n + 1] or "")) for row in rows]


def known_keys(store: SqlStore, target: str, model: str) -> list[str]:
    """The sites that have anything (a state or totals) for target x model."""
    with store._lock:
        rows = store.query(
            "SELECT site FROM target_states WHERE target = ? AND model = ? UNION "
            "SELECT site FROM rollups WHERE period = 'all' AND target = ? AND model = ?",
            (target, model, target, model))
    return sorted(str(r[0]) for r in rows)


def run_sites(store: SqlStore, run_ids: Sequence[str]) -> dict[str, str]:
    if not run_ids:
        return {}
    with store._lock:
        rows = store.query(f"SELECT id, site FROM runs WHERE id IN ({', '.join('?' * len(run_ids))})", list(run_ids))
    return {str(i): str(s or "") for i, s in rows}
