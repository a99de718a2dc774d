"""The history store: every run remembered (SQLite by default, PostgreSQL for teams).

    store = open_store()                 # $ROLLCALL_STORE or ~/.local/share/rollcall/history.sqlite3
    runner = Runner(targets, settings=settings, sinks=[live_view, StoreSink(store, site="ci-eu")])
    execute(runner)                      # results are written as each probe finishes
    store.close()

History and diffs are computed in `rollcall.store.queries`, the same for every backend.
"""

from __future__ import annotations

from .base import Outcome, RunNotFound, RunRecord, Store, StoreError
from .location import default_location, open_store, open_store_for_run, redact_location, resolve_location
from .sink import StoreSink, default_site

__all__ = [
    "Outcome",
    "RunNotFound",
    "RunRecord",
    "Store",
    "StoreError",
    "StoreSink",
    "default_location",
    "default_site",
    "open_store",
    "open_store_for_run",
    "redact_location",
    "resolve_location",
]
