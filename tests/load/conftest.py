"""Load-test fixtures: one simulator for the module (real sockets on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollcall.sim import Behaviour, Fault, Fleet, run_sim_in_thread

FLEET = Fleet({
    "quick": Behaviour(ttft_s=0.02, tokens_per_s=1000, answer_tokens=8),
    "slow": Behaviour(ttft_s=0.2, tokens_per_s=100, answer_tokens=5),
    "thinker": Behaviour(ttft_s=0.02, tokens_per_s=1000, answer_tokens=4, reasoning_tokens=3),
    "broken": Behaviour(status=500),
    "limited": Behaviour(status=429, retry_after_s=3),
    "silent": Behaviour(fault=Fault.HANG),
})


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with run_sim_in_thread(FLEET, seed=3) as base_url:
        yield base_url
