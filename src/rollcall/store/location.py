"""Where the history lives: the default path, `--store`/ROLLCALL_STORE, and opening the right backend.

A location is a file path (SQLite) or a postgresql:// URL. URLs can carry a password, so the
location is only ever shown through `redact_location`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..redact import display_url, register_url_secrets
from .base import Store, StoreError

ENV_VAR = "ROLLCALL_STORE"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PG_SCHEMES = ("postgresql", "postgres")


def default_location() -> Path:
    """$XDG_DATA_HOME/rollcall/history.sqlite3, else ~/.local/share/rollcall/history.sqlite3."""
    base = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "rollcall" / "history.sqlite3"


def resolve_location(location: str | None = None) -> str:
    """The explicit location, else $ROLLCALL_STORE, else the default path."""
    return (location or "").strip() or os.environ.get(ENV_VAR, "").strip() or str(default_location())


def is_explicit(location: str | None = None) -> bool:
    """Whether the user chose the location (as opposed to the default path)."""
    return bool((location or "").strip() or os.environ.get(ENV_VAR, "").strip())


def redact_location(location: str) -> str:
    """The location as it may be printed (a URL through redact.display_url: no password)."""
    return display_url(location) if _URL.match(location) else location


def open_store(location: str | None = None, *, create: bool = True) -> Store:
    """Open (creating and migrating as needed) the store at `location`.

    None means $ROLLCALL_STORE or the default path. `create=False` refuses to create a missing
    SQLite file (read-only commands use it). Raises StoreError with a one-line, password-free message.
    """
    where = resolve_location(location)
    match = _URL.match(where)
    if match:
        scheme = match.group(1).lower()
        if scheme not in _PG_SCHEMES:
            raise StoreError(
                f"unsupported store URL scheme {scheme!r} in {redact_location(where)}: "
                "give a file path (SQLite) or a postgresql:// URL"
            )
        register_url_secrets(where)
        from .postgres import PostgresStore

        return PostgresStore(where, location=redact_location(where))
    from .sqlite import SQLiteStore

    return SQLiteStore(where, create=create)


def open_store_for_run(location: str | None = None) -> tuple[Store | None, str | None]:
    """The store `rollcall run` records into: (store, None), or (None, warning) to run unrecorded.

    A location the user chose (--store, $ROLLCALL_STORE) that cannot be opened raises StoreError:
    they asked for it, so the run should stop before probing (exit 2). The default location
    failing (read-only home, a newer rollcall's database) must not stop anyone from probing, so
    that becomes a one-line warning instead.
    """
    try:
        return open_store(location), None
    except StoreError as exc:
        if is_explicit(location):
            raise
        return None, f"this run is not recorded in the history: {exc}"
