"""The Store methods as SQL both backends share; a backend supplies connection, transactions and
its parameter style.

Queries are written with `?` placeholders; the PostgreSQL backend rewrites them to `%s`, so no
SQL text here may contain a literal `?` or `%`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..models import ProbeResult
from ..redact import redact
from .base import RESULT_FIELDS, STORED_TEXT_CHARS, Outcome, RunNotFound, RunRecord, StoreError
from .load_runs import LoadRunsMixin
from .migrations import MIGRATIONS, TABLE, Migration, migrate

RUN_COLUMNS = (
    "id", "started_at", "ended_at", "wall_s", "prompt", "site", "settings", "complete", "version",
    "planned", "loop_lag_max_s", "skipped",
)
_RUN_REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _json_loads(text: Any, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except (TypeError, ValueError):
        return default


def _settings_json(settings: dict[str, Any]) -> str:
    # Settings come from the command line and config; a key pasted into one must not be kept.
    return redact(json.dumps(settings, sort_keys=True, default=str)) or "{}"


def _result_row(run_id: str, seq: int, r: ProbeResult) -> tuple[Any, ...]:
    values = []
    for name in RESULT_FIELDS:
        value = getattr(r, name)
        if name in ("error", "text", "reasoning"):
            # Already redacted by the probe; scrubbing again costs little and covers results
            # built elsewhere (imported JSON, other programs using the sink). Scrub before
            # cutting, so a secret straddling the cut cannot leave a prefix behind.
            value = (redact(value) or "")[:STORED_TEXT_CHARS] if value else value
        elif name == "error_kind":
            value = str(value) if value else None
        elif name in ("ok", "output_tokens_estimated"):
            value = int(bool(value))
        values.append(value)
    return (run_id, seq, *values)


def _probe_result(row: Sequence[Any]) -> ProbeResult:
    data = dict(zip(RESULT_FIELDS, row, strict=True))
    data["ok"] = bool(data["ok"])
    data["output_tokens_estimated"] = bool(data["output_tokens_estimated"])
    try:
        return ProbeResult.from_dict(data)
    except ValueError as exc:
        raise StoreError(f"a stored result cannot be read by this rollcall: {exc}") from None


class SqlStore(LoadRunsMixin):
    """Shared implementation; a backend implements the hooks (execute, executemany, query,
    _write, _close) and may add _before_migrate."""

    dialect = ""

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.RLock()

    # -- backend hooks -------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[None]:
        """A write transaction that serializes with other writers (other processes too)."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _wrap(self, exc: Exception) -> StoreError:
        """A driver error as one safe line, marked transient when trying again later may work."""
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        error = StoreError(f"history store {self.location}: {redact(first)}")
        error.transient = self._transient(exc)
        return error

    def _transient(self, exc: Exception) -> bool:
        """Whether `exc` says the store is away (locked, disconnected, full), not that the data is bad."""
        return False

    def _before_migrate(self) -> None:
        """Inside the migration transaction: make concurrent openers of a new database queue."""

    # -- lifecycle -------------------------------------------------------------------------
    def _migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
        with self._lock, self._write():
            self._before_migrate()
            return migrate(self, self.location, migrations)

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self.query(f"SELECT name FROM {TABLE} ORDER BY applied_at, name")]

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def _insert_run(self, run: RunRecord) -> None:
        self.execute(
            f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING",
            (
                run.id, run.started_at, run.ended_at, run.wall_s, redact(run.prompt) or "", run.site,
                _settings_json(run.settings), int(run.complete), run.version,
                run.planned, run.loop_lag_max_s, json.dumps(list(run.skipped), default=str),
            ),
        )

    def start_run(self, run: RunRecord) -> None:
        with self._lock, self._write():
            self._insert_run(run)

    def add_results(self, run_id: str, results: Sequence[tuple[int, ProbeResult]]) -> None:
        if not results:
            return
        with self._lock, self._write():
            self._insert_results(run_id, results)

    def _insert_results(self, run_id: str, results: Sequence[tuple[int, ProbeResult]]) -> None:
        columns = ("run_id", "seq", *RESULT_FIELDS)
        sql = (
            f"INSERT INTO results ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            "ON CONFLICT (run_id, seq) DO NOTHING"
        )
        self.executemany(sql, [_result_row(run_id, seq, r) for seq, r in results])

    def finish_run(self, run: RunRecord) -> None:
        with self._lock, self._write():
            self._finish_run(run)

    def _finish_run(self, run: RunRecord) -> None:
        """finish_run inside a transaction the caller holds (the watcher writes a round whole)."""
        self._insert_run(run)  # in case the start was never recorded
        self.execute(
            "UPDATE runs SET started_at = ?, ended_at = ?, wall_s = ?, prompt = ?, settings = ?, "
            "complete = ?, version = ?, planned = COALESCE(?, planned), loop_lag_max_s = ?, "
            "skipped = ? WHERE id = ?",
            (
                run.started_at, run.ended_at, run.wall_s, redact(run.prompt) or "",
                _settings_json(run.settings), int(run.complete),
                run.version, run.planned, run.loop_lag_max_s,
                json.dumps(list(run.skipped), default=str), run.id,
            ),
        )

    # -- reading ---------------------------------------------------------------------------
    _COUNTS = (
        "(SELECT COUNT(*) FROM results x WHERE x.run_id = r.id AND x.ok = 1), "
        "(SELECT COUNT(*) FROM results x WHERE x.run_id = r.id AND x.ok = 0), "
        "(SELECT COUNT(DISTINCT x.target) FROM results x WHERE x.run_id = r.id)"
    )

    @staticmethod
    def _run_record(row: Sequence[Any]) -> RunRecord:
        data = dict(zip(RUN_COLUMNS, row[: len(RUN_COLUMNS)], strict=True))
        ok, failed, targets = (int(v or 0) for v in row[len(RUN_COLUMNS):])
        return RunRecord(
            id=data["id"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            wall_s=data["wall_s"],
            prompt=data["prompt"] or "",
            site=data["site"] or "",
            settings=_json_loads(data["settings"], {}),
            complete=bool(data["complete"]),
            version=data["version"] or "",
            planned=data["planned"],
            loop_lag_max_s=data["loop_lag_max_s"],
            skipped=tuple(_json_loads(data["skipped"], [])),
            ok=ok,
            failed=failed,
            targets=targets,
        )

    def list_runs(self, limit: int | None = None, *, complete_only: bool = False) -> list[RunRecord]:
        sql = f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, {self._COUNTS} FROM runs r"
        if complete_only:
            sql += " WHERE r.complete = 1"
        sql += " ORDER BY r.started_at DESC, r.id DESC"
        params: tuple[object, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        with self._lock:
            return [self._run_record(row) for row in self.query(sql, params)]

    def get_run(self, ref: str) -> RunRecord:
        ref = ref.strip()
        if not _RUN_REF.match(ref):
            raise RunNotFound(f"{ref!r} is not a run id (ids look like 3f2a9c1b7d4e; see `rollcall runs`)")
        head = f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)}, {self._COUNTS} FROM runs r"
        with self._lock:
            rows = self.query(head + " WHERE r.id = ?", (ref,))
            if not rows:
                rows = self.query(
                    head + " WHERE substr(r.id, 1, ?) = ? ORDER BY r.started_at DESC LIMIT 6", (len(ref), ref)
                )
        if not rows:
            raise RunNotFound(f"no run with id {ref!r} in {self.location} (see `rollcall runs`)")
        if len(rows) > 1:
            ids = ", ".join(str(r[0]) for r in rows[:5])
            raise RunNotFound(f"run id prefix {ref!r} is ambiguous: it matches {ids}{' …' if len(rows) > 5 else ''}")
        return self._run_record(rows[0])

    def run_results(self, run_id: str) -> list[ProbeResult]:
        sql = f"SELECT {', '.join(RESULT_FIELDS)} FROM results WHERE run_id = ? ORDER BY seq"
        with self._lock:
            return [_probe_result(row) for row in self.query(sql, (run_id,))]

    def outcomes(
        self, *, since: str | None = None, targets: Sequence[str] = (), site: str | None = None
    ) -> list[Outcome]:
        sql = (
            "SELECT x.target, x.model, r.site, x.run_id, x.started_at, x.ok, x.error_kind, x.ttft_s, x.total_s "
            "FROM results x JOIN runs r ON r.id = x.run_id WHERE 1 = 1"
        )
        params: list[object] = []
        if since:
            sql += " AND x.started_at >= ?"
            params.append(since)
        if targets:
            sql += f" AND lower(x.target) IN ({', '.join('?' * len(targets))})"
            params.extend(t.lower() for t in targets)
        if site is not None:
            sql += " AND r.site = ?"
            params.append(site)
        sql += " ORDER BY x.started_at, x.run_id, x.seq"
        with self._lock:
            rows = self.query(sql, params)
        return [
            Outcome(target=t, model=m, site=s or "", run_id=rid, started_at=at, ok=bool(ok),
                    error_kind=kind, ttft_s=ttft, total_s=total)
            for t, m, s, rid, at, ok, kind, ttft, total in rows
        ]

    def target_names(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self.query("SELECT DISTINCT target FROM results ORDER BY target")]

