"""Shared pieces of the load tests (tests/load/, tests/store/): a simulator fixture, scripted
targets whose events carry exact arrival stamps (rollcall.testing), hand-made records and whole
documents.

A module that needs the simulator imports the fixture: `from load_helpers import sim_url`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from rollcall.load.record import RequestRecord
from rollcall.sim import Behaviour, Fault, Fleet, run_sim_in_thread
from rollcall.targets.base import Content
from rollcall.testing import ScriptedTarget

FLEET = Fleet({
    "quick": Behaviour(ttft_s=0.02, tokens_per_s=1000, answer_tokens=8),
    "slow": Behaviour(ttft_s=0.2, tokens_per_s=100, answer_tokens=5),
    "thinker": Behaviour(ttft_s=0.02, tokens_per_s=20, answer_tokens=2, reasoning_tokens=2),
    "broken": Behaviour(status=500),
    "limited": Behaviour(status=429, retry_after_s=3),
    "silent": Behaviour(fault=Fault.HANG),
})


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    """A simulator on loopback for the test module (real sockets)."""
    with run_sim_in_thread(FLEET, seed=3) as base_url:
        yield base_url


def Scripted(script: Sequence[tuple[float, Any]], *, error: BaseException | None = None,  # noqa: N802
             hang: bool = False) -> ScriptedTarget:
    """A target that plays `script`: (seconds after the call began, event) pairs, each delivered at
    that offset and stamped with it exactly; then raises `error` or hangs when asked to."""
    return ScriptedTarget(models=("",), script=script, error=error, hang=hang, kind="fake")


def content(*offsets: float, text: str = "tok ") -> list[tuple[float, Content]]:
    return [(t, Content(text)) for t in offsets]


def record(**fields: Any) -> RequestRecord:
    """A measured, successful request unless fields say otherwise."""
    values: dict[str, Any] = dict(
        stage=0, shard=0, number=0, warmup=False, scheduled_s=0.0, sent_s=0.0, queue_s=0.0, lateness_s=0.0,
        sent_at=1_700_000_000.0, ok=True, ttft_s=0.1, ttfo_s=0.1, e2e_s=1.0, tpot_s=0.01, itl_s=[0.01, 0.02],
        output_tokens=10,
    )
    values.update(fields)
    if not values["ok"]:
        values.setdefault("error_kind", "timeout")
    return RequestRecord(**values)


def make_doc(values=(1, 8), *, mode: str = "concurrency", target: str = "local", model: str = "m",
             ttft=(0.1, 0.12), rps_records=(10, 40), fail=(0, 0), lateness: float = 0.001,
             slo: dict | None = None, interrupted: str | None = None) -> dict:
    """A whole rollcall.load/1 document from hand-made records, one stage per value."""
    from rollcall.load import document
    from rollcall.load.spec import StageSpec
    from rollcall.load.stage import ShardSummary, StageStats, Timeline

    stages = []
    timeline = Timeline(1_700_000_000.0)
    for index, value in enumerate(values):
        stats = StageStats(StageSpec(index, mode, value), slo or {}, started_at=1_700_000_000.0 + index)
        n = rps_records[index]
        for i in range(n):
            failed = i < (fail[index] if index < len(fail) else 0)
            r = record(stage=index, number=i, sent_s=i / n, scheduled_s=i / n, e2e_s=0.5, ttft_s=ttft[index],
                       ttfo_s=ttft[index], lateness_s=lateness, ok=not failed, sent_at=1_700_000_000.0 + index + i / n,
                       **({"error_kind": "http_status", "error": "HTTP 503: busy"} if failed else {}))
            stats.add(r)
            timeline.add(r)
        stats.add_shard(ShardSummary(index, 0, 0.002, 0.1, n, n))
        stage = stats.result(partial=interrupted is not None and index == len(values) - 1)
        stage["cdf"] = stats.cdfs(11)
        stages.append(stage)
    return document.build(
        run_id="abc123def456", target=target, kind="openai", model=model, mode=mode,
        started_at="2026-01-01T00:00:00.000Z", ended_at="2026-01-01T00:01:00.000Z", wall_s=60.0,
        complete=interrupted is None, interrupted=interrupted, settings={"slo": slo or {}, "prompts": "fixed prompt"},
        stages=stages, timeline=timeline.to_dict(), version="0.1.0", site="lab",
    )
