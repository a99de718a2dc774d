"""The schema as an ordered list of named steps, recorded in the database and applied on open.

Each step runs once, in order, inside the opener's transaction (SQLite and PostgreSQL both make
DDL transactional, so a step is all or nothing). A database that records a step this rollcall
does not know was written by a newer rollcall and is refused rather than guessed at.
Add a step at the end; never edit or reorder one that has shipped.
The SQL is plain enough to mean the same on both backends (DOUBLE PRECISION is REAL in SQLite).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Protocol

from .base import StoreError


class MigrationDB(Protocol):
    dialect: str  # "sqlite" or "postgresql", for a step that ever needs to differ

    def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


Migration = Callable[[MigrationDB], None]
MIGRATIONS: list[Migration] = []


def migration(step: Migration) -> Migration:
    """Append `step` to MIGRATIONS (its function name is what the database records)."""
    MIGRATIONS.append(step)
    return step


TABLE = "rollcall_migrations"


@migration
def m001_initial(db: MigrationDB) -> None:
    db.execute(
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            wall_s DOUBLE PRECISION,
            prompt TEXT NOT NULL DEFAULT '',
            site TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL DEFAULT '{}',
            complete INTEGER NOT NULL DEFAULT 0,
            version TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        """CREATE TABLE results (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            target TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            ok INTEGER NOT NULL,
            error_kind TEXT,
            error TEXT,
            status INTEGER,
            queue_s DOUBLE PRECISION NOT NULL DEFAULT 0,
            headers_s DOUBLE PRECISION,
            ttft_s DOUBLE PRECISION,
            total_s DOUBLE PRECISION,
            output_chars INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER,
            output_tokens_estimated INTEGER NOT NULL DEFAULT 0,
            tokens_per_s DOUBLE PRECISION,
            text TEXT NOT NULL DEFAULT '',
            reasoning TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        )"""
    )
    # History reads one target's results over a time window.
    db.execute("CREATE INDEX results_target_model_started ON results (target, model, started_at)")


@migration
def m002_repeats_and_run_details(db: MigrationDB) -> None:
    # The fields ProbeResult and RunResult gained after the first schema.
    db.execute("ALTER TABLE results ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE results ADD COLUMN retry_after_s DOUBLE PRECISION")
    db.execute("ALTER TABLE results ADD COLUMN max_gap_s DOUBLE PRECISION")
    db.execute("ALTER TABLE runs ADD COLUMN planned INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN loop_lag_max_s DOUBLE PRECISION")
    db.execute("ALTER TABLE runs ADD COLUMN skipped TEXT NOT NULL DEFAULT '[]'")
    # `rollcall runs` and `diff` read the newest runs; history filters by start time.
    db.execute("CREATE INDEX runs_started ON runs (started_at)")
    db.execute("CREATE INDEX results_started ON results (started_at)")



@migration
def m003_watch(db: MigrationDB) -> None:
    # rollcall watch: rounds are ordinary runs tagged with their round number; the current state
    # per (target, model, site), incidents, the alert outbox (what was raised and what was sent,
    # so a restarted watcher repeats nothing) and hourly/daily rollups that `serve` reads instead
    # of scanning results. `rolled_up` marks runs already counted in the rollups.
    db.execute("ALTER TABLE runs ADD COLUMN watch_round INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN rolled_up INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX runs_rolled_up ON runs (rolled_up, started_at)")
    db.execute(
        """CREATE TABLE target_states (
            target TEXT NOT NULL,
            model TEXT NOT NULL,
            site TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            since TEXT,
            failed_streak INTEGER NOT NULL DEFAULT 0,
            bad_streak INTEGER NOT NULL DEFAULT 0,
            good_streak INTEGER NOT NULL DEFAULT 0,
            answered_streak INTEGER NOT NULL DEFAULT 0,
            rounds INTEGER NOT NULL DEFAULT 0,
            streak_error_kind TEXT,
            streak_error TEXT,
            streak_failed INTEGER NOT NULL DEFAULT 0,
            last_at TEXT,
            last_ok INTEGER,
            last_ok_at TEXT,
            last_error_kind TEXT,
            last_error TEXT,
            last_ttft_s DOUBLE PRECISION,
            last_total_s DOUBLE PRECISION,
            last_run_id TEXT,
            incident_id TEXT,
            PRIMARY KEY (target, model, site)
        )"""
    )
    db.execute(
        """CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            model TEXT NOT NULL,
            site TEXT NOT NULL,
            state TEXT NOT NULL,
            previous_state TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            resolved_at TEXT,
            duration_s DOUBLE PRECISION,
            first_error_kind TEXT,
            first_error TEXT,
            last_error_kind TEXT,
            last_error TEXT,
            failed_rounds INTEGER NOT NULL DEFAULT 0,
            rounds INTEGER NOT NULL DEFAULT 0,
            first_run_id TEXT NOT NULL DEFAULT '',
            last_run_id TEXT NOT NULL DEFAULT '',
            last_alert_at TEXT
        )"""
    )
    db.execute("CREATE INDEX incidents_opened ON incidents (opened_at)")
    db.execute("CREATE INDEX incidents_key ON incidents (target, model, site, opened_at)")
    # At most one open incident per key, whatever two watchers of one site might do.
    db.execute("CREATE UNIQUE INDEX incidents_one_open ON incidents (target, model, site) WHERE resolved_at IS NULL")
    db.execute(
        """CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            alert_id TEXT NOT NULL,
            incident_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            event TEXT NOT NULL,
            status TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            sent_at TEXT,
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX alerts_status ON alerts (status, created_at)")
    db.execute("CREATE INDEX alerts_incident ON alerts (incident_id)")
    db.execute(
        """CREATE TABLE rollups (
            period TEXT NOT NULL,
            bucket TEXT NOT NULL,
            target TEXT NOT NULL,
            model TEXT NOT NULL,
            site TEXT NOT NULL,
            probes INTEGER NOT NULL DEFAULT 0,
            ok INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            cancelled INTEGER NOT NULL DEFAULT 0,
            errors TEXT NOT NULL DEFAULT '{}',
            ttft_hist TEXT NOT NULL DEFAULT '{}',
            total_hist TEXT NOT NULL DEFAULT '{}',
            ttft_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
            total_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
            last_at TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (period, bucket, target, model, site)
        )"""
    )
    db.execute("CREATE INDEX rollups_key ON rollups (target, model, site, period, bucket)")
    db.execute("CREATE INDEX rollups_bucket ON rollups (period, bucket)")


@migration
def m004_load_runs(db: MigrationDB) -> None:
    # `rollcall load` runs: one row per run and per stage. The stage's whole JSON object is kept
    # (the document is rebuilt from it); the columns beside it are what listings read.
    db.execute(
        """CREATE TABLE load_runs (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            wall_s DOUBLE PRECISION,
            site TEXT NOT NULL DEFAULT '',
            target TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            mode TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL DEFAULT '{}',
            complete INTEGER NOT NULL DEFAULT 0,
            interrupted TEXT,
            version TEXT NOT NULL DEFAULT '',
            knee TEXT,
            timeline TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE load_stages (
            run_id TEXT NOT NULL REFERENCES load_runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            partial INTEGER NOT NULL DEFAULT 0,
            client_bound INTEGER NOT NULL DEFAULT 0,
            requests INTEGER NOT NULL DEFAULT 0,
            ok INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            duration_s DOUBLE PRECISION,
            requests_per_s DOUBLE PRECISION,
            output_tokens_per_s DOUBLE PRECISION,
            goodput_per_s DOUBLE PRECISION,
            ttft_p50_s DOUBLE PRECISION,
            ttft_p99_s DOUBLE PRECISION,
            e2e_p50_s DOUBLE PRECISION,
            e2e_p99_s DOUBLE PRECISION,
            stage TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        )"""
    )
    db.execute("CREATE INDEX load_runs_started ON load_runs (started_at)")


@migration
def m005_serve(db: MigrationDB) -> None:
    # rollcall serve: each key's last rounds for the overview's sparkline (`recent`, kept by the
    # watcher with its state), and two more rollup periods the watcher writes with each round:
    # `5m` buckets for a target page's short ranges and `all` (one bucket per key, the totals
    # Prometheus counters and histograms are made of). Both are built here from what the store
    # already holds, so an upgraded store serves them at once.
    db.execute("ALTER TABLE target_states ADD COLUMN recent TEXT NOT NULL DEFAULT '[]'")
    db.execute("CREATE INDEX rollups_key_period ON rollups (target, model, period, bucket)")
    _rebuild_rollups(db)


_ROLLUP_FIELDS = ("probes", "ok", "failed", "cancelled", "errors", "ttft_hist", "total_hist", "ttft_sum", "total_sum",
                  "last_at")


def _rebuild_rollups(db: MigrationDB) -> None:
    """`all` from the daily rollups, `5m` from the results of the last two days already rolled up
    (later runs are rolled up with every period by the watcher)."""
    import json

    from ..models import ErrorKind, ProbeResult
    from ..watch.rollups import RETAIN_S, Rollup, rollups_for

    def hist(text: object) -> dict[int, int]:
        try:
            return {int(k): int(v) for k, v in _json_items(text)}
        except (TypeError, ValueError):
            return {}

    totals: dict[tuple[str, str, str], Rollup] = {}
    for row in db.query(f"SELECT target, model, site, {', '.join(_ROLLUP_FIELDS)} FROM rollups WHERE period = 'day'"):
        target, model, site, probes, ok, failed, cancelled, errors, ttft, total, ttft_sum, total_sum, last_at = row
        day = Rollup("all", "", str(target), str(model), str(site), int(probes or 0), int(ok or 0), int(failed or 0),
                     int(cancelled or 0), {str(k): int(v) for k, v in _json_items(errors)}, hist(ttft), hist(total),
                     float(ttft_sum or 0), float(total_sum or 0), str(last_at or ""))
        key = (day.target, day.model, day.site)
        if key in totals:
            totals[key].merge(day)
        else:
            totals[key] = day
    since = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=RETAIN_S["5m"])).isoformat()[:19]
    fine: dict[tuple[str, ...], Rollup] = {}
    rows = db.query(
        "SELECT x.target, x.model, r.site, x.ok, x.error_kind, x.ttft_s, x.total_s, x.started_at FROM results x "
        "JOIN runs r ON r.id = x.run_id WHERE r.rolled_up = 1 AND x.started_at >= ?", (since,))
    kinds = {k.value: k for k in ErrorKind}
    by_site: dict[str, list[ProbeResult]] = {}
    for target, model, site, ok, kind, ttft, total, started_at in rows:
        by_site.setdefault(str(site or ""), []).append(ProbeResult(
            target=str(target), kind="", model=str(model), ok=bool(ok), error_kind=kinds.get(str(kind)) if kind else None,
            ttft_s=ttft, total_s=total, started_at=str(started_at)))
    for site, results in by_site.items():
        for key, rollup in rollups_for(results, site).items():
            if key[0] == "5m":
                fine[key] = rollup
    columns = ("period", "bucket", "target", "model", "site", *_ROLLUP_FIELDS)
    for r in [*totals.values(), *fine.values()]:
        db.execute(
            f"INSERT INTO rollups ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            (*r.key, r.probes, r.ok, r.failed, r.cancelled, json.dumps(r.errors, sort_keys=True),
             json.dumps(r.ttft_hist), json.dumps(r.total_hist), r.ttft_sum, r.total_sum, r.last_at),
        )


def _json_items(text: object) -> list[tuple[object, object]]:
    import json

    try:
        value = json.loads(str(text or "{}"))
        return list(value.items()) if isinstance(value, dict) else []
    except ValueError:
        return []


@migration
def m006_server_timings(db: MigrationDB) -> None:
    # ProbeResult.server_timings: the server's own durations (Ollama), as a JSON object or NULL.
    db.execute("ALTER TABLE results ADD COLUMN server_timings TEXT")


def newer_database_message(location: str, unknown: Sequence[str]) -> str:
    return (
        f"the history store {location} was written by a newer rollcall (schema steps unknown here: "
        f"{', '.join(unknown)}); upgrade rollcall (pip install -U rollcall) or choose another --store"
    )


def migrate(db: MigrationDB, location: str, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the steps `db` lacks; returns their names. The caller holds the write transaction."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = [str(row[0]) for row in db.query(f"SELECT name FROM {TABLE} ORDER BY applied_at, name")]
    known = {step.__name__ for step in migrations}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise StoreError(newer_database_message(location, unknown))
    done = set(applied)
    ran = []
    for step in migrations:
        if step.__name__ in done:
            continue
        step(db)
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")
        db.execute(f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)", (step.__name__, now))
        ran.append(step.__name__)
    return ran
