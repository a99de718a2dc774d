"""Where the store lives, how its location is shown, and what opening it imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rollcall.redact import redact
from rollcall.store import (
    StoreError,
    default_location,
    open_store,
    open_store_for_run,
    redact_location,
    resolve_location,
)
from rollcall.store.migrations import MIGRATIONS, MigrationDB
from rollcall.store.sqlite import SQLiteStore


def test_default_location_follows_xdg(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_location() == tmp_path / "rollcall" / "history.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # the XDG spec says: ignore it
    assert default_location() == Path.home() / ".local" / "share" / "rollcall" / "history.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_location() == Path.home() / ".local" / "share" / "rollcall" / "history.sqlite3"


def test_explicit_location_beats_env_beats_default(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("ROLLCALL_STORE", raising=False)
    assert resolve_location(None) == str(tmp_path / "rollcall" / "history.sqlite3")
    monkeypatch.setenv("ROLLCALL_STORE", "/srv/team.sqlite3")
    assert resolve_location(None) == "/srv/team.sqlite3"
    assert resolve_location("here.sqlite3") == "here.sqlite3"


def test_opening_creates_the_data_directory(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ROLLCALL_STORE", raising=False)
    with open_store() as store:
        assert store.location == str(tmp_path / "xdg" / "rollcall" / "history.sqlite3")
    assert (tmp_path / "xdg" / "rollcall" / "history.sqlite3").is_file()


@pytest.mark.parametrize(("location", "shown"), [
    ("postgresql://rc:s3cret@db.example:5432/rollcall", "postgresql://rc:***@db.example:5432/rollcall"),
    ("postgres://rc@db/rollcall", "postgres://rc@db/rollcall"),
    ("postgresql://db/rollcall?user=rc&password=s3cret&sslmode=require",
     "postgresql://db/rollcall?user=rc&password=***&sslmode=require"),
    ("/home/me/history.sqlite3", "/home/me/history.sqlite3"),
])
def test_locations_are_shown_without_passwords(location: str, shown: str) -> None:
    assert redact_location(location) == shown


def test_a_url_password_is_scrubbed_everywhere_once_seen() -> None:
    with pytest.raises(StoreError, match="cannot connect"):  # nothing listens on port 1
        open_store("postgresql://rc:only-in-this-url-77@127.0.0.1:1/rollcall")
    assert redact("driver said: only-in-this-url-77 rejected") == "driver said: *** rejected"


def test_cli_startup_and_sqlite_stores_do_not_load_heavy_modules(tmp_path) -> None:
    code = (
        "import sys, rollcall.cli\n"
        "assert 'rollcall.store' not in sys.modules, 'the CLI imports the store at startup'\n"
        "from rollcall.store import open_store\n"
        f"open_store({str(tmp_path / 'h.sqlite3')!r}).close()\n"
        "heavy = [m for m in ('psycopg', 'rich', 'aiohttp', 'g4f') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _m999_newer(db: MigrationDB) -> None:
    db.execute("CREATE TABLE newer (id INTEGER)")


def test_run_recording_stops_only_for_a_store_the_user_chose(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("ROLLCALL_STORE", raising=False)
    default = tmp_path / "rollcall" / "history.sqlite3"
    store, warning = open_store_for_run(None)
    assert store is not None and warning is None and store.location == str(default)
    store.close()

    SQLiteStore(default, migrations=[*MIGRATIONS, _m999_newer]).close()  # a newer rollcall wrote it
    store, warning = open_store_for_run(None)
    assert store is None and warning is not None
    assert warning.startswith("this run is not recorded in the history: ") and "newer rollcall" in warning

    monkeypatch.setenv("ROLLCALL_STORE", str(default))
    with pytest.raises(StoreError, match="newer rollcall"):
        open_store_for_run(None)
    with pytest.raises(StoreError, match="newer rollcall"):
        open_store_for_run(str(default))


def test_the_store_package_exports_a_sorted_complete_list() -> None:
    import rollcall.store as package

    assert package.__all__ == sorted(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)
