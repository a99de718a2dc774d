"""The default store: one SQLite file (stdlib sqlite3), safe for several rollcall processes at once.

WAL mode lets readers work while a run writes; every write is a `BEGIN IMMEDIATE` transaction,
so concurrent writers queue on the busy timeout instead of failing with "database is locked"
when a read transaction would otherwise need upgrading. synchronous=NORMAL keeps every committed
result through a crash or SIGKILL of the process (only an OS crash may lose the last commits).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import StoreError
from .migrations import MIGRATIONS, Migration
from .sql import SqlStore

BUSY_TIMEOUT_S = 30.0


class SQLiteStore(SqlStore):
    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        path = Path(path).expanduser()
        super().__init__(str(path))
        if path.is_dir():
            raise StoreError(f"history store {path} is a directory; give a file path such as {path / 'history.sqlite3'}")
        if not path.exists():
            if not create:
                raise StoreError(f"no history store at {path} yet (`rollcall run` records one)")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the history store directory {path.parent}: {exc.strerror or exc}") from None
        try:
            # check_same_thread=False: the sink's writer thread and the opener share this
            # connection; SqlStore's lock keeps them from using it at the same moment.
            self._conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the history store {path}: {exc}") from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate(migrations)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreError(f"{path} is not a usable rollcall history store: {exc}") from None
        except BaseException:
            self._conn.close()
            raise

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        try:
            self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._wrap(exc) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._wrap(exc) from None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._wrap(exc) from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._wrap(exc) from None
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._wrap(exc) from None

    def _transient(self, exc: Exception) -> bool:
        # Locked, busy, disk full, I/O error, cannot open: all OperationalError in sqlite3.
        return isinstance(exc, sqlite3.OperationalError)

    def _close(self) -> None:
        self._conn.close()
