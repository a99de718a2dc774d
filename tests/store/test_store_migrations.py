"""Schema steps: applied on open from empty or from an older schema; a newer database refused."""

from __future__ import annotations

import pytest

from rollcall.models import ErrorKind
from rollcall.store import StoreError, open_store
from rollcall.store.migrations import MIGRATIONS, MigrationDB, m001_initial
from rollcall.store.postgres import PostgresStore
from rollcall.store.sqlite import SQLiteStore

ALL = [step.__name__ for step in MIGRATIONS]


def open_with(location: str, migrations) -> SQLiteStore | PostgresStore:
    """The backend for `location`, migrated with only `migrations` (an older or newer rollcall)."""
    if "://" in location:
        return PostgresStore(location, location="pg", migrations=migrations)
    return SQLiteStore(location, migrations=migrations)


def test_an_empty_database_gets_every_step_in_order(store_location: str) -> None:
    with open_store(store_location) as store:
        assert store.applied_migrations() == ALL
    with open_store(store_location) as store:  # opening again applies nothing twice
        assert store.applied_migrations() == ALL


def test_a_previous_version_database_is_upgraded_and_keeps_its_data(store_location: str) -> None:
    with open_with(store_location, [m001_initial]) as old:
        assert old.applied_migrations() == ["m001_initial"]
        # What the first schema could hold, written the way that version wrote it.
        with old._write():
            old.execute("INSERT INTO runs (id, started_at, prompt, site, settings, complete, version) "
                        "VALUES ('old000000001', '2024-01-01T00:00:00.000Z', 'hi', 'lab', '{}', 1, '0.0.1')")
            old.execute("INSERT INTO results (run_id, seq, target, kind, model, ok, error_kind, error, "
                        "started_at) VALUES ('old000000001', 1, 'Alpha', 'g4f', '', 0, 'timeout', 'slow', "
                        "'2024-01-01T00:00:00.000Z')")
        with pytest.raises(StoreError):  # the old schema lacks the newer columns
            old.run_results("old000000001")

    with open_store(store_location) as store:
        assert store.applied_migrations() == ALL
        (result,) = store.run_results("old000000001")
        assert result.target == "Alpha" and result.error_kind is ErrorKind.TIMEOUT
        assert result.attempt == 1 and result.retry_after_s is None and result.max_gap_s is None
        run = store.get_run("old000000001")
        assert run.complete and run.version == "0.0.1" and run.skipped == () and run.planned is None


def _m999_from_the_future(db: MigrationDB) -> None:
    db.execute("CREATE TABLE future_things (id INTEGER)")


def test_a_database_from_a_newer_rollcall_is_refused_untouched(store_location: str) -> None:
    with open_with(store_location, [*MIGRATIONS, _m999_from_the_future]) as newer:
        assert newer.applied_migrations() == [*ALL, "_m999_from_the_future"]
    with pytest.raises(StoreError) as refused:
        open_store(store_location)
    message = str(refused.value)
    assert "newer rollcall" in message and "_m999_from_the_future" in message and "upgrade rollcall" in message
    assert "\n" not in message
    with open_with(store_location, [*MIGRATIONS, _m999_from_the_future]) as newer:
        assert newer.applied_migrations() == [*ALL, "_m999_from_the_future"]


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(StoreError, match="not a usable rollcall history store"):
        open_store(str(junk))
    assert junk.read_text().startswith("these are not")


def test_a_directory_is_refused_with_a_suggestion(tmp_path) -> None:
    with pytest.raises(StoreError, match=r"is a directory; give a file path such as .*history\.sqlite3"):
        open_store(str(tmp_path))


def test_a_failed_step_leaves_the_database_as_it_was(store_location: str) -> None:
    def m003_broken(db: MigrationDB) -> None:
        db.execute("CREATE TABLE half_done (id INTEGER)")
        db.execute("THIS IS NOT SQL")

    with pytest.raises(StoreError):
        open_with(store_location, [*MIGRATIONS, m003_broken])
    with open_store(store_location) as store:
        # The whole first opening rolled back, so a later opening starts from nothing.
        assert store.applied_migrations() == ALL
        assert store.query("SELECT COUNT(*) FROM runs") == [(0,)]
    with open_store(store_location) as store:
        with pytest.raises(StoreError):
            store.query("SELECT * FROM half_done")
