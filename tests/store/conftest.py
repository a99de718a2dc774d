"""Store fixtures: every backend test runs against SQLite, and against PostgreSQL when
ROLLCALL_TEST_POSTGRES names a server (CI: .ci/run starts one; locally the PG half skips).

Each test gets its own SQLite file and its own PostgreSQL schema, so tests run in any order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from services import require_or_skip

from rollcall.store import open_store

PG_ENV = "ROLLCALL_TEST_POSTGRES"


def with_search_path(url: str, schema: str) -> str:
    """The URL with libpq options that put every table in `schema`."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def _pg_schema(url: str) -> Iterator[str]:
    import psycopg

    schema = f"rc_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        require_or_skip(False, f"PostgreSQL at {PG_ENV} is not reachable: {str(exc).splitlines()[0]}")
    try:
        yield with_search_path(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh, empty store location for each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "history.sqlite3")
        return
    url = os.environ.get(PG_ENV, "").strip()
    require_or_skip(bool(url), f"PostgreSQL backend: set {PG_ENV}=postgresql://user:pass@127.0.0.1:5432/db to run it")
    yield from _pg_schema(url)


@pytest.fixture
def store(store_location: str):
    with open_store(store_location) as opened:
        yield opened
