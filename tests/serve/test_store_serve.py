"""What serve needs from the store: m005_serve builds the totals and 5-minute rollups from what an
older store holds; the watcher then keeps them (and each key's recent rounds) with every round;
the snapshot reads windows from rollups (never the results table)."""

from __future__ import annotations

import datetime as _dt
import json

from serve_helpers import OK, record, stamp

from rollcall.serve.snapshot import build
from rollcall.store import open_store, servedb, watchdb
from rollcall.store.migrations import MIGRATIONS
from rollcall.store.postgres import PostgresStore
from rollcall.store.sqlite import SQLiteStore


def _old(location: str):
    names = [m.__name__ for m in MIGRATIONS]
    older = MIGRATIONS[: names.index("m005_serve")]  # what rollcall had before serve
    if "://" in location:
        return PostgresStore(location, location="pg", migrations=older)
    return SQLiteStore(location, migrations=older)


def test_m005_builds_totals_and_fine_rollups_from_an_older_store(location: str) -> None:
    now = _dt.datetime.now(_dt.timezone.utc)
    recent = stamp(now - _dt.timedelta(minutes=10))
    with _old(location) as old, old._write():
        old.execute("INSERT INTO runs (id, started_at, site, complete, rolled_up) VALUES ('r1', ?, 'lab', 1, 1)",
                    (recent,))
        old.execute("INSERT INTO results (run_id, seq, target, model, ok, ttft_s, total_s, started_at) "
                    "VALUES ('r1', 1, 'a', 'm', 1, 0.2, 0.4, ?)", (recent,))
        for day, ok, failed in (("2024-01-01T00:00:00Z", 3, 1), ("2024-01-02T00:00:00Z", 5, 0)):
            old.execute(
                "INSERT INTO rollups (period, bucket, target, model, site, probes, ok, failed, errors, ttft_hist, "
                "total_hist, ttft_sum, last_at) VALUES ('day', ?, 'a', 'm', 'lab', ?, ?, ?, ?, '{\"40\": 2}', '{}', "
                "1.0, ?)", (day, ok + failed, ok, failed, json.dumps({"timeout": failed}) if failed else "{}", day))
    with open_store(location) as store:
        (total,) = servedb.rollups(store, "all")
        assert (total.probes, total.ok, total.failed, total.errors) == (9, 8, 1, {"timeout": 1})
        assert total.ttft_hist == {40: 4} and total.ttft_sum == 2.0
        (fine,) = servedb.rollups(store, "5m")
        assert (fine.target, fine.ok, fine.bucket) == ("a", 1, recent[:14] + f"{int(recent[14:16]) // 5 * 5:02d}:00Z")
        states = watchdb.load_states(store)
        assert states == {}  # no watcher yet; `recent` starts empty for old keys


def test_rounds_keep_totals_fine_rollups_and_recent_rounds(location: str) -> None:
    fail = ("timeout", "no first token")
    record(location, "lab", [{("a", "m"): OK}, {("a", "m"): fail}, {("a", "m"): OK}], every_s=1.0)
    with open_store(location) as store:
        (total,) = servedb.rollups(store, "all")
        assert (total.probes, total.ok, total.failed) == (3, 2, 1)
        assert sum(r.probes for r in servedb.rollups(store, "5m")) == 3
        ((_key, tracked),) = watchdb.load_states(store).items()
        assert [v for _at, v, _t, _tt in tracked.recent] == [0, 2, 0]
        snap = build(store, version=7)
    (row,) = snap.rows
    assert snap.version == 7 and row.windows["24h"].uptime == 2 / 3 and row.windows["30d"].probes == 3
    assert row.totals is not None and row.totals.ok == 2 and row.recent == tracked.recent


def test_change_stamp_moves_with_each_round(sqlite_location: str) -> None:
    record(sqlite_location, "lab", [{("a", "m"): OK}])
    with open_store(sqlite_location) as store:
        before = servedb.change_stamp(store)
        assert servedb.change_stamp(store) == before
    record(sqlite_location, "lab", [{("a", "m"): OK}])
    with open_store(sqlite_location) as store:
        assert servedb.change_stamp(store) != before
