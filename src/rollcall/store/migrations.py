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
