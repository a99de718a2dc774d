"""The runner: fan-out, concurrency bound, queue time, repeats, checks, callbacks, interruption."""

from __future__ import annotations

import asyncio

import pytest

from rollcall import ErrorKind, ProbeError, ProbeSettings, Runner
from rollcall.checks import Requirements, expect_regex, max_total
from rollcall.testing import ScriptedTarget


async def test_all_targets_run_concurrently_and_results_arrive_as_they_finish():
    seen = []
    targets = [ScriptedTarget("slow", delay_s=0.3), ScriptedTarget("fast", delay_s=0.0)]
    run = await Runner(targets, settings=ProbeSettings(timeout_s=5), on_result=lambda r: seen.append(r.target)).run()
    assert seen == ["fast", "slow"]
    assert run.ok_count == 2 and run.complete
    assert all(t.closed for t in targets)
    # Wall time follows the slowest probe, not the sum (0.3 s, not 0.3 + ...): behavioural bound.
    assert run.wall_s < 0.3 + 2.0


async def test_concurrency_bound_and_queue_time_is_measured_apart():
    gate = asyncio.Event()
    targets = [ScriptedTarget(f"t{i}", gate=gate) for i in range(5)]
    runner = Runner(targets, settings=ProbeSettings(timeout_s=5, concurrency=2))
    task = asyncio.ensure_future(runner.run())
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(ScriptedTarget.running) == 2:
            break
    await asyncio.sleep(0.05)
    assert len(ScriptedTarget.running) == 2  # the bound holds while the first two are blocked
    gate.set()
    run = await task
    assert run.ok_count == 5
    queued = sorted(r.queue_s for r in run.results)
    assert queued[-1] > queued[0]  # later probes waited for a slot, and it was recorded


async def test_models_and_repeats_make_one_result_each_with_stats():
    target = ScriptedTarget("multi", models=("a", "b"))
    run = await Runner([target], settings=ProbeSettings(timeout_s=5, repeat=3)).run()
    assert len(run.results) == 6 and target.calls == 6
    assert sorted({(r.model, r.attempt) for r in run.results}) == [(m, a) for m in "ab" for a in (1, 2, 3)]
    stats = {s.model: s for s in run.stats()}
    assert stats["a"].runs == 3 and stats["a"].ok == 3 and stats["a"].success_rate == 1.0
    assert stats["a"].total_p50_s is not None and stats["a"].total_p90_s >= stats["a"].total_p50_s


async def test_deadline_per_probe():
    run = await Runner([ScriptedTarget("hang", delay_s=60), ScriptedTarget("ok")],
                       settings=ProbeSettings(timeout_s=0.3)).run()
    by = {r.target: r for r in run.results}
    assert by["hang"].error_kind is ErrorKind.TIMEOUT and by["hang"].status == 200
    assert by["hang"].headers_s is not None and by["hang"].ttft_s is None
    assert by["ok"].ok


async def test_probe_errors_keep_status_and_retry_after():
    error = ProbeError(ErrorKind.RATE_LIMIT, "429 Too Many Requests", status=429, retry_after_s=12.0)
    run = await Runner([ScriptedTarget("limited", error=error)], settings=ProbeSettings(timeout_s=5)).run()
    (r,) = run.results
    assert r.error_kind is ErrorKind.RATE_LIMIT and r.status == 429 and r.retry_after_s == 12.0


async def test_checks_turn_ok_into_check_failed():
    targets = [ScriptedTarget("yes", answer=("I am GPT",)), ScriptedTarget("no", answer=("Nope",))]
    run = await Runner(targets, settings=ProbeSettings(timeout_s=5), checks=[expect_regex("gpt"), max_total(30)]).run()
    by = {r.target: r for r in run.results}
    assert by["yes"].ok
    assert by["no"].error_kind is ErrorKind.CHECK_FAILED and "does not match" in by["no"].error


def test_bad_regex_is_a_clear_error():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        expect_regex("(")


async def test_requirements():
    run = await Runner([ScriptedTarget("up"), ScriptedTarget("down", error=RuntimeError("x"))],
                       settings=ProbeSettings(timeout_s=5)).run()
    assert Requirements(("UP",), 1).unmet(run) == []
    assert Requirements(("down",), 0).unmet(run) == ["required target down did not answer"]
    assert Requirements(("ghost",), 3).unmet(run) == [
        "required target ghost was not probed",
        "only 1 answered, --min-ok requires 3",
    ]


async def test_interrupted_run_keeps_finished_results_and_marks_the_rest_cancelled():
    runner = Runner([ScriptedTarget("done"), ScriptedTarget("stuck", delay_s=60)],
                    settings=ProbeSettings(timeout_s=120))
    task = asyncio.ensure_future(runner.run())
    while not runner.results:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    run = runner.snapshot()
    assert not run.complete
    by = {r.target: r for r in run.results}
    assert by["done"].ok
    assert by["stuck"].error_kind is ErrorKind.CANCELLED


async def test_a_failing_consumer_does_not_lose_results(capsys):
    def broken(_result):
        raise OSError("disk full")

    run = await Runner([ScriptedTarget("a"), ScriptedTarget("b")], settings=ProbeSettings(timeout_s=5),
                       on_result=broken).run()
    assert run.ok_count == 2
    assert "disk full" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs", [{"timeout_s": 0}, {"concurrency": 0}, {"repeat": 0}, {"timeout_s": "soon"}])
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError, match=f"^{next(iter(kwargs))}"):
        ProbeSettings(**kwargs)
    with pytest.raises(TypeError, match="settings must be a ProbeSettings"):
        Runner([], settings=kwargs)


async def test_the_settings_checks_are_applied_and_recorded():
    settings = ProbeSettings(timeout_s=5, expect="gpt", max_total_s=30)
    run = await Runner([ScriptedTarget("yes", answer="I am GPT"), ScriptedTarget("no", answer="Nope")],
                       settings=settings).run()
    assert {r.target: r.error_kind for r in run.results} == {"yes": None, "no": ErrorKind.CHECK_FAILED}
    assert run.settings is settings and run.to_dict()["run"]["settings"]["expect"] == "gpt"
    # A failed check is an unmet requirement (exit 1), named with the first answer that failed.
    assert Requirements.of(settings).unmet(run) == [
        "1 answer(s) failed a check; first: no [m]: CheckFailed: answer does not match /gpt/"]


async def test_dispatch_delay_counts_as_queue_time_not_latency():
    target = ScriptedTarget("dispatch", dispatch_s=0.2, status=None, usage=False)
    run = await Runner([target], settings=ProbeSettings(timeout_s=5)).run()
    (r,) = run.results
    assert r.queue_s >= 0.2
    assert r.total_s < r.queue_s  # the provider itself answered at once


async def test_long_answers_are_counted_whole_but_kept_bounded():
    from rollcall.probe import KEEP_TEXT_CHARS

    target = ScriptedTarget("long", answer=("x" * 1000,) * 300)
    (r,) = (await Runner([target], settings=ProbeSettings(timeout_s=5)).run()).results
    assert r.ok and r.output_chars == 300_000
    assert len(r.text) == KEEP_TEXT_CHARS
