"""The watcher's tables on every backend: states, incidents, the alert outbox, rollups, pruning."""

from __future__ import annotations

import itertools

from rollcall.models import ErrorKind, ProbeResult, RunInfo, RunResult
from rollcall.store import open_store
from rollcall.store import watchdb
from rollcall.watch.incidents import EventKind
from rollcall.watch.ledger import Ledger
from rollcall.watch.rollups import percentile
from rollcall.watch.state import State, Thresholds

_ids = itertools.count(1)


def _run(at: str, outcomes: dict[str, bool | ErrorKind], run_id: str | None = None) -> RunResult:
    results = []
    for target, outcome in outcomes.items():
        ok = outcome is True
        kind = None if ok else (outcome if isinstance(outcome, ErrorKind) else ErrorKind.CONNECT)
        results.append(ProbeResult(
            target=target, kind="openai", model="m", ok=ok, error_kind=kind,
            error=None if ok else f"{kind}: it broke, key sk-abcdefghijklmnop", ttft_s=0.2 if ok else None,
            total_s=0.5 if ok else 1.0, started_at=at,
        ))
    return RunResult(id=run_id or f"run{next(_ids):04d}", started_at=at, ended_at=at, wall_s=1.0, prompt="hi",
                     results=tuple(results), settings={"watch": True})


def _stamp(minute: int) -> str:
    return f"2024-05-01T{10 + minute // 60:02d}:{minute % 60:02d}:00.000Z"


def test_rounds_incidents_and_alerts_survive_reopening(store_location):
    ledger = Ledger("eu", thresholds=Thresholds(2, 2), remind_s=0)
    plan = [
        {"a": True, "b": True},
        {"a": ErrorKind.RATE_LIMIT, "b": True},
        {"a": ErrorKind.RATE_LIMIT, "b": True},  # a: down
        {"a": ErrorKind.TIMEOUT, "b": True},
    ]
    with open_store(store_location) as store:
        for n, outcomes in enumerate(plan, start=1):
            changes = ledger.apply(_run(_stamp(n), outcomes), round_no=n)
            watchdb.write_round(store, changes, [("webhook:x", a) for a in changes.alerts])
    with open_store(store_location) as store:
        states = watchdb.load_states(store, "eu")
        assert states[("a", "m", "eu")].state.state is State.DOWN
        assert states[("b", "m", "eu")].state.state is State.UP
        assert states[("a", "m", "eu")].last_error_kind == "timeout"
        assert "sk-abcdefghijklmnop" not in (states[("a", "m", "eu")].last_error or "")
        (incident,) = watchdb.list_incidents(store, open_only=True)
        assert (incident.target, incident.state, incident.previous_state) == ("a", State.DOWN, State.UP)
        assert incident.first_error_kind == "rate_limit" and incident.last_error_kind == "timeout"
        assert incident.failed_rounds == 3 and incident.rounds == 3 and incident.opened_at == _stamp(3)
        pending = watchdb.pending_alerts(store, "eu")
        assert [(p.channel, p.alert.event, p.alert.state) for p in pending] == [("webhook:x", EventKind.OPENED, State.DOWN)]
        assert "sk-abcdefghijklmnop" not in repr(pending)
        watchdb.update_deliveries(store, [watchdb.DeliveryUpdate(pending[0].row_id, "sent", 1, _stamp(4))])
        assert watchdb.pending_alerts(store, "eu") == []
        runs = store.list_runs()
        assert len(runs) == 4 and all(r.site == "eu" and r.complete for r in runs)

        # A new ledger picks up where the old one stopped: recovery resolves the same incident.
        again = Ledger("eu", thresholds=Thresholds(2, 2), tracked=states,
                       incidents=watchdb.list_incidents(store, open_only=True))
        for n in (5, 6):
            changes = again.apply(_run(_stamp(n), {"a": True, "b": True}), round_no=n)
            watchdb.write_round(store, changes, [("webhook:x", a) for a in changes.alerts])
        (resolved,) = watchdb.list_incidents(store)
        assert resolved.id == incident.id and resolved.resolved_at == _stamp(6)
        assert resolved.duration_s == 180.0 and resolved.failed_rounds == 3
        assert watchdb.list_incidents(store, open_only=True) == []
        assert [p.alert.event for p in watchdb.pending_alerts(store, "eu")] == [EventKind.RESOLVED]
        assert watchdb.load_states(store)[("a", "m", "eu")].incident_id is None


def test_incidents_since_and_site(store_location):
    with open_store(store_location) as store:
        for site in ("eu", "us"):
            ledger = Ledger(site, thresholds=Thresholds(1, 1))
            watchdb.write_round(store, ledger.apply(_run(_stamp(1), {"a": False})), [])
            if site == "eu":
                watchdb.write_round(store, ledger.apply(_run(_stamp(5), {"a": True})), [])
        assert {i.site for i in watchdb.list_incidents(store)} == {"eu", "us"}
        assert [i.site for i in watchdb.list_incidents(store, open_only=True)] == ["us"]
        assert [i.site for i in watchdb.list_incidents(store, site="eu")] == ["eu"]
        assert [i.site for i in watchdb.list_incidents(store, since=_stamp(6))] == ["us"]
        assert {i.site for i in watchdb.list_incidents(store, since=_stamp(5))} == {"eu", "us"}


def test_rollups_accumulate_and_pruning_keeps_them(store_location):
    ledger = Ledger("eu")
    with open_store(store_location) as store:
        for minute in range(0, 120, 10):  # two hours, six rounds each
            watchdb.write_round(store, ledger.apply(_run(_stamp(minute), {"a": minute % 30 != 0, "b": True})), [])
        hours = watchdb.load_rollups(store, "hour", target="a")
        assert [(h.bucket, h.probes, h.ok, h.failed) for h in hours] == [
            ("2024-05-01T10:00:00Z", 6, 4, 2), ("2024-05-01T11:00:00Z", 6, 4, 2)]
        (day,) = watchdb.load_rollups(store, "day", target="a")
        assert (day.probes, day.ok, day.errors) == (12, 8, {"connect": 4})
        assert 0.18 < percentile(day.ttft_hist, 50) < 0.22  # every answer took 0.2 s to first token

        pruned = watchdb.prune(store, before=_stamp(60), hourly_before=_stamp(60), limit_runs=4)
        assert pruned == 4
        assert watchdb.prune(store, before=_stamp(60), limit_runs=4) == 2
        assert len(store.list_runs()) == 6
        assert all(r.started_at >= _stamp(60) for r in store.list_runs())
        assert [h.bucket for h in watchdb.load_rollups(store, "hour", target="a")] == ["2024-05-01T11:00:00Z"]
        (day,) = watchdb.load_rollups(store, "day", target="a")
        assert (day.probes, day.ok) == (12, 8)  # uptime still answers after the results are gone


def test_runs_recorded_outside_watch_are_rolled_up_later(store_location):
    from rollcall.store import StoreSink

    run = _run(_stamp(0), {"a": True, "c": False})
    with open_store(store_location) as store:
        sink = StoreSink(store, site="ci")
        sink.start(RunInfo.of(run))
        for r in run.results:
            sink.result(r)
        sink.finish(run)
        assert watchdb.load_rollups(store, "day") == []
        assert watchdb.roll_up_pending(store, settled_before=_stamp(0)) == 1
        assert watchdb.roll_up_pending(store, settled_before=_stamp(0)) == 0
        rows = {(r.target, r.site): (r.probes, r.ok) for r in watchdb.load_rollups(store, "day")}
        assert rows == {("a", "ci"): (1, 1), ("c", "ci"): (1, 0)}


def test_rounds_written_together_equal_rounds_written_one_by_one(store_location, tmp_path):
    def plan():
        ids = itertools.count(1)
        ledger = Ledger("eu", thresholds=Thresholds(1, 1), make_id=lambda: f"inc{next(ids)}")
        return [ledger.apply(_run(_stamp(n), {"a": n % 3 != 0, "b": True}, run_id=f"x{n}"), round_no=n)
                for n in range(1, 8)]

    one_by_one = str(tmp_path / "single.sqlite3")
    with open_store(one_by_one) as store:
        for changes in plan():
            watchdb.write_round(store, changes, [("c", a) for a in changes.alerts])
        expected = (watchdb.load_states(store), watchdb.list_incidents(store), watchdb.load_rollups(store, "hour"),
                    [p.row_id for p in watchdb.pending_alerts(store, "eu")], len(store.list_runs()))
    with open_store(store_location) as store:
        watchdb.write_rounds(store, [(changes, [("c", a) for a in changes.alerts]) for changes in plan()])
        got = (watchdb.load_states(store), watchdb.list_incidents(store), watchdb.load_rollups(store, "hour"),
               [p.row_id for p in watchdb.pending_alerts(store, "eu")], len(store.list_runs()))
    assert got == expected and got[4] == 7
