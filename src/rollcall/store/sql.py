"""The Store methods as SQL both backends share; a backend supplies connection, transactions and
its parameter style.

Queries are written with `?` placeholders; the PostgreSQL backend rewrites them to `%s`, so no
SQL text here may contain a literal `?` or `%`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..models import ProbeResult, ServerTimings
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
    try:
        text = json.dumps(settings, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):  # keys of mixed types, cycles, deep nesting
        text = json.dumps({"unreadable_settings": True})
    return storable_text(redact(text) or "{}")


def _run_row(run: RunRecord) -> dict[str, Any]:
    """A run's column values, each made storable (see _result_row)."""
    return {
        "id": run.id, "started_at": storable_text(run.started_at),
        "ended_at": storable_text(run.ended_at) if run.ended_at is not None else None,
        "wall_s": storable_float(run.wall_s), "prompt": storable_text(redact(run.prompt) or ""),
        "site": storable_text(run.site), "settings": _settings_json(run.settings), "complete": int(run.complete),
        "version": storable_text(run.version), "planned": storable_int(run.planned),
        "loop_lag_max_s": storable_float(run.loop_lag_max_s),
        "skipped": storable_text(json.dumps(list(run.skipped), default=str)),
    }


# What every backend can hold. A value outside it would fail the whole INSERT (and with it
# every result batched beside it), so each is made storable here: numbers out of range become
# NULL (or are clamped where the column is NOT NULL), text loses what no database text type
# accepts (NUL, lone surrogates). JSON reports keep the exact values.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL INTEGER; SQLite would take 64 bits
_INT_FIELDS = {"status": None, "output_chars": 0, "output_tokens": None, "attempt": 1}  # name: NOT NULL default
_FLOAT_FIELDS = {"queue_s": 0.0, "headers_s": None, "ttft_s": None, "total_s": None, "tokens_per_s": None,
                 "retry_after_s": None, "max_gap_s": None}
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: Any) -> str:
    """Text any backend stores: NUL and lone surrogates replaced by U+FFFD."""
    text = value if isinstance(value, str) else "" if value is None else repr(value)
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def storable_int(value: Any, default: int | None = None) -> int | None:
    """An INTEGER column's value: in range as given, clamped when a default says NOT NULL, else NULL."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    if _INT_MIN <= value <= _INT_MAX:
        return value
    return None if default is None else max(_INT_MIN, min(_INT_MAX, value))


def storable_float(value: Any, default: float | None = None) -> float | None:
    """A DOUBLE PRECISION column's value: finite, else NULL (or `default` where NOT NULL)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        number = float(value)
    except OverflowError:
        return default
    return number if math.isfinite(number) else default


def _result_row(run_id: str, seq: int, r: ProbeResult) -> tuple[Any, ...]:
    values = []
    for name in RESULT_FIELDS:
        value = getattr(r, name)
        if name in _INT_FIELDS:
            value = storable_int(value, _INT_FIELDS[name])
        elif name in _FLOAT_FIELDS:
            value = storable_float(value, _FLOAT_FIELDS[name])
        elif name in ("ok", "output_tokens_estimated"):
            value = int(bool(value))
        elif name == "error_kind":
            value = storable_text(str(value)) if value else None
        elif name == "server_timings":
            value = _timings_json(value)
        elif name in ("error", "text", "reasoning"):
            # Already redacted by the probe; scrubbing again costs little and covers results
            # built elsewhere (imported JSON, other programs using the sink). Scrub before
            # cutting, so a secret straddling the cut cannot leave a prefix behind.
            value = storable_text((redact(value) or "")[:STORED_TEXT_CHARS]) if value else value
        else:
            value = storable_text(value)
        values.append(value)
    return (run_id, seq, *values)


def _timings_json(timings: ServerTimings | None) -> str | None:
    """The server's timings as a JSON object of finite numbers (None stays NULL)."""
    if not isinstance(timings, ServerTimings):
        return None
    values = {k: storable_float(v) if k.endswith("_s") else storable_int(v)
              for k, v in dataclasses.asdict(timings).items()}
    return json.dumps({k: v for k, v in values.items() if v is not None})


def _probe_result(row: Sequence[Any]) -> ProbeResult:
    data = dict(zip(RESULT_FIELDS, row, strict=True))
    timings = data.pop("server_timings")
    if timings:
        try:
            data["server_timings"] = json.loads(timings)
        except ValueError:
            pass  # unreadable: the result stands without them
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
        row = _run_row(run)
        self.execute(
            f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING",
            tuple(row[c] for c in RUN_COLUMNS),
        )

    def start_run(self, run: RunRecord) -> None:
        with self._lock, self._write():
            self._insert_run(run)

    _RESULTS_SQL = (
        f"INSERT INTO results ({', '.join(('run_id', 'seq', *RESULT_FIELDS))}) "
        f"VALUES ({', '.join('?' * (2 + len(RESULT_FIELDS)))}) ON CONFLICT (run_id, seq) DO NOTHING"
    )

    def add_results(self, run_id: str, results: Sequence[tuple[int, ProbeResult]]) -> None:
        """Store results in one transaction; should it be refused, row by row, so one row the
        database will not take loses only itself (StoreError naming it, after the rest)."""
        if not results:
            return
        rows: list[tuple[Any, ...]] = []
        problems: list[str] = []
        for seq, r in results:
            try:
                rows.append(_result_row(run_id, seq, r))
            except Exception as exc:  # noqa: BLE001 - one unreadable result must not lose the others
                problems.append(f"result {seq} ({type(exc).__name__})")
        try:
            with self._lock, self._write():
                self.executemany(self._RESULTS_SQL, rows)
        except Exception:  # noqa: BLE001 - find the row at fault; store every other one
            for row in rows:
                try:
                    with self._lock, self._write():
                        self.execute(self._RESULTS_SQL, row)
                except Exception as exc:  # noqa: BLE001
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    problems.append(f"result {row[1]} ({redact(first)})")
        if problems:
            raise StoreError(f"{len(problems)} result(s) could not be stored: {'; '.join(problems[:3])}")

    def _insert_results(self, run_id: str, results: Sequence[tuple[int, ProbeResult]]) -> None:
        """add_results inside a transaction the caller holds (the watcher writes a round whole
        and retries a refused round itself)."""
        self.executemany(self._RESULTS_SQL, [_result_row(run_id, seq, r) for seq, r in results])

    def finish_run(self, run: RunRecord) -> None:
        with self._lock, self._write():
            self._finish_run(run)

    def _finish_run(self, run: RunRecord) -> None:
        """finish_run inside a transaction the caller holds (the watcher writes a round whole)."""
        self._insert_run(run)  # in case the start was never recorded
        row = _run_row(run)
        self.execute(
            "UPDATE runs SET started_at = ?, ended_at = ?, wall_s = ?, prompt = ?, settings = ?, "
            "complete = ?, version = ?, planned = COALESCE(?, planned), loop_lag_max_s = ?, "
            "skipped = ? WHERE id = ?",
            tuple(row[c] for c in ("started_at", "ended_at", "wall_s", "prompt", "settings", "complete",
                                   "version", "planned", "loop_lag_max_s", "skipped", "id")),
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

