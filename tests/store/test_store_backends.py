"""The Store contract, run against every backend (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rollcall.models import ErrorKind, ProbeResult, ServerTimings
from rollcall.redact import register_secret
from rollcall.store import RunNotFound, RunRecord, StoreError, open_store
from rollcall.store.base import RESULT_FIELDS, STORED_TEXT_CHARS


def probe(target: str = "Alpha", *, ok: bool = True, at: str = "2024-05-01T12:00:00.000Z", **fields) -> ProbeResult:
    defaults = dict(kind="g4f", model="", ttft_s=0.25 if ok else None, total_s=1.0 if ok else None,
                    text="hi" if ok else "", error_kind=None if ok else ErrorKind.TIMEOUT,
                    error=None if ok else "Timeout: no first token within 30 s")
    defaults.update(fields)
    return ProbeResult(target=target, ok=ok, started_at=at, **defaults)  # type: ignore[arg-type]


def record(run_id: str, at: str = "2024-05-01T12:00:00.000Z", **fields) -> RunRecord:
    return RunRecord(id=run_id, started_at=at, **fields)


def finished(run: RunRecord, **fields) -> RunRecord:
    return dataclasses.replace(run, ended_at=run.started_at, wall_s=2.5, complete=True, **fields)


def test_every_probe_result_field_is_stored() -> None:
    assert set(RESULT_FIELDS) == {f.name for f in dataclasses.fields(ProbeResult)}


def test_round_trip_keeps_every_field(store) -> None:
    full = ProbeResult(
        target="Ünïcode Provider", kind="openai", model="gpt-4o-mini", ok=False,
        error_kind=ErrorKind.RATE_LIMIT, error="HTTP 429: slow down", status=429, queue_s=0.125,
        headers_s=0.5, ttft_s=0.75, total_s=1.5, output_chars=12, output_tokens=3,
        output_tokens_estimated=True, tokens_per_s=2.5, text="partial ✓ answer", reasoning="thinking…",
        started_at="2024-05-01T12:00:00.123Z", attempt=2, retry_after_s=7.0, max_gap_s=0.2,
        server_timings=ServerTimings(total_s=1.5, load_s=0.75, prompt_eval_s=0.01, eval_s=0.5, eval_tokens=3),
    )
    sparse = ProbeResult(target="Beta", kind="g4f", model="", ok=True, started_at="2024-05-01T12:00:01.000Z")
    run = record("aaaa11112222", prompt="Hello?", site="lab", settings={"timeout_s": 30, "providers": ["A"]},
                  planned=2, version="0.1.0")
    store.start_run(run)
    store.add_results(run.id, [(1, full), (2, sparse)])
    assert store.run_results(run.id) == [full, sparse]
    stored = store.get_run(run.id)
    assert stored.complete is False and stored.ended_at is None and stored.wall_s is None
    assert (stored.prompt, stored.site, stored.settings, stored.planned) == ("Hello?", "lab", run.settings, 2)
    assert (stored.ok, stored.failed, stored.targets) == (1, 1, 2)

    store.finish_run(finished(run, loop_lag_max_s=0.01, skipped=({"name": "Broken", "reason": "ImportError"},)))
    stored = store.get_run(run.id)
    assert stored.complete is True and stored.ended_at == run.started_at and stored.wall_s == 2.5
    assert stored.loop_lag_max_s == 0.01 and stored.skipped == ({"name": "Broken", "reason": "ImportError"},)
    assert stored.planned == 2  # finish without a count keeps the planned one


def test_results_survive_reopening(store_location: str) -> None:
    with open_store(store_location) as store:
        store.start_run(record("persist00001"))
        store.add_results("persist00001", [(1, probe())])
    with open_store(store_location) as store:
        assert [r.target for r in store.run_results("persist00001")] == ["Alpha"]
        assert store.get_run("persist00001").complete is False


def test_the_same_result_written_twice_is_stored_once(store) -> None:
    store.start_run(record("dup000000001"))
    store.start_run(record("dup000000001"))  # a retried start is harmless too
    store.add_results("dup000000001", [(1, probe("A")), (2, probe("B"))])
    store.add_results("dup000000001", [(2, probe("B")), (3, probe("C"))])
    assert [r.target for r in store.run_results("dup000000001")] == ["A", "B", "C"]
    assert len(store.list_runs()) == 1


def test_finish_records_a_run_whose_start_was_never_stored(store) -> None:
    store.finish_run(finished(record("late00000001", prompt="p")))
    run = store.get_run("late00000001")
    assert run.complete and run.prompt == "p"


def test_long_answers_are_capped_and_secrets_scrubbed(store) -> None:
    register_secret("s3cr3t-value-for-store-test")
    leaky = probe("Leaky", ok=False, error="auth failed for key s3cr3t-value-for-store-test and sk-abcdefghijklmnop")
    chatty = probe("Chatty", text="x" * (STORED_TEXT_CHARS + 500), output_chars=STORED_TEXT_CHARS + 500)
    store.start_run(record("leak00000001", prompt="token s3cr3t-value-for-store-test"))
    store.add_results("leak00000001", [(1, leaky), (2, chatty)])
    stored_leaky, stored_chatty = store.run_results("leak00000001")
    assert "s3cr3t" not in (stored_leaky.error or "") and "sk-abcdefghijklmnop" not in (stored_leaky.error or "")
    assert "***" in (stored_leaky.error or "")
    assert "s3cr3t" not in store.get_run("leak00000001").prompt
    assert len(stored_chatty.text) == STORED_TEXT_CHARS
    assert stored_chatty.output_chars == STORED_TEXT_CHARS + 500


def test_list_runs_newest_first_with_limit_and_complete_filter(store) -> None:
    for i in range(5):
        run = record(f"list{i:08d}", at=f"2024-05-0{i + 1}T00:00:00.000Z")
        store.start_run(run)
        store.add_results(run.id, [(1, probe("A")), (2, probe("B", ok=i % 2 == 0))])
        if i != 3:
            store.finish_run(finished(run))
    runs = store.list_runs()
    assert [r.id for r in runs] == [f"list{i:08d}" for i in (4, 3, 2, 1, 0)]
    assert [(r.ok, r.failed, r.targets) for r in runs] == [(2, 0, 2), (1, 1, 2), (2, 0, 2), (1, 1, 2), (2, 0, 2)]
    assert [r.id for r in store.list_runs(2)] == ["list00000004", "list00000003"]
    assert [r.id for r in store.list_runs(2, complete_only=True)] == ["list00000004", "list00000002"]


def test_get_run_by_id_or_unique_prefix(store) -> None:
    for run_id in ("abc123000000", "abd456000000", "abc"):
        store.start_run(record(run_id))
    assert store.get_run("abc").id == "abc"  # an exact id wins over being a prefix of another
    assert store.get_run("abc1").id == "abc123000000"
    assert store.get_run("abd").id == "abd456000000"
    with pytest.raises(RunNotFound, match="ambiguous: it matches"):
        store.get_run("ab")
    with pytest.raises(RunNotFound, match="no run with id 'zzz'"):
        store.get_run("zzz")
    with pytest.raises(RunNotFound, match="is not a run id"):
        store.get_run("a'; DROP TABLE runs; --")
    assert len(store.list_runs()) == 3


def test_outcomes_filter_by_time_target_and_site(store) -> None:
    here, there = record("here00000001", site="eu"), record("there0000001", site="us")
    store.start_run(here)
    store.start_run(there)
    store.add_results(here.id, [
        (1, probe("Alpha", at="2024-05-01T10:00:00.000Z")),
        (2, probe("beta", ok=False, at="2024-05-01T11:00:00.000Z")),
    ])
    store.add_results(there.id, [(1, probe("ALPHA", at="2024-05-01T12:00:00.000Z"))])

    everything = store.outcomes()
    assert [(o.target, o.site, o.ok) for o in everything] == [("Alpha", "eu", True), ("beta", "eu", False),
                                                              ("ALPHA", "us", True)]
    assert everything[1].error_kind == "timeout" and everything[0].ttft_s == 0.25
    assert [o.target for o in store.outcomes(since="2024-05-01T10:30:00.000Z")] == ["beta", "ALPHA"]
    assert [o.target for o in store.outcomes(targets=["alpha"])] == ["Alpha", "ALPHA"]
    assert [o.target for o in store.outcomes(targets=["BETA", "nope"])] == ["beta"]
    assert [o.target for o in store.outcomes(site="us")] == ["ALPHA"]
    assert store.outcomes(site="mars") == []
    assert store.target_names() == sorted(["ALPHA", "Alpha", "beta"])


def test_settings_are_stored_without_secrets(store) -> None:
    settings = {"headers": {"Authorization": "Bearer abcdefghijklmnop1234"}, "timeout_s": 5}
    store.start_run(record("settings0001", settings=settings))
    stored = store.get_run("settings0001").settings
    assert stored["timeout_s"] == 5 and "abcdefghijklmnop1234" not in json.dumps(stored)


# -- values no column can hold: one bad value never loses the results beside it ----------------

def test_values_out_of_any_column_range_are_stored_as_null_or_clamped(store) -> None:
    # 2**63 (from a server's usage), NaN/inf floats, NUL and lone surrogates in text: each of
    # these fails an INSERT on SQLite or PostgreSQL, and today loses its whole batch.
    odd = probe("Odd", output_tokens=2**63, status=10**12, output_chars=2**70, attempt=-(2**40),
                ttft_s=float("nan"), total_s=float("inf"), queue_s=float("-inf"), tokens_per_s=10**400,
                text="nul\x00 and \udcff lone", error="e\x00", model="m\ud800", reasoning="r")
    run = record("bbbb11112222", prompt="p\x00", site="s\udcff", planned=2**62, loop_lag_max_s=float("nan"))
    store.start_run(run)
    store.add_results(run.id, [(1, probe("Before")), (2, odd), (3, probe("After"))])
    store.finish_run(dataclasses.replace(run, ended_at=run.started_at, wall_s=float("inf"), complete=True))
    results = store.run_results(run.id)
    assert [r.target for r in results] == ["Before", "Odd", "After"]
    stored = results[1]
    assert (stored.output_tokens, stored.status, stored.ttft_s, stored.total_s, stored.tokens_per_s) == (None,) * 5
    assert (stored.output_chars, stored.attempt, stored.queue_s) == (2**31 - 1, -(2**31), 0.0)
    assert stored.text == "nul\ufffd and \ufffd lone" and stored.error == "e\ufffd" and stored.model == "m\ufffd"
    again = store.get_run(run.id)
    assert (again.prompt, again.site, again.planned, again.wall_s, again.loop_lag_max_s) == (
        "p\ufffd", "s\ufffd", None, None, None)


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


def test_a_result_that_cannot_be_stored_at_all_costs_only_itself(store) -> None:
    broken = probe("Broken", text=_Unprintable())  # type: ignore[arg-type]  # a library caller's mistake
    run = record("cccc11112222")
    store.start_run(run)
    with pytest.raises(StoreError, match="1 result"):
        store.add_results(run.id, [(1, probe("Before")), (2, broken), (3, probe("After"))])
    assert [r.target for r in store.run_results(run.id)] == ["Before", "After"]
