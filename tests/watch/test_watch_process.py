"""`rollcall watch` as a real process: SIGTERM mid-round, restarts that repeat no alert, a dead
receiver, `rollcall incidents`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest
from g4f_env import offline_g4f_env
from watch_helpers import Proc, sim_config, switch

from rollcall.sim import Behaviour, Fleet, run_sim_in_thread
from rollcall.store import open_store, watchdb

FLEET = Fleet({
    "swift": Behaviour(ttft_s=0.0, answer_tokens=2, tokens_per_s=0),
    "broken": Behaviour(ttft_s=0.0, status=500),
    "hangs": Behaviour(fault="hang"),
})


@pytest.fixture
def env(tmp_path):
    return offline_g4f_env(tmp_path)


@pytest.fixture(scope="module")
def sim():
    with run_sim_in_thread(FLEET) as base_url:
        yield base_url


def _rollcall(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGTERM, 0, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_a_stop_signal_mid_round_stores_what_finished(tmp_path, env, sim, signum, code, name):
    config = sim_config(tmp_path / "rc.toml", sim, ["swift", "hangs"])
    db = str(tmp_path / "h.sqlite3")
    proc = Proc(env, "watch", "-c", config, "--store", db, "--every", "1s", "--timeout", "60", "-v")
    try:
        proc.wait_line("ok")  # swift answered; hangs is still waiting for its first byte
        proc.proc.send_signal(signum)
        assert proc.wait(30) == code  # SIGTERM: 0, what service managers expect
    finally:
        proc.kill()
    assert "(cut short)" in proc.output and f"watch stopped ({name}) after 1 round(s)" in proc.output
    with open_store(db) as store:
        (run,) = store.list_runs()
        results = {r.target: r for r in store.run_results(run.id)}
    assert not run.complete and results["swift"].ok
    assert results["hangs"].error_kind == "cancelled"


def test_a_restart_repeats_no_alert_and_resolves_once(tmp_path, env, sim, receiver):
    config = sim_config(tmp_path / "rc.toml", sim, ["swift", "broken"],
                        extra=f'[watch]\nfail_after = 2\nrecover_after = 2\nremind = "0"\n'
                              f'[[alert]]\nwebhook = "{receiver.url}/hook"\n')
    db = str(tmp_path / "h.sqlite3")
    args = ("watch", "-c", config, "--store", db, "--every", "0.1s", "--rounds", "3", "-q")
    first = _rollcall(env, *args)
    assert first.returncode == 0, first.stderr
    assert len(receiver.wait_for(1)) == 1
    again = _rollcall(env, *args)  # still broken: its incident is open, the alert was sent
    assert again.returncode == 0, again.stderr
    switch(sim, "broken", ttft=0.0, tokens=2, tps=0)
    try:
        back = _rollcall(env, *args)
        assert back.returncode == 0, back.stderr
    finally:
        switch(sim, "broken", status=500)
    posts = [r.json() for r in receiver.wait_for(2)]
    assert [(p["status"], p["target"], p["state"], p["previous_state"]) for p in posts] == [
        ("firing", "broken", "down", "unknown"), ("resolved", "broken", "up", "down")]
    assert posts[0]["incident"]["id"] == posts[1]["incident"]["id"]

    listed = _rollcall(env, "incidents", "--store", db, "--json", "--since", "all")
    doc = json.loads(listed.stdout)
    assert doc["schema"] == "rollcall.incidents/1"
    (incident,) = doc["incidents"]
    assert incident["target"] == "broken" and incident["resolved_at"] and incident["failed_rounds"] == 6
    assert incident["first_error_kind"] == "http_status"
    table = _rollcall(env, "incidents", "--store", db)
    assert "broken" in table.stdout and "resolved" in table.stdout
    none_open = _rollcall(env, "incidents", "--store", db, "--open")
    assert none_open.returncode == 0 and "no open incidents" in none_open.stderr
    with open_store(db) as store:
        assert len(store.list_runs()) == 9
        statuses = [row[0] for row in store.query("SELECT status FROM alerts ORDER BY created_at")]
    assert statuses == ["sent", "sent"]


def test_a_dead_receiver_never_stops_the_watch(tmp_path, env, sim):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = sim_config(tmp_path / "rc.toml", sim, ["broken"],
                        extra=f'[[alert]]\nwebhook = "http://127.0.0.1:{port}/hook/s3cretT0ken9"\n')
    db = str(tmp_path / "h.sqlite3")
    proc = _rollcall(env, "watch", "-c", config, "--store", db, "--every", "0.1s", "--rounds", "6",
                     "--fail-after", "1", "--recover-after", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert out.count("alert channel failed") == 1 and "cannot connect" in out
    assert "s3cretT0ken9" not in out
    with open_store(db) as store:
        assert len(store.list_runs()) == 6
        rows = store.query("SELECT status, error FROM alerts")
    # The opened alert was tried until delivery gave up (or was still being retried at the end).
    assert rows and all(status in ("failed", "pending") for status, _ in rows)
    assert all("s3cretT0ken9" not in (error or "") for _, error in rows)


def test_bad_watch_settings_exit_2_with_one_line(tmp_path, env):
    proc = _rollcall(env, "watch", "--no-config", "--every", "soon", "-p", "fake_providers:Answering")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "rollcall: error: Invalid value for '--every': 'soon' is not a duration (use e.g. 30s, 5m, 1h, 7d)"]
    proc = _rollcall(env, "watch", "--no-config", "--notify", "nosuchservice://x", "-p", "fake_providers:Answering",
                     "--no-store")
    assert proc.returncode == 2 and "Apprise does not understand" in proc.stderr
