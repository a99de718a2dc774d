"""StoreSink: results written as probes finish, never blocking the event loop, interrupted runs kept."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest

from rollcall.app import execute
from rollcall.models import ErrorKind, ProbeResult, RunInfo, RunResult
from rollcall.runner import Runner
from rollcall.settings import ProbeSettings
from rollcall.store import StoreError, StoreSink, open_store
from rollcall.store.queries import history
from rollcall.targets.base import Content, Event, ProbeRequest
from rollcall.testing import ScriptedTarget

WAIT_S = 30.0


def Answers(name: str) -> ScriptedTarget:  # noqa: N802
    """Answers at once."""
    return ScriptedTarget(name, answer=f"{name} here", status=None, usage=False)


class WaitsUntilStored(ScriptedTarget):
    """Answers only once `other`'s result can be read back from the store by a second connection."""

    def __init__(self, name: str, location: str, other: str) -> None:
        super().__init__(name)
        self.location, self.other = location, other
        self.saw_it_stored = False

    def _stored(self) -> bool:
        with open_store(self.location) as store:
            return any(o.target == self.other for o in store.outcomes())

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self._stored):
                self.saw_it_stored = True
                break
            await asyncio.sleep(0.02)
        yield Content("done waiting")


class InterruptsAfterFirstResult(ScriptedTarget):
    """Plays Ctrl-C once the runner has recorded some other result."""

    def __init__(self, name: str, runner_box: list[Runner]) -> None:
        super().__init__(name)
        self.runner_box = runner_box

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        while not self.runner_box[0].results:
            await asyncio.sleep(0.01)
        raise KeyboardInterrupt
        yield Content("unreachable")  # pragma: no cover - makes this an async generator


def test_each_result_is_stored_while_the_run_is_still_going(store_location: str) -> None:
    waiter = WaitsUntilStored("Waiter", store_location, other="Quick")
    with open_store(store_location) as store:
        sink = StoreSink(store, site="bench-1")
        settings = ProbeSettings(prompt="are you there?", timeout_s=WAIT_S * 2, extra={"note": "sink test"})
        execution = execute(Runner([Answers("Quick"), waiter], settings=settings, sinks=[sink]))
        run = execution.run
        assert not execution.interrupted and not sink.errors
        assert waiter.saw_it_stored, "Quick's result was not in the store before the run ended"
        stored = store.get_run(run.id)
        assert stored.complete and stored.site == "bench-1" and stored.prompt == "are you there?"
        assert stored.settings["note"] == "sink test" and stored.settings["timeout_s"] == WAIT_S * 2
        assert stored.wall_s == pytest.approx(run.wall_s) and stored.ended_at == run.ended_at
        assert store.run_results(run.id) == list(run.results)


@contextmanager
def write_lock(location: str) -> Iterator[None]:
    """Hold another connection's lock that stops the sink's writes but not reads."""
    if "://" in location:
        import psycopg

        with psycopg.connect(location) as conn:  # not autocommit: the lock lasts until rollback
            conn.execute("LOCK TABLE results IN EXCLUSIVE MODE")
            yield
            conn.rollback()
    else:
        conn = sqlite3.connect(location, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()


def test_result_never_waits_for_the_database(store_location: str) -> None:
    results = [ProbeResult(target=f"T{i:03d}", kind="fake", model="", ok=True, text="x",
                           started_at="2024-05-01T00:00:00.000Z") for i in range(100)]
    with open_store(store_location) as store, open_store(store_location) as reader:
        sink = StoreSink(store, site="s")
        run = RunResult(id="locked000001", started_at="2024-05-01T00:00:00.000Z",
                        ended_at="2024-05-01T00:00:01.000Z", wall_s=1.0, prompt="", results=tuple(results))
        with write_lock(store_location):
            sink.start(RunInfo.of(run))
            for r in results:
                sink.result(r)  # if this waited for the lock, this thread would deadlock here
            # (read through another connection: the sink's writer thread holds `store` while it waits)
            assert reader.run_results("locked000001") == []
        sink.finish(run)
        assert [r.target for r in store.run_results("locked000001")] == [r.target for r in results]
        # Everything that queued up behind the lock went in together, not one transaction each.
        assert 1 <= sink.batches <= 2
        assert store.get_run("locked000001").complete


def test_an_interrupted_run_keeps_what_finished_and_is_marked_incomplete(store_location: str) -> None:
    box: list[Runner] = []
    with open_store(store_location) as store:
        sink = StoreSink(store, site="s")
        runner = Runner([Answers("Quick"), ScriptedTarget("Slow", hang=True), InterruptsAfterFirstResult("CtrlC", box)],
                        settings=ProbeSettings(timeout_s=WAIT_S * 2), sinks=[sink])
        box.append(runner)
        execution = execute(runner)
        run = execution.run
        assert execution.interrupted and not run.complete and execution.exit_status == 130
        stored = store.get_run(run.id)
        results = store.run_results(run.id)
        outcomes = store.outcomes()
    assert stored.complete is False and stored.ended_at == run.ended_at
    assert {(r.target, r.ok, r.error_kind) for r in results} == {
        ("Quick", True, None), ("Slow", False, ErrorKind.CANCELLED), ("CtrlC", False, ErrorKind.CANCELLED),
    }
    # Probes the run cancelled are kept in the record but not held against the provider.
    assert [(row.target, row.probes) for row in history(outcomes)] == [("Quick", 1)]


def test_the_site_defaults_to_the_hostname(store_location: str) -> None:
    with open_store(store_location) as store:
        sink = StoreSink(store)
        run = RunResult(id="site00000001", started_at="2024-05-01T00:00:00.000Z",
                        ended_at="2024-05-01T00:00:00.000Z", wall_s=0.0, prompt="")
        sink.start(RunInfo.of(run))
        sink.finish(run)
        assert store.get_run("site00000001").site == socket.gethostname()


def test_a_failing_store_is_reported_at_finish_not_during_the_run(tmp_path) -> None:
    store = open_store(str(tmp_path / "h.sqlite3"))
    store.close()  # every write will now fail
    sink = StoreSink(store, site="s")
    run = RunResult(id="fail00000001", started_at="x", ended_at="x", wall_s=0.0, prompt="")
    sink.start(RunInfo.of(run))
    sink.result(ProbeResult(target="A", kind="fake", model="", ok=True, started_at="x"))  # must not raise
    with pytest.raises(StoreError, match="run fail00000001 was not fully stored: .*closed"):
        sink.finish(run)


def test_a_sink_records_one_run_only(tmp_path) -> None:
    with open_store(str(tmp_path / "h.sqlite3")) as store:
        sink = StoreSink(store)
        run = RunResult(id="once00000001", started_at="x", ended_at="x", wall_s=0.0, prompt="")
        sink.start(RunInfo.of(run))
        with pytest.raises(RuntimeError, match="one run"):
            sink.start(RunInfo.of(run))
        sink.finish(run)
