"""Whole watches in-process against the simulator: rounds, no overlap, states, stored history."""

from __future__ import annotations

import datetime as _dt

from watch_helpers import switch, text_console

from rollcall.settings import ProbeSettings
from rollcall.sim import Behaviour, Fleet, run_sim_in_thread
from rollcall.store import open_store, watchdb
from rollcall.targets.openai import OpenAITarget
from rollcall.watch.app import WatchJob, run_watch
from rollcall.watch.settings import AlertSpec, WatchSettings
from rollcall.watch.state import Slo, State, Thresholds


def _targets(base_url, names):
    from rollcall.http import HttpClient

    client = HttpClient()
    return [OpenAITarget(name, base_url, models=(name,), client=client) for name in names]


def _job(targets, *, store=None, rounds=3, every=0.05, **settings):
    return WatchJob(
        targets=targets, settings=WatchSettings(every_s=every, **settings), site="lab", store=store,
        probe=ProbeSettings(timeout_s=5.0), rounds=rounds, seed=1,
        reopen=None, delivery_options={"backoff_s": 0.05},
    )


def _parse(stamp):
    return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_rounds_go_down_and_come_back_and_are_stored(tmp_path, receiver):
    fleet = Fleet({"swift": Behaviour(ttft_s=0.01, answer_tokens=3, tokens_per_s=0),
                   "wobbly": Behaviour(ttft_s=0.01, answer_tokens=3, tokens_per_s=0)})
    with run_sim_in_thread(fleet) as base_url, open_store(str(tmp_path / "h.sqlite3")) as store:
        def script(number, run, changes):
            if number == 1:
                switch(base_url, "wobbly", status=429)
            elif number == 4:
                switch(base_url, "wobbly")

        job = _job(_targets(base_url, ["swift", "wobbly"]), store=store, rounds=7,
                   thresholds=Thresholds(2, 2), alerts=(AlertSpec("webhook", receiver.url + "/hook"),))
        job.on_round = script
        console = text_console()
        end = run_watch(job, console)
        assert end.signal is None and end.summary.rounds == 7 and end.unwritten == 0

    out = console.file.getvalue()
    assert "wobbly is DOWN (was up)  rate_limit" in out and "wobbly is UP (was down)" in out
    with open_store(str(tmp_path / "h.sqlite3")) as store:
        runs = store.list_runs()
        assert len(runs) == 7 and all(r.site == "lab" and r.complete for r in runs)
        assert sorted(r.settings["watch"]["round"] for r in runs) == list(range(1, 8))
        (incident,) = watchdb.list_incidents(store)
        assert (incident.target, incident.state, incident.first_error_kind) == ("wobbly", State.DOWN, "rate_limit")
        assert incident.resolved_at is not None and incident.failed_rounds == 3
        states = watchdb.load_states(store, "lab")
        assert {k[0]: t.state.state for k, t in states.items()} == {"swift": State.UP, "wobbly": State.UP}
    posted = [r.json() for r in receiver.wait_for(2)]
    assert [(p["status"], p["state"], p["previous_state"]) for p in posted] == [
        ("firing", "down", "up"), ("resolved", "up", "down")]


def test_a_round_longer_than_the_interval_delays_the_next_one_never_overlaps(tmp_path):
    fleet = Fleet({"slow": Behaviour(ttft_s=0.3, answer_tokens=2, tokens_per_s=0)})
    with run_sim_in_thread(fleet) as base_url, open_store(str(tmp_path / "h.sqlite3")) as store:
        console = text_console()
        end = run_watch(_job(_targets(base_url, ["slow"]), store=store, rounds=4, every=0.1), console)
        assert end.summary.rounds == 4
    assert "over its 0.1s interval" in console.file.getvalue()
    with open_store(str(tmp_path / "h.sqlite3")) as store:
        results = sorted((r for run in store.list_runs() for r in store.run_results(run.id)),
                         key=lambda r: r.started_at)
    assert len(results) == 4 and all(r.ok for r in results)
    for before, after in zip(results, results[1:]):
        # The next probe of the same target started only after the previous one ended.
        assert _parse(after.started_at) >= _parse(before.started_at) + _dt.timedelta(seconds=before.total_s)


def test_first_round_at_once_and_groups_by_interval(tmp_path):
    fleet = Fleet({"a": Behaviour(ttft_s=0.0, answer_tokens=1, tokens_per_s=0),
                   "b": Behaviour(ttft_s=0.0, answer_tokens=1, tokens_per_s=0)})
    with run_sim_in_thread(fleet) as base_url:
        targets = _targets(base_url, ["a", "b"])
        job = _job(targets, rounds=1, every=3600.0, target_every={"b": 7200.0})
        job.origins = {"a": "a", "b": "b"}
        console = text_console()
        end = run_watch(job, console)  # hour-long intervals: this ends only if first rounds start at once
    assert end.summary.rounds == 2  # one round per interval group
    assert "1 probe every 1h, 1 probe every 2h" in console.file.getvalue()


def test_slow_answers_make_a_target_degraded(tmp_path):
    fleet = Fleet({"sluggish": Behaviour(ttft_s=0.25, answer_tokens=1, tokens_per_s=0)})
    with run_sim_in_thread(fleet) as base_url, open_store(str(tmp_path / "h.sqlite3")) as store:
        job = _job(_targets(base_url, ["sluggish"]), store=store, rounds=2, thresholds=Thresholds(2, 2),
                   slo=Slo(ttft_s=0.1))
        run_watch(job, text_console())
    with open_store(str(tmp_path / "h.sqlite3")) as store:
        (incident,) = watchdb.list_incidents(store)
    assert incident.state is State.DEGRADED and incident.previous_state is State.UNKNOWN
    assert incident.last_error_kind is None and "over the SLO of 0.1 s" in incident.last_error


def test_outputs_stream_jsonl_across_rounds_and_rewrite_reports(tmp_path):
    import json

    fleet = Fleet({"a": Behaviour(ttft_s=0.0, answer_tokens=1, tokens_per_s=0)})
    with run_sim_in_thread(fleet) as base_url:
        job = _job(_targets(base_url, ["a"]), rounds=3)
        job.outputs = [f"jsonl:{tmp_path / 'all.jsonl'}", f"json:{tmp_path / 'last.json'}"]
        run_watch(job, text_console())
    lines = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and all(line["target"] == "a" and line["ok"] for line in lines)
    last = json.loads((tmp_path / "last.json").read_text())
    assert last["schema"] == "rollcall.run/1" and last["run"]["settings"]["watch"]["round"] == 3


def test_push_to_gatus_and_uptime_kuma(receiver):
    from rollcall.watch.push import gatus_key
    from rollcall.watch.settings import PushSpec

    fleet = Fleet({"good": Behaviour(ttft_s=0.0, answer_tokens=1, tokens_per_s=0),
                   "bad.one": Behaviour(ttft_s=0.0, status=503)})
    with run_sim_in_thread(fleet) as base_url:
        job = _job(_targets(base_url, ["good", "bad.one"]), rounds=1,
                   pushes=(PushSpec("gatus", receiver.url, token="gatus-t0ken-1"),
                           PushSpec("uptime_kuma", receiver.url + "/api/push/KumaPushT0ken")))
        run_watch(job, text_console())
    got = receiver.wait_for(3)
    gatus = {r.path: r for r in got if r.path.startswith("/api/v1/")}
    assert set(gatus) == {"/api/v1/endpoints/rollcall_good/external", "/api/v1/endpoints/rollcall_bad-one/external"}
    assert gatus_key("rollcall", "bad.one") == "rollcall_bad-one"
    good, bad = gatus["/api/v1/endpoints/rollcall_good/external"], gatus["/api/v1/endpoints/rollcall_bad-one/external"]
    assert good.method == "POST" and good.query["success"] == "true" and good.query["duration"].endswith("s")
    assert bad.query["success"] == "false" and bad.query["error"].startswith("http_status: ")
    assert good.headers["Authorization"] == "Bearer gatus-t0ken-1"
    (kuma,) = [r for r in got if r.path == "/api/push/KumaPushT0ken"]
    assert kuma.method == "GET" and kuma.query["status"] == "down" and "1 of 2 failed: bad.one" in kuma.query["msg"]
    assert int(kuma.query["ping"]) >= 0


def test_maintenance_rolls_up_old_runs_and_prunes_by_keep(tmp_path):
    from rollcall.models import ProbeResult, RunInfo, RunResult
    from rollcall.store import StoreSink
    from rollcall.watch.watcher import maintain

    old = "2020-01-01T10:00:00.000Z"
    run = RunResult(id="old1", started_at=old, ended_at=old, wall_s=1.0, prompt="p", results=(
        ProbeResult(target="a", kind="openai", model="m", ok=True, ttft_s=0.1, total_s=0.2, started_at=old),))
    with open_store(str(tmp_path / "h.sqlite3")) as store:
        sink = StoreSink(store, site="s")
        sink.start(RunInfo.of(run))
        sink.result(run.results[0])
        sink.finish(run)
        maintain(store, keep_s=30 * 86400)
        assert store.list_runs() == []  # rolled up first, then pruned
        (day,) = watchdb.load_rollups(store, "day")
        assert (day.bucket, day.probes, day.ok) == ("2020-01-01T00:00:00Z", 1, 1)
