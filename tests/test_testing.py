"""rollcall.testing: scripted in-process targets behave as their script says, through the runner."""

from __future__ import annotations

import asyncio

from rollcall import Content, ErrorKind, ProbeRequest, ProbeSettings, Runner, Usage
from rollcall.probe import run_probe
from rollcall.testing import ScriptedTarget


async def test_latency_answer_reasoning_and_usage() -> None:
    target = ScriptedTarget("t", answer=["Hello", " there"], reasoning="hmm", delay_s=0.05, gap_s=0.01)
    (r,) = (await Runner([target], settings=ProbeSettings(timeout_s=5)).run()).results
    assert r.ok and r.text == "Hello there" and r.reasoning == "hmm"
    assert r.status == 200 and r.ttft_s >= 0.05 and r.output_tokens == 2 and not r.output_tokens_estimated
    assert target.calls == 1 and target.closed


async def test_failures_hangs_and_a_gate() -> None:
    gate = asyncio.Event()
    targets = [
        ScriptedTarget("half", answer=["a", "b", "c"], error=ConnectionResetError("reset"), error_after=2),
        ScriptedTarget("stuck", hang=True),
        ScriptedTarget("gated", gate=gate),
    ]
    runner = Runner(targets, settings=ProbeSettings(timeout_s=0.5))
    task = asyncio.ensure_future(runner.run())
    while not runner.results:
        await asyncio.sleep(0.01)
    assert sorted(ScriptedTarget.running) == ["gated", "stuck"]  # both waiting, one for its gate
    gate.set()
    run = await task
    by = {r.target: r for r in run.results}
    assert by["half"].error_kind is ErrorKind.CONNECT and by["half"].output_chars == 2  # two pieces came first
    assert by["stuck"].error_kind is ErrorKind.TIMEOUT and by["stuck"].headers_s is not None
    assert by["gated"].ok and ScriptedTarget.running == []


async def test_a_script_is_replayed_with_exact_stamps() -> None:
    target = ScriptedTarget(script=[(0.05, Content("a")), (0.1, Content("b")), (0.1, Usage(None, 2))])
    stamps = []
    async for event in target.stream(ProbeRequest()):
        stamps.append(event.at)
    assert [round(b - stamps[0], 6) for b in stamps] == [0.0, 0.05, 0.1, 0.1]
    result = await run_probe(ScriptedTarget(script=[(0.05, Content("x"))]), ProbeRequest(), timeout_s=5)
    assert result.ok and abs(result.ttft_s - 0.05) < 1e-6  # measured from the script's own stamps


async def test_counters_see_the_concurrency_bound() -> None:
    target = ScriptedTarget("one", models=("a", "b", "c", "d"), delay_s=0.05)
    await Runner([target], settings=ProbeSettings(timeout_s=5, concurrency=2)).run()
    assert target.calls == 4 and target.max_active == 2 and target.active == 0
