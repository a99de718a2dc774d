"""The watcher's tables (migration m003_watch) on either backend: current state per key,
incidents, the alert outbox, rollups, and pruning. Same SQL for SQLite and PostgreSQL.

A round is written in one transaction: its run and results, the states and incidents it changed,
the alerts it raised (one row per channel, `pending` until delivered) and its rollups. So a
transition and its alerts are stored together or not at all, and a restarted watcher neither
repeats an alert nor forgets one it had not sent yet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..models import ProbeResult, RunResult
from ..redact import redact
from ..watch.alerts import Alert
from ..watch.incidents import Incident
from ..watch.ledger import Key, Recent, RoundChanges, Tracked
from ..watch.rollups import RETAIN_S, Rollup, rollups_for
from ..watch.state import KeyState, State
from .base import RunRecord, StoreError
from .sql import SqlStore

ERROR_CHARS = 1000

_STATE_COLUMNS = (
    "target", "model", "site", "kind", "state", "since", "failed_streak", "bad_streak", "good_streak",
    "answered_streak", "rounds", "streak_error_kind", "streak_error", "streak_failed", "last_at", "last_ok",
    "last_ok_at", "last_error_kind", "last_error", "last_ttft_s", "last_total_s", "last_run_id", "incident_id", "recent",
)
_INCIDENT_COLUMNS = (
    "id", "target", "model", "site", "state", "previous_state", "opened_at", "resolved_at", "duration_s",
    "first_error_kind", "first_error", "last_error_kind", "last_error", "failed_rounds", "rounds",
    "first_run_id", "last_run_id", "last_alert_at",
)
_ROLLUP_COLUMNS = (
    "period", "bucket", "target", "model", "site", "probes", "ok", "failed", "cancelled", "errors",
    "ttft_hist", "total_hist", "ttft_sum", "total_sum", "last_at",
)


def _text(value: str | None) -> str | None:
    # Provider text: scrubbed of secrets before it is kept, and bounded.
    return (redact(value) or "")[:ERROR_CHARS] if value else value


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert raised but not yet delivered to one channel (from a watcher that stopped)."""

    row_id: str
    channel: str
    alert: Alert


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    row_id: str
    status: str  # "sent" or "failed"
    attempts: int
    at: str
    error: str | None = None


def alert_row_id(alert: Alert, channel: str) -> str:
    return f"{alert.id}@{channel}"


# -- reading ---------------------------------------------------------------------------------

def parse_recent(text: Any) -> tuple[Recent, ...]:
    """target_states.recent (JSON) as Tracked.recent; anything unreadable is no history."""
    try:
        rows = json.loads(text or "[]")
        return tuple((str(at), int(verdict), _num(ttft), _num(total)) for at, verdict, ttft, total in rows)
    except (TypeError, ValueError):
        return ()


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _tracked(row: Sequence[Any]) -> tuple[Key, Tracked]:
    d = dict(zip(_STATE_COLUMNS, row, strict=True))
    state = KeyState(
        state=State(d["state"]), since=d["since"], failed=d["failed_streak"], bad=d["bad_streak"],
        good=d["good_streak"], answered=d["answered_streak"], rounds=d["rounds"],
        streak_error_kind=d["streak_error_kind"], streak_error=d["streak_error"], streak_failed=d["streak_failed"],
    )
    tracked = Tracked(
        state=state, kind=d["kind"] or "", last_at=d["last_at"],
        last_ok=None if d["last_ok"] is None else bool(d["last_ok"]), last_ok_at=d["last_ok_at"],
        last_error_kind=d["last_error_kind"], last_error=d["last_error"], last_ttft_s=d["last_ttft_s"],
        last_total_s=d["last_total_s"], last_run_id=d["last_run_id"], incident_id=d["incident_id"],
        recent=parse_recent(d["recent"]),
    )
    return (d["target"], d["model"], d["site"]), tracked


def _incident(row: Sequence[Any]) -> Incident:
    d = dict(zip(_INCIDENT_COLUMNS, row, strict=True))
    d.pop("duration_s")
    d["state"] = State(d["state"])
    d["previous_state"] = State(d["previous_state"])
    return Incident(**d)


def load_states(store: SqlStore, site: str | None = None) -> dict[Key, Tracked]:
    sql = f"SELECT {', '.join(_STATE_COLUMNS)} FROM target_states"
    params: tuple[object, ...] = ()
    if site is not None:
        sql += " WHERE site = ?"
        params = (site,)
    with store._lock:
        return dict(_tracked(row) for row in store.query(sql + " ORDER BY target, model, site", params))


def list_incidents(
    store: SqlStore, *, open_only: bool = False, since: str | None = None, site: str | None = None,
    limit: int | None = None, target: str | None = None, model: str | None = None,
) -> list[Incident]:
    """Newest first. `since` keeps incidents open at or after that moment (still open, or
    resolved since)."""
    sql = f"SELECT {', '.join(_INCIDENT_COLUMNS)} FROM incidents WHERE 1 = 1"
    params: list[object] = []
    if open_only:
        sql += " AND resolved_at IS NULL"
    if since is not None:
        sql += " AND (resolved_at IS NULL OR resolved_at >= ?)"
        params.append(since)
    for column, value in (("site", site), ("target", target), ("model", model)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    sql += " ORDER BY opened_at DESC, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    with store._lock:
        return [_incident(row) for row in store.query(sql, params)]


def pending_alerts(store: SqlStore, site: str) -> list[PendingAlert]:
    sql = (
        "SELECT a.id, a.channel, a.alert_id, a.payload FROM alerts a JOIN incidents i ON i.id = a.incident_id "
        "WHERE a.status = 'pending' AND i.site = ? ORDER BY a.created_at, a.id"
    )
    with store._lock:
        rows = store.query(sql, (site,))
    out = []
    for row_id, channel, alert_id, payload in rows:
        try:
            alert = Alert.from_payload(alert_id, json.loads(payload))
        except ValueError:
            continue  # written by a rollcall that spelled alerts differently: not ours to resend
        out.append(PendingAlert(row_id, channel, alert))
    return out


def _hist(text: Any) -> dict[int, int]:
    try:
        return {int(k): int(v) for k, v in json.loads(text or "{}").items()}
    except (TypeError, ValueError, AttributeError):
        return {}


def _rollup(row: Sequence[Any]) -> Rollup:
    d = dict(zip(_ROLLUP_COLUMNS, row, strict=True))
    try:
        errors = {str(k): int(v) for k, v in json.loads(d["errors"] or "{}").items()}
    except (TypeError, ValueError, AttributeError):
        errors = {}
    return Rollup(
        period=d["period"], bucket=d["bucket"], target=d["target"], model=d["model"], site=d["site"],
        probes=d["probes"], ok=d["ok"], failed=d["failed"], cancelled=d["cancelled"], errors=errors,
        ttft_hist=_hist(d["ttft_hist"]), total_hist=_hist(d["total_hist"]),
        ttft_sum=d["ttft_sum"] or 0.0, total_sum=d["total_sum"] or 0.0, last_at=d["last_at"] or "",
    )


def load_rollups(
    store: SqlStore, period: str, *, since: str | None = None, target: str | None = None, model: str | None = None,
) -> list[Rollup]:
    """Rollups of one period (hour or day), oldest first, optionally from `since` on and for one key."""
    sql = f"SELECT {', '.join(_ROLLUP_COLUMNS)} FROM rollups WHERE period = ?"
    params: list[object] = [period]
    if since is not None:
        sql += " AND bucket >= ?"
        params.append(since)
    if target is not None:
        sql += " AND target = ?"
        params.append(target)
    if model is not None:
        sql += " AND model = ?"
        params.append(model)
    with store._lock:
        return [_rollup(row) for row in store.query(sql + " ORDER BY bucket, target, model, site", params)]


# -- writing ---------------------------------------------------------------------------------

def _state_row(key: Key, t: Tracked) -> tuple[Any, ...]:
    s = t.state
    return (
        *key, t.kind, str(s.state), s.since, s.failed, s.bad, s.good, s.answered, s.rounds,
        s.streak_error_kind, _text(s.streak_error), s.streak_failed, t.last_at,
        None if t.last_ok is None else int(t.last_ok), t.last_ok_at, t.last_error_kind, _text(t.last_error),
        t.last_ttft_s, t.last_total_s, t.last_run_id, t.incident_id, json.dumps(t.recent),
    )


def _incident_row(i: Incident) -> tuple[Any, ...]:
    return (
        i.id, i.target, i.model, i.site, str(i.state), str(i.previous_state), i.opened_at, i.resolved_at,
        i.duration_s, i.first_error_kind, _text(i.first_error), i.last_error_kind, _text(i.last_error),
        i.failed_rounds, i.rounds, i.first_run_id, i.last_run_id, i.last_alert_at,
    )


def _merge_rollups(store: SqlStore, fresh: dict[tuple[str, ...], Rollup]) -> None:
    """Add `fresh` into the stored rollups (read, add, write back; inside the caller's transaction)."""
    if not fresh:
        return
    wanted = {(k[0], k[1], k[4]) for k in fresh}
    for period, bucket, site in wanted:
        rows = store.query(
            f"SELECT {', '.join(_ROLLUP_COLUMNS)} FROM rollups WHERE period = ? AND bucket = ? AND site = ?",
            (period, bucket, site),
        )
        for row in rows:
            stored = _rollup(row)
            if stored.key in fresh:
                stored.merge(fresh[stored.key])
                fresh[stored.key] = stored
    store.executemany(_upsert("rollups", _ROLLUP_COLUMNS, _ROLLUP_COLUMNS[:5]), [
        (*r.key, r.probes, r.ok, r.failed, r.cancelled, json.dumps(r.errors, sort_keys=True),
         json.dumps(r.ttft_hist), json.dumps(r.total_hist), r.ttft_sum, r.total_sum, r.last_at)
        for r in fresh.values()
    ])


def run_record(run: RunResult, site: str) -> RunRecord:
    return RunRecord(
        id=run.id, started_at=run.started_at, ended_at=run.ended_at, wall_s=run.wall_s, prompt=run.prompt,
        site=site, settings=run.settings.to_json(), complete=run.complete, version=run.version or __version__,
        planned=len(run.results), loop_lag_max_s=run.loop_lag_max_s,
        skipped=tuple({"name": s.name, "reason": redact(s.reason) or ""} for s in run.skipped),
    )


def write_round(
    store: SqlStore, changes: RoundChanges, deliveries: Sequence[tuple[str, Alert]] = (), *, store_run: bool = True,
) -> None:
    """Everything one round changed, in one transaction (see the module docstring)."""
    write_rounds(store, [(changes, deliveries)], store_run=store_run)


def write_rounds(
    store: SqlStore, rounds: Sequence[tuple[RoundChanges, Sequence[tuple[str, Alert]]]], *, store_run: bool = True,
) -> None:
    """Several rounds, oldest first, in one transaction: a writer that fell behind catches up
    with one commit (and one rollup read-modify-write) for all of them."""
    if not rounds:
        return
    tracked: dict[Key, Tracked] = {}
    incidents: dict[str, Incident] = {}
    fresh: dict[tuple[str, ...], Rollup] = {}
    alerts: list[tuple[Any, ...]] = []
    for changes, deliveries in rounds:
        tracked.update(changes.tracked)  # later rounds win
        incidents.update((i.id, i) for i in changes.incidents)
        if store_run:
            for key, rollup in rollups_for(changes.run.results, changes.site).items():
                if key in fresh:
                    fresh[key].merge(rollup)
                else:
                    fresh[key] = rollup
        alerts.extend((alert_row_id(a, channel), a.id, a.incident_id, channel, str(a.event),
                       json.dumps(a.to_payload(), sort_keys=True), a.at) for channel, a in deliveries)
    with store._lock, store._write():
        if store_run:
            for changes, _ in rounds:
                run = changes.run
                store._finish_run(run_record(run, changes.site))
                store._insert_results(run.id, list(enumerate(run.results, start=1)))
            store.executemany("UPDATE runs SET watch_round = ?, rolled_up = 1 WHERE id = ?",
                              [(changes.round_no, changes.run.id) for changes, _ in rounds])
            _merge_rollups(store, fresh)
        if tracked:
            store.executemany(_upsert("target_states", _STATE_COLUMNS, _STATE_COLUMNS[:3]),
                              [_state_row(k, t) for k, t in tracked.items()])
        if incidents:
            store.executemany(_upsert("incidents", _INCIDENT_COLUMNS, ("id",)),
                              [_incident_row(i) for i in incidents.values()])
        if alerts:
            store.executemany(
                "INSERT INTO alerts (id, alert_id, incident_id, channel, event, status, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING", alerts,
            )


def update_deliveries(store: SqlStore, updates: Sequence[DeliveryUpdate]) -> None:
    if not updates:
        return
    with store._lock, store._write():
        store.executemany(
            "UPDATE alerts SET status = ?, attempts = ?, sent_at = ?, error = ? WHERE id = ?",
            [(u.status, u.attempts, u.at if u.status == "sent" else None, _text(u.error), u.row_id) for u in updates],
        )


def roll_up_pending(store: SqlStore, *, settled_before: str, limit_runs: int = 20) -> int:
    """Count runs not yet in the rollups (recorded by `rollcall run`, or before this schema) into
    them, at most `limit_runs` per call; returns how many. A run still being written (no end
    yet, started after `settled_before`) waits for a later call."""
    with store._lock, store._write():
        rows = store.query(
            "SELECT id, site FROM runs WHERE rolled_up = 0 AND (ended_at IS NOT NULL OR started_at < ?) "
            "ORDER BY started_at LIMIT ?",
            (settled_before, int(limit_runs)),
        )
        fresh: dict[tuple[str, ...], Rollup] = {}
        for run_id, site in rows:
            results: list[ProbeResult] = store.run_results(run_id)
            for key, rollup in rollups_for(results, site or "").items():
                if key in fresh:
                    fresh[key].merge(rollup)
                else:
                    fresh[key] = rollup
        _merge_rollups(store, fresh)
        if rows:
            marks = ", ".join("?" * len(rows))
            store.execute(f"UPDATE runs SET rolled_up = 1 WHERE id IN ({marks})", [r[0] for r in rows])
    return len(rows)


def prune(
    store: SqlStore, *, before: str, hourly_before: str | None = None, fine_before: str | None = None,
    limit_runs: int = 50,
) -> int:
    """Delete up to `limit_runs` of the runs started before `before`, with their results, the
    hourly rollups older than `hourly_before` and the 5-minute ones older than `fine_before`
    (daily and total rollups stay). Runs not yet rolled up are left for roll_up_pending.
    Returns the number of runs deleted."""
    with store._lock, store._write():
        ids = [r[0] for r in store.query(
            "SELECT id FROM runs WHERE started_at < ? AND rolled_up = 1 ORDER BY started_at LIMIT ?",
            (before, int(limit_runs)),
        )]
        if ids:
            marks = ", ".join("?" * len(ids))
            store.execute(f"DELETE FROM results WHERE run_id IN ({marks})", ids)
            store.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
        if hourly_before is not None:
            store.execute("DELETE FROM rollups WHERE period = 'hour' AND bucket < ?", (hourly_before,))
        if fine_before is not None:
            store.execute("DELETE FROM rollups WHERE period = '5m' AND bucket < ?", (fine_before,))
    return len(ids)


def require_schema(store: Any) -> SqlStore:
    """The store as a SqlStore with the watch tables, or StoreError saying why not."""
    if not isinstance(store, SqlStore):
        raise StoreError(f"the history store {getattr(store, 'location', store)!r} cannot hold watch state")
    return store
