"""The team store: one PostgreSQL database that runs from several machines or regions write into.

Uses psycopg 3, an optional extra (`pip install 'rollcall[postgres]'`). Tables live in the
connection's search_path; give `?options=-csearch_path%3Dname` in the URL to keep them in a schema
of their own. Nothing here prints the URL itself: `location` has the password masked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..redact import redact
from .base import StoreError
from .migrations import MIGRATIONS, Migration
from .sql import SqlStore

CONNECT_TIMEOUT_S = 10
INSTALL_HINT = "PostgreSQL support is not installed: pip install 'rollcall[postgres]'"
# pg_advisory_xact_lock key shared by every rollcall opening a database: makes the first
# openers of an empty database migrate one after another instead of racing on CREATE TABLE.
_MIGRATION_LOCK = 0x726F6C6C  # "roll"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(INSTALL_HINT) from None
    return psycopg


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(self, url: str, *, location: str, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        psycopg = _psycopg()
        super().__init__(location)
        self._errors = psycopg.Error
        self._away = (psycopg.OperationalError, psycopg.InterfaceError)
        try:
            # autocommit: transactions are explicit (_write), so reads never hold one open.
            self._conn = psycopg.connect(
                url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="rollcall"
            )
        except psycopg.Error as exc:
            error = StoreError(f"cannot connect to the history store {location}: {_first_line(exc)}")
            error.transient = isinstance(exc, psycopg.OperationalError)
            raise error from None
        try:
            self._migrate(migrations)
        except BaseException:
            self._conn.close()
            raise

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        try:
            self._conn.execute(self._sql(sql), params)
        except self._errors as exc:
            raise self._wrap(exc) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        except self._errors as exc:
            raise self._wrap(exc) from None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(self._sql(sql), params).fetchall()
        except self._errors as exc:
            raise self._wrap(exc) from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        try:
            with self._conn.transaction():
                yield
        except self._errors as exc:
            raise self._wrap(exc) from None

    def _before_migrate(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def _transient(self, exc: Exception) -> bool:
        # The server restarted, the connection dropped or closed: a new connection may work.
        return isinstance(exc, self._away) or self._conn.closed

    def _close(self) -> None:
        self._conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__) or ""
