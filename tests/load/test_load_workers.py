"""Shards in worker processes (`--workers N`): real processes against the simulator on loopback.
The split, the merge, a worker killed or frozen mid-stage (its in-flight requests lost, the stage
flagged, the run going on), a stop, and the target rebuilt from a recipe with its secrets."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal

import pytest

from load_helpers import sim_url  # noqa: F401 - the simulator fixture
from rollcall.load.prompts import FixedPrompt, SyntheticPrompts
from rollcall.load.processes import ProcessExecutor
from rollcall.load.record import RequestRecord
from rollcall.load.run import LoadRunner
from rollcall.load.schedule import arrivals, stage_seed
from rollcall.load.shard import plan_shards
from rollcall.load.sinks import BaseSink
from rollcall.load.spec import LoadSpec, StageSpec
from rollcall.load.target import Connection, TargetRecipe, resolve


class Keep(BaseSink):
    """Keeps every record, and calls `on_batch(stats)` for each batch (to strike mid-stage)."""

    def __init__(self, on_batch=None) -> None:
        self.kept: list[RequestRecord] = []
        self.on_batch = on_batch

    def records(self, batch, stats) -> None:  # type: ignore[override]
        self.kept.extend(batch)
        if self.on_batch is not None:
            self.on_batch(stats)


def recipe_for(url: str, model: str, spec: LoadSpec, **kw):
    return resolve(url, kind="openai", model=model, api_key_env=kw.pop("api_key_env", None), config=None,
                   connection=Connection(spec.max_in_flight), extra_body={})


async def run_workers(url: str, model: str, spec: LoadSpec, *, workers: int = 2, prompts=None, on_batch=None,
                      executor_hook=None, resolved=None) -> tuple[dict, list[RequestRecord], ProcessExecutor]:
    target, chosen, recipe = resolved or recipe_for(url, model, spec)
    prompts = prompts or FixedPrompt("hi")
    executor = ProcessExecutor(recipe, prompts.spec(), workers)
    if executor_hook is not None:
        executor_hook(executor)
    keep = Keep(on_batch and (lambda stats: on_batch(executor, stats)))
    runner = LoadRunner(target, spec, prompts, model=chosen, sinks=[keep], shards=workers, executor=executor)
    return await runner.run(), keep.kept, executor


def test_a_closed_loop_is_split_by_users_and_requests_follow_them() -> None:
    spec = LoadSpec(mode="concurrency", values=(1, 3), requests=10, warmup=3)
    one = plan_shards(spec, StageSpec(0, "concurrency", 1), shards=4, start_at=0.0, model="m")
    assert [(p.users, p.requests, p.warmup, p.shards) for p in one] == [(1, 10, 3, 1)]
    three = plan_shards(spec, StageSpec(1, "concurrency", 3), shards=2, start_at=0.0, model="m")
    assert [(p.users, p.requests, p.warmup) for p in three] == [(2, 7, 2), (1, 3, 1)]
    assert sum(p.requests for p in three) == 10 and all(p.shards == 2 for p in three)


async def test_workers_merge_into_one_stage(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(4,), requests=24, warmup=2)
    doc, records, executor = await run_workers(sim_url, "quick", spec)
    (stage,) = doc["stages"]
    assert doc["complete"] and doc["settings"]["executor"] == "processes" and doc["settings"]["shards"] == 2
    assert (stage["requests"], stage["ok"], stage["warmup"], stage["shards"], stage["lost"]) == (24, 24, 2, 2, 0)
    assert sorted(r.number for r in records) == list(range(26))  # every request once, numbered densely
    assert {r.shard for r in records} == {0, 1}
    assert stage["max_in_flight"] == 4 and stage["client_cpu_s"] > 0
    assert stage["ttft_s"]["n"] == 24 and stage["e2e_s"]["p50"] > 0.02  # measured in the workers


async def test_worker_shards_send_the_one_process_schedule(sim_url: str) -> None:
    spec = LoadSpec(mode="rate", values=(60.0,), requests=30, seed=4)
    prompts = SyntheticPrompts(16, 4, seed=4)  # travels as a spec, rebuilt in each worker
    doc, records, _ = await run_workers(sim_url, "quick", spec, prompts=prompts)
    assert doc["stages"][0]["ok"] == 30 and {r.shard for r in records} == {0, 1}
    assert all(r.shard == r.number % 2 for r in records)
    schedule = list(itertools.islice(arrivals(60.0, 1.0, stage_seed(4, 0)), 30))
    assert [round(r.scheduled_s, 6) for r in sorted(records, key=lambda r: r.number)] == [round(t, 6) for t in schedule]


async def test_a_worker_killed_mid_stage_loses_its_requests_and_the_run_goes_on(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(4, 6), requests=40)
    killed: list[int] = []
    later: list[int] = []

    def kill_once(executor: ProcessExecutor, stats) -> None:
        if not killed and stats.stage.index == 0:
            killed.append(executor.pids[0])
            os.kill(killed[0], signal.SIGKILL)
        elif stats.stage.index == 1 and not later:
            later.extend(executor.pids)

    doc, records, executor = await run_workers(sim_url, "slow", spec, on_batch=kill_once)
    first, second = doc["stages"]
    # Worker 1 had two users, each with a request on the wire when it last reported: lost, not counted,
    # the stage flagged (a record finished but not yet handed over is lost too: at most one per user).
    assert 2 <= first["lost"] <= 4 and first["partial"]
    assert first["requests"] + first["lost"] <= 40
    assert first["shard_failures"] == [f"worker 1 (pid {killed[0]}) was killed by SIGKILL"]
    assert 0 < first["requests"] < 40 and first["ok"] == first["requests"]
    # The next stage had a new worker 1 and is whole.
    assert not second["partial"] and second["lost"] == 0 and second["requests"] == 40 and second["shards"] == 2
    assert len(later) == 2 and killed[0] not in later  # a new process stood in for worker 1
    assert not doc["complete"] and doc["totals"]["lost"] == first["lost"]


async def test_a_frozen_worker_is_killed_by_the_watchdog(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(2,), requests=30)
    frozen: list[int] = []

    def freeze_once(executor: ProcessExecutor, stats) -> None:
        if not frozen:
            frozen.append(executor.pids[1])
            os.kill(frozen[0], signal.SIGSTOP)

    def quick_watchdog(executor: ProcessExecutor) -> None:
        executor.heartbeat_timeout_s = 1.0

    doc, _, _ = await run_workers(sim_url, "slow", spec, on_batch=freeze_once, executor_hook=quick_watchdog)
    (stage,) = doc["stages"]
    assert stage["shard_failures"] == [f"worker 2 (pid {frozen[0]}) sent nothing for 1 s and was killed"]
    assert 1 <= stage["lost"] <= 2 and stage["partial"]
    with pytest.raises(ProcessLookupError):
        os.kill(frozen[0], 0)  # killed and reaped, not left stopped


async def test_a_stop_cuts_every_worker_gently(sim_url: str) -> None:
    spec = LoadSpec(mode="concurrency", values=(4, 8), requests=400)
    runner_box: list[LoadRunner] = []

    async def main() -> dict:
        target, chosen, recipe = recipe_for(sim_url, "slow", spec)
        executor = ProcessExecutor(recipe, FixedPrompt("hi").spec(), 2)
        keep = Keep(lambda stats: runner_box[0].interrupt("SIGINT") if len(keep.kept) >= 8 else None)
        runner = LoadRunner(target, spec, FixedPrompt("hi"), model=chosen, sinks=[keep], shards=2, executor=executor)
        runner_box.append(runner)
        return await runner.run()

    doc = await asyncio.wait_for(main(), 60)
    (stage,) = doc["stages"]  # the second stage never started
    assert doc["interrupted"] == "SIGINT" and stage["partial"]
    assert stage["cancelled"] == 4 and stage["lost"] == 0 and not stage["shard_failures"]


async def test_the_recipe_carries_the_key_and_workers_scrub_it(sim_url: str, monkeypatch) -> None:
    key = "sk-worker-recipe-0123456789abcdef"
    monkeypatch.setenv("LOAD_WORKER_KEY", key)
    spec = LoadSpec(mode="concurrency", values=(2,), requests=4)
    # This model fails with a message quoting the request's API key: the worker must scrub it.
    resolved = recipe_for(sim_url, "sim:status=401,echo_key=true", spec, api_key_env="LOAD_WORKER_KEY")
    recipe = resolved[2]
    assert isinstance(recipe, TargetRecipe) and recipe.api_key == key and key in recipe.secrets
    assert key not in repr(recipe)
    monkeypatch.delenv("LOAD_WORKER_KEY")  # the workers need only the recipe
    doc, records, _ = await run_workers(sim_url, "", spec, resolved=resolved)
    assert doc["stages"][0]["errors"] == {"auth": 4}
    assert records and all(key not in (r.error or "") for r in records)
    assert "***" in records[0].error


def test_the_cli_splits_over_workers_and_says_when_ray_is_missing(tmp_path, sim_url: str) -> None:
    import json
    import subprocess
    import sys

    from g4f_env import offline_g4f_env

    env = offline_g4f_env(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "rollcall", "load", sim_url, "-m", "quick", "--rate", "40",
                           "-n", "12", "--workers", "3", "--no-store", "--json", "-"],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["settings"]["executor"], doc["settings"]["workers"], doc["settings"]["shards"]) == ("processes", 3, 3)
    assert doc["stages"][0]["shards"] == 3 and doc["stages"][0]["ok"] == 12
    # Without Ray installed (hidden here), --ray is one friendly line, no traceback.
    hide_ray = "import sys; sys.modules['ray'] = None; from rollcall.cli import main; sys.argv[0] = 'rollcall'; main()"
    proc = subprocess.run([sys.executable, "-c", hide_ray, "load", sim_url, "-m", "quick", "--rate", "40", "-n", "2",
                           "--no-store", "--ray"], capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == ("rollcall: error: --ray: Ray is not installed; install it with: "
                                                     "pip install 'rollcall[ray]'")
    assert "Traceback" not in proc.stderr


async def test_a_worker_that_cannot_build_its_target_stops_the_run_before_it_starts() -> None:
    from rollcall.load.remote import WorkerError

    recipe = TargetRecipe(ref="http://127.0.0.1:9/v1", kind="no-such-kind", model="m", connection=Connection(4))
    executor = ProcessExecutor(recipe, FixedPrompt("hi").spec(), 2)
    with pytest.raises(WorkerError, match=r"^worker [12] \(pid \d+\) could not start: SpecError: --kind must be one "
                                          r"of .*\bopenai, got 'no-such-kind'") as raised:
        await executor.start()
    assert executor.handles == []
    pid = int(re.search(r"pid (\d+)", str(raised.value)).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended and reaped
