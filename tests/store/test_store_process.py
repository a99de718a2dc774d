"""Real processes writing into one store: a run SIGKILLed halfway, and two runs at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rollcall.store import open_store
from rollcall.store.migrations import MIGRATIONS
from rollcall.store.queries import history

SCRIPT = Path(__file__).with_name("run_into_store.py")
WAIT_S = 60.0  # generous: a loaded 2-core machine may start Python slowly


def _spawn(location: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), "--store", location, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _read_line(proc: subprocess.Popen[str], timeout_s: float = WAIT_S) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    if not box or not box[0]:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"the run process printed no run id; stderr:\n{err}")
    return box[0].strip()


def _wait_for_results(location: str, run_id: str, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    with open_store(location) as store:
        while time.monotonic() < deadline:
            if len(store.run_results(run_id)) >= count:
                return
            time.sleep(0.05)
    pytest.fail(f"run {run_id} did not store {count} results within {WAIT_S:g} s")


def test_a_run_killed_midway_keeps_finished_results_and_stays_incomplete(store_location: str) -> None:
    proc = _spawn(store_location, "--fast", "4", "--hang", "3", "--site", "killed-site")
    try:
        run_id = _read_line(proc)
        _wait_for_results(store_location, run_id, 4)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=WAIT_S) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)

    with open_store(store_location) as store:
        run = store.get_run(run_id)
        results = store.run_results(run_id)
        outcomes = store.outcomes()
    assert run.complete is False
    assert run.ended_at is None and run.wall_s is None
    assert run.site == "killed-site" and run.prompt == "subprocess run"
    assert run.planned == 7
    assert sorted(r.target for r in results) == [f"fast-{i:03d}" for i in range(4)]
    assert all(r.ok and r.text.startswith("hello from fast-") for r in results)
    # The finished probes count in history; the hung ones were never recorded.
    rows = history(outcomes)
    assert [(r.target, r.probes, r.ok) for r in rows] == [(f"fast-{i:03d}", 1, 1) for i in range(4)]


def test_two_concurrent_runs_into_one_new_store_lose_nothing(store_location: str) -> None:
    # Both processes open the new store at about the same time and commit one result per
    # transaction (--batch 1) while the other does; each run also waits (a gate target) until
    # the other has stored half its results, so neither can finish before the other is going.
    n = 150
    procs = [
        _spawn(store_location, "--fast", str(n), "--stagger", "0.002", "--batch", "1", "--prefix", prefix,
               "--site", prefix, "--gate", f"{other}:{n // 2}")
        for prefix, other in (("left", "right"), ("right", "left"))
    ]
    outputs: list[tuple[int, str, str]] = [(-1, "", "")] * len(procs)

    def finish(i: int) -> None:  # both at once: one waiting on us to read its pipes stalls the other
        try:
            out, err = procs[i].communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            procs[i].kill()
            out, err = procs[i].communicate()
            err += f"\n(test: no end within {WAIT_S:g} s, killed)"
        outputs[i] = (procs[i].returncode, out, err)

    try:
        readers = [threading.Thread(target=finish, args=(i,), daemon=True) for i in range(len(procs))]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(WAIT_S + 15)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for code, out, err in outputs:
        assert code == 0, err
        assert out.splitlines()[-1] == f"done {n + 1}"
    ids = [out.splitlines()[0] for _, out, _ in outputs]

    with open_store(store_location) as store:
        runs = {r.id: r for r in store.list_runs()}
        assert set(runs) == set(ids)
        for run_id, prefix in zip(ids, ("left", "right"), strict=True):
            run = runs[run_id]
            assert run.complete and run.ok == n + 1 and run.failed == 0 and run.targets == n + 1
            assert run.site == prefix
            stored = sorted(r.target for r in store.run_results(run_id))
            assert stored == [*(f"{prefix}-{i:03d}" for i in range(n)), f"{prefix}-gate"]
        assert store.applied_migrations() == [m.__name__ for m in MIGRATIONS]
    if "://" not in store_location:
        with sqlite3.connect(store_location) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
