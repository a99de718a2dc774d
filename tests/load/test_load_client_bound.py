"""A client that cannot keep up says so: a load run whose event loop is starved (something else
blocks it, as a CPU-bound neighbour or a busy machine would) flags its stage client-bound in the
document, with the reasons. Whether an easy stage stays unflagged depends on the machine, so that
is measured in bench/ and the rule itself is tested on numbers in test_load_stage.py."""

from __future__ import annotations

import asyncio
import time

from load_helpers import sim_url  # noqa: F401 - the simulator fixture
from rollcall.load.prompts import FixedPrompt
from rollcall.load.run import LoadRunner
from rollcall.load.spec import LoadSpec
from rollcall.load.target import Connection, url_target


async def starve(stop: asyncio.Event, block_s: float = 0.08, every_s: float = 0.1) -> None:
    """Block the event loop for block_s out of every every_s (time.sleep keeps the GIL free, so the
    simulator thread is not slowed: only this loop is)."""
    while not stop.is_set():
        time.sleep(block_s)
        await asyncio.sleep(every_s - block_s)


async def test_a_starved_client_is_flagged_client_bound(sim_url: str) -> None:
    spec = LoadSpec(mode="rate", values=(100.0,), requests=60, burstiness=100.0)
    target = url_target(sim_url, kind="openai", model="quick", api_key_env=None, connection=Connection(64))
    runner = LoadRunner(target, spec, FixedPrompt("hi"), model="quick")
    stop = asyncio.Event()
    hog = asyncio.ensure_future(starve(stop))
    try:
        doc = await runner.run()
    finally:
        stop.set()
        await hog
    (stage,) = doc["stages"]
    assert stage["ok"] == 60
    assert stage["client_bound"], stage["client_bound_reasons"]
    assert stage["loop_lag_max_s"] > 0.05 and stage["send_lateness_s"]["p99"] > 0.01
    reasons = " ".join(stage["client_bound_reasons"])
    assert "late at p99" in reasons and "event loop lagged" in reasons
    assert doc["totals"]["client_bound_stages"] == [0]
