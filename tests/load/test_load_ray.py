"""Shards on Ray actors (`--ray`): a local Ray, and a two-node cluster on loopback whose second node
is removed mid-stage. Ray is slow to start (4-7 s), so there are few tests, each with its own Ray.

Ray's node address is its machine's, unless told it is alone: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
(read when Ray is imported) makes every node use 127.0.0.1, so all of it stays on loopback.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from conftest import require_or_skip  # noqa: E402
from load_helpers import sim_url  # noqa: E402,F401 - the simulator fixture
from rollcall.load.prompts import FixedPrompt  # noqa: E402
from rollcall.load.ray_workers import RayExecutor, slots  # noqa: E402
from rollcall.load.run import LoadRunner  # noqa: E402
from rollcall.load.sinks import BaseSink  # noqa: E402
from rollcall.load.spec import LoadSpec  # noqa: E402
from rollcall.load.target import Connection, resolve  # noqa: E402

try:
    import ray
except ImportError:  # pragma: no cover - CI installs it (the test extra)
    ray = None

KEY_VAR = "LOAD_RAY_TEST_KEY"


@pytest.fixture
def keep_sigterm() -> Iterator[None]:
    """ray.init sets its own SIGTERM handler; put pytest's back afterwards."""
    require_or_skip(ray is not None, "Ray is not installed (pip install 'rollcall[ray]')")
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class Strike(BaseSink):
    """Calls `action()` once, on the first batch of stage `stage`."""

    def __init__(self, stage: int, action) -> None:
        self.stage, self.action, self.done = stage, action, False

    def records(self, batch, stats) -> None:  # type: ignore[override]
        if not self.done and stats.stage.index == self.stage:
            self.done = True
            self.action()


def executor_for(url: str, model: str, spec: LoadSpec, *, api_key_env: str | None = None):
    target, chosen, recipe = resolve(url, kind="openai", model=model, api_key_env=api_key_env, config=None,
                                     connection=Connection(spec.max_in_flight), extra_body={})
    return target, chosen, RayExecutor(recipe, FixedPrompt("hi").spec())


def test_slots_are_one_per_cpu_round_robin_over_nodes() -> None:
    nodes = [{"NodeID": "a", "Alive": True, "Resources": {"CPU": 3.0}},
             {"NodeID": "b", "Alive": True, "Resources": {"CPU": 1.0}},
             {"NodeID": "c", "Alive": False, "Resources": {"CPU": 8.0}},
             {"NodeID": "d", "Alive": True, "Resources": {}}]
    assert slots(nodes) == ["a", "b", "a", "a"]


async def test_actors_on_a_local_ray_get_the_key_explicitly_never_the_environment(
        sim_url: str, keep_sigterm: None, monkeypatch) -> None:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # Set only now, after Ray's processes started: the actors cannot have it from the environment.
        key = "sk-ray-explicit-0123456789abcdef"
        monkeypatch.setenv(KEY_VAR, key)
        spec = LoadSpec(mode="rate", values=(40.0,), requests=16)
        # The model fails quoting the key it was sent: the actors sent the key, and scrubbed it.
        target, model, executor = executor_for(sim_url, "sim:status=401,echo_key=true", spec, api_key_env=KEY_VAR)
        runner = LoadRunner(target, spec, FixedPrompt("hi"), model=model, executor=executor)
        doc = await runner.run()
        (stage,) = doc["stages"]
        assert doc["settings"]["executor"] == "ray" and doc["settings"]["workers"] == 2  # one per CPU
        assert stage["shards"] == 2 and stage["errors"] == {"auth": 16} and stage["lost"] == 0
        assert key not in str(doc) and "***" in stage["error_examples"]["auth"]

        @ray.remote(num_cpus=0)
        def environment_has_key() -> bool:
            return KEY_VAR in os.environ

        assert ray.get(environment_has_key.remote()) is False
    finally:
        ray.shutdown()


async def test_a_two_node_cluster_loses_a_node_mid_stage_and_goes_on(sim_url: str, keep_sigterm: None) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        second = cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False)
        spec = LoadSpec(mode="concurrency", values=(2, 4, 6), requests=20)
        # Each request ~0.65 s: stage 2 lasts ~3 s, longer than removing a node takes on a loaded
        # machine (with 0.25 s requests the stage could end before the node was gone).
        target, model, executor = executor_for(sim_url, "sim:ttft=0.6,tps=100,tokens=5", spec)
        strike = Strike(1, lambda: cluster.remove_node(second, allow_graceful=False))
        runner = LoadRunner(target, spec, FixedPrompt("hi"), model=model, executor=executor, sinks=[strike])
        placed: list[list[str]] = []
        run_stage = runner._run_stage

        async def noting_placement(stage):  # where the actors were when each stage began
            await executor.prepare()
            placed.append(list(executor.nodes))
            await run_stage(stage)

        runner._run_stage = noting_placement  # type: ignore[method-assign]
        doc = await runner.run()
        first, cut, last = doc["stages"]
        assert len(set(placed[0])) == 2  # one actor on each node
        assert first["ok"] == first["requests"] == 20 and first["shards"] == 2 and not first["partial"]
        # Stage 2: the second node's actor had two users with requests on the wire; lost, flagged.
        assert cut["partial"] and 2 <= cut["lost"] <= 4 and len(cut["shard_failures"]) == 1
        lost_actor = placed[1].index(second.node_id) + 1
        assert cut["shard_failures"][0].startswith(f"actor {lost_actor} on ")
        assert cut["ok"] == cut["requests"] < 20
        # Stage 3: the lost actor was replaced on the node that lives.
        assert len(set(placed[2])) == 1 and second.node_id not in placed[2]
        assert last["ok"] == last["requests"] == 20 and not last["partial"] and last["shards"] == 2
        assert not doc["complete"] and doc["totals"]["lost"] == cut["lost"]
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_the_cli_runs_its_workers_on_a_new_local_ray(tmp_path, sim_url: str, keep_sigterm: None) -> None:
    import json
    import subprocess
    import sys

    from g4f_env import offline_g4f_env

    env = {**offline_g4f_env(tmp_path), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.run([sys.executable, "-m", "rollcall", "load", sim_url, "-m", "quick", "--rate", "40", "-n", "12",
                           "--no-store", "--json", "-", "--ray", "local", "--workers", "2"],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["settings"]["executor"], doc["settings"]["workers"], doc["settings"]["nodes"]) == ("ray", 2, 1)
    assert doc["stages"][0]["ok"] == 12 and doc["stages"][0]["shards"] == 2
    assert "Traceback" not in proc.stderr
