"""Serve fixtures: a store location per backend (SQLite, and PostgreSQL when
ROLLCALL_TEST_POSTGRES names a server, as in tests/store)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

PG_ENV = "ROLLCALL_TEST_POSTGRES"


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "history.sqlite3")
        return
    from services import require_or_skip
    from store.conftest import _pg_schema

    url = os.environ.get(PG_ENV, "").strip()
    require_or_skip(bool(url), f"PostgreSQL backend: set {PG_ENV}=postgresql://user:pass@127.0.0.1:5432/db to run it")
    yield from _pg_schema(url)


@pytest.fixture
def sqlite_location(tmp_path) -> str:
    return str(tmp_path / "history.sqlite3")
