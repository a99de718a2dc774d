"""Shards against the real simulator: closed-loop in-flight counts, warm-up by send time, sharded
open-loop schedules that merge into the one-process stage, duration-bounded stages, interrupts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from load_helpers import sim_url  # noqa: F401 - the simulator fixture
from rollcall.load.prompts import FixedPrompt
from rollcall.load.record import RequestRecord
from rollcall.load.run import LoadRunner
from rollcall.load.schedule import arrivals, stage_seed
from rollcall.load.sinks import BaseSink
from rollcall.load.spec import LoadSpec
from rollcall.load.target import Connection, url_target
from rollcall.targets.base import Event, ProbeRequest


class Counting:
    """Wraps a target and notes how many calls were in flight as each one began."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.kind, self.models = inner.name, inner.kind, inner.models
        self.in_flight = 0
        self.seen: list[int] = []

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        self.seen.append(self.in_flight)
        self.in_flight += 1
        try:
            async for event in self.inner.stream(request):
                yield event
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


class Keep(BaseSink):
    def __init__(self) -> None:
        self.kept: list[RequestRecord] = []

    def records(self, batch, stats) -> None:  # type: ignore[override]
        self.kept.extend(batch)


def target_for(url: str, model: str, spec: LoadSpec):
    return url_target(url, kind="openai", model=model, api_key_env=None, connection=Connection(spec.max_in_flight))


async def run(url: str, model: str, spec: LoadSpec, *, shards: int = 1, wrap=None) -> tuple[dict, list[RequestRecord]]:
    keep = Keep()
    target = target_for(url, model, spec)
    if wrap is not None:
        target = wrap(target)
    runner = LoadRunner(target, spec, FixedPrompt("hi"), model=model, sinks=[keep], shards=shards)
    return await runner.run(), keep.kept


async def test_a_closed_loop_keeps_exactly_n_requests_in_flight(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(5,), requests=20)
    counting: list[Counting] = []
    doc, records = await run(sim_url, "slow", spec, wrap=lambda t: counting.append(Counting(t)) or counting[0])
    seen = counting[0].seen
    assert len(seen) == 20
    # The first five start together; every later one starts the moment another ended.
    assert seen == [min(i, 4) for i in range(20)]
    (stage,) = doc["stages"]
    assert stage["concurrency"] == 5 and stage["requests"] == 20 and stage["ok"] == 20
    assert stage["max_in_flight"] == 5
    assert sorted(r.number for r in records) == list(range(20))


async def test_warmup_requests_are_the_first_sent_and_left_out(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(2,), requests=8, warmup=4)
    doc, records = await run(sim_url, "quick", spec)
    warm = [r for r in records if r.warmup]
    measured = [r for r in records if not r.warmup]
    assert len(warm) == 4 and len(measured) == 8
    assert max(r.sent_s for r in warm) <= min(r.sent_s for r in measured)
    (stage,) = doc["stages"]
    assert stage["warmup"] == 4 and stage["requests"] == 8 and stage["ttft_s"]["n"] == 8


async def test_open_loop_shards_send_the_one_process_schedule(sim_url: str) -> None:
    spec = LoadSpec(mode="rate", values=(80.0,), requests=30, warmup=3, seed=5)
    one, records_one = await run(sim_url, "quick", spec)
    three, records_three = await run(sim_url, "quick", spec, shards=3)
    stage = three["stages"][0]
    assert stage["shards"] == 3 and stage["requests"] == 30 and stage["warmup"] == 3 and stage["ok"] == 30
    assert sorted(r.number for r in records_three) == list(range(33))
    assert all(r.shard == r.number % 3 for r in records_three)
    due = {r.number: round(r.scheduled_s, 6) for r in records_one}
    assert {r.number: round(r.scheduled_s, 6) for r in records_three} == due
    schedule = list(itertools.islice(arrivals(80.0, 1.0, stage_seed(5, 0)), 33))
    assert [due[n] for n in range(33)] == [round(t, 6) for t in schedule]


async def test_a_duration_bounds_the_stage_by_send_time(sim_url: str) -> None:
    spec = LoadSpec(mode="rate", values=(40.0,), requests=None, duration_s=0.5, warmup=2, seed=1)
    doc, records = await run(sim_url, "quick", spec)
    times = list(itertools.islice(arrivals(40.0, 1.0, stage_seed(1, 0)), 500))
    start = times[2]
    expected = sum(1 for t in times[2:] if t < start + 0.5)
    assert doc["stages"][0]["requests"] == expected and len(records) == expected + 2


async def test_a_closed_loop_duration_stops_new_requests(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(2,), requests=None, duration_s=0.6)
    doc, records = await run(sim_url, "slow", spec)
    first = min(r.sent_s for r in records)
    assert records and all(r.sent_s < first + 0.6 for r in records)
    assert doc["stages"][0]["requests"] == len(records)


async def test_reasoning_counts_for_ttft_not_ttfo(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(2,), requests=6)
    doc, records = await run(sim_url, "thinker", spec)
    assert all(r.ok and r.ttft_s <= r.ttfo_s and r.reasoning_chars > 0 for r in records)
    # Reasoning comes 100 ms before the answer; only a client stalled that long reads them together.
    assert sum(r.ttfo_s - r.ttft_s > 0.05 for r in records) >= 4
    assert all(not r.output_tokens_estimated for r in records)  # the simulator sends usage
    assert doc["stages"][0]["ttfo_s"]["p50"] > doc["stages"][0]["ttft_s"]["p50"]


async def test_every_request_failing_still_completes_every_stage(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(1, 3), requests=6)
    doc, records = await run(sim_url, "limited", spec)
    assert [s["requests"] for s in doc["stages"]] == [6, 6]
    assert all(s["ok"] == 0 and s["errors"] == {"rate_limit": 6} for s in doc["stages"])
    assert "HTTP 429" in doc["stages"][0]["error_examples"]["rate_limit"]
    assert doc["complete"] and doc["totals"] == {"requests": 12, "ok": 0, "failed": 12, "lost": 0, "client_bound_stages": []}


async def test_an_interrupt_cuts_the_stage_and_counts_what_was_in_flight(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(3, 6), requests=50, timeout_s=30)
    keep = Keep()
    target = target_for(sim_url, "slow", spec)
    runner = LoadRunner(target, spec, FixedPrompt("hi"), model="slow", sinks=[keep])
    task = asyncio.ensure_future(runner.run())
    while len(keep.kept) < 4:
        await asyncio.sleep(0.05)
    runner.interrupt("SIGINT")
    doc = await asyncio.wait_for(task, 10)
    assert doc["interrupted"] == "SIGINT" and not doc["complete"]
    (stage,) = doc["stages"]  # the second stage never started
    assert stage["partial"] and stage["cancelled"] == 3
    assert stage["requests"] == len(keep.kept) >= 4 and stage["ok"] == stage["requests"]


async def test_an_interrupt_of_a_hanging_target_leaves_no_request_behind(sim_url: str) -> None:
    spec = LoadSpec(mode="rate", values=(50.0,), requests=20, timeout_s=60)
    target = target_for(sim_url, "silent", spec)
    runner = LoadRunner(target, spec, FixedPrompt("hi"), model="silent")
    task = asyncio.ensure_future(runner.run())
    await asyncio.sleep(0.5)
    runner.interrupt("SIGTERM")
    doc = await asyncio.wait_for(task, 10)
    stage = doc["stages"][0]
    assert stage["partial"] and stage["requests"] == 0 and stage["cancelled"] >= 5


@pytest.mark.parametrize("max_concurrency", [2])
async def test_open_loop_cap_waits_are_queue_time_not_lateness(sim_url: str, max_concurrency: int) -> None:
    spec = LoadSpec(mode="rate", values=(200.0,), requests=12, max_concurrency=max_concurrency, burstiness=100.0)
    counting: list[Counting] = []
    doc, records = await run(sim_url, "slow", spec, wrap=lambda t: counting.append(Counting(t)) or counting[0])
    assert max(counting[0].seen) == max_concurrency - 1  # never more than the cap in flight
    stage = doc["stages"][0]
    assert stage["queue_s"]["p99"] > 0.2  # requests waited for a slot: about one request's time each
    assert max(r.queue_s for r in records) > max(r.lateness_s for r in records)
