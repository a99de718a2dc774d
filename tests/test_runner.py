"""The runner: fan-out, concurrency bound, queue time, repeats, checks, callbacks, interruption."""

from __future__ import annotations

import asyncio

import pytest

from rollcall import Content, ErrorKind, Headers, ProbeError, Runner, Usage
from rollcall.checks import Requirements, expect_regex, max_total


class ScriptedTarget:
    """An in-process target: waits, then streams words (or raises)."""

    kind = "fake"

    def __init__(self, name, *, delay=0.0, words=("hi",), models=("m",), error=None, gate=None):
        self.name, self.delay, self.words, self.models, self.error, self.gate = name, delay, words, models, error, gate
        self.active = 0
        self.max_active = 0
        self.calls = 0
        self.closed = False

    async def stream(self, request):
        self.calls += 1
        ScriptedTarget.running.append(self.name)
        try:
            yield Headers(200)
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.delay)
            if self.error:
                raise self.error
            for word in self.words:
                yield Content(word)
            yield Usage(completion_tokens=len(self.words))
        finally:
            ScriptedTarget.running.remove(self.name)

    async def aclose(self):
        self.closed = True

    running: list[str] = []


async def test_all_targets_run_concurrently_and_results_arrive_as_they_finish():
    seen = []
    targets = [ScriptedTarget("slow", delay=0.3), ScriptedTarget("fast", delay=0.0)]
    run = await Runner(targets, timeout_s=5, on_result=lambda r: seen.append(r.target)).run()
    assert seen == ["fast", "slow"]
    assert run.ok_count == 2 and run.complete
    assert all(t.closed for t in targets)
    # Wall time follows the slowest probe, not the sum (0.3 s, not 0.3 + ...): behavioural bound.
    assert run.wall_s < 0.3 + 2.0


async def test_concurrency_bound_and_queue_time_is_measured_apart():
    gate = asyncio.Event()
    targets = [ScriptedTarget(f"t{i}", gate=gate) for i in range(5)]
    runner = Runner(targets, timeout_s=5, concurrency=2)
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
    run = await Runner([target], timeout_s=5, repeat=3).run()
    assert len(run.results) == 6 and target.calls == 6
    assert sorted({(r.model, r.attempt) for r in run.results}) == [(m, a) for m in "ab" for a in (1, 2, 3)]
    stats = {s.model: s for s in run.stats()}
    assert stats["a"].runs == 3 and stats["a"].ok == 3 and stats["a"].success_rate == 1.0
    assert stats["a"].total_p50_s is not None and stats["a"].total_p90_s >= stats["a"].total_p50_s


async def test_deadline_per_probe():
    run = await Runner([ScriptedTarget("hang", delay=60), ScriptedTarget("ok")], timeout_s=0.3).run()
    by = {r.target: r for r in run.results}
    assert by["hang"].error_kind is ErrorKind.TIMEOUT and by["hang"].status == 200
    assert by["hang"].headers_s is not None and by["hang"].ttft_s is None
    assert by["ok"].ok


async def test_probe_errors_keep_status_and_retry_after():
    error = ProbeError(ErrorKind.RATE_LIMIT, "429 Too Many Requests", status=429, retry_after_s=12.0)
    run = await Runner([ScriptedTarget("limited", error=error)], timeout_s=5).run()
    (r,) = run.results
    assert r.error_kind is ErrorKind.RATE_LIMIT and r.status == 429 and r.retry_after_s == 12.0


async def test_checks_turn_ok_into_check_failed():
    targets = [ScriptedTarget("yes", words=("I am GPT",)), ScriptedTarget("no", words=("Nope",))]
    run = await Runner(targets, timeout_s=5, checks=[expect_regex("gpt"), max_total(30)]).run()
    by = {r.target: r for r in run.results}
    assert by["yes"].ok
    assert by["no"].error_kind is ErrorKind.CHECK_FAILED and "does not match" in by["no"].error


def test_bad_regex_is_a_clear_error():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        expect_regex("(")


async def test_requirements():
    run = await Runner([ScriptedTarget("up"), ScriptedTarget("down", error=RuntimeError("x"))], timeout_s=5).run()
    assert Requirements(("UP",), 1).unmet(run) == []
    assert Requirements(("down",), 0).unmet(run) == ["required target down did not answer"]
    assert Requirements(("ghost",), 3).unmet(run) == [
        "required target ghost was not probed",
        "only 1 answered, --min-ok requires 3",
    ]


async def test_interrupted_run_keeps_finished_results_and_marks_the_rest_cancelled():
    runner = Runner([ScriptedTarget("done"), ScriptedTarget("stuck", delay=60)], timeout_s=120)
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

    run = await Runner([ScriptedTarget("a"), ScriptedTarget("b")], timeout_s=5, on_result=broken).run()
    assert run.ok_count == 2
    assert "disk full" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs", [{"timeout_s": 0}, {"concurrency": 0}, {"repeat": 0}])
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        Runner([], **kwargs)


class SlowDispatch:
    """A target whose call really starts 0.2 s late (like waiting for a worker thread)."""

    name, kind, models = "dispatch", "fake", ("m",)

    async def stream(self, request):
        import time

        from rollcall import Started

        await asyncio.sleep(0.2)
        yield Started(at=time.perf_counter())
        yield Content("hi")

    async def aclose(self):
        return None


async def test_dispatch_delay_counts_as_queue_time_not_latency():
    run = await Runner([SlowDispatch()], timeout_s=5).run()
    (r,) = run.results
    assert r.queue_s >= 0.2
    assert r.total_s < r.queue_s  # the provider itself answered at once


async def test_long_answers_are_counted_whole_but_kept_bounded():
    from rollcall.probe import KEEP_TEXT_CHARS

    target = ScriptedTarget("long", words=("x" * 1000,) * 300)
    (r,) = (await Runner([target], timeout_s=5).run()).results
    assert r.ok and r.output_chars == 300_000
    assert len(r.text) == KEEP_TEXT_CHARS
