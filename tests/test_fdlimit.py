"""rollcall's own open-file limit: `rollcall run -j 600` under `prlimit --nofile=256` (a real
process, a real limit, the simulator on loopback) never blames a provider for it."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env

from rollcall.fdlimit import OUT_OF_FILES, exhausted_locally, fit_concurrency
from rollcall.sim import Behaviour, Fleet, run_sim_in_thread

MODELS = [f"m{i:03d}" for i in range(600)]
FLEET = Fleet({name: Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=3) for name in MODELS})

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")


@pytest.fixture(scope="module")
def sim_url():
    # In the test process: the server's descriptors do not count against the limited run.
    with run_sim_in_thread(FLEET, seed=1) as base_url:
        yield base_url


def _run_limited(tmp_path: Path, sim_url: str, nofile: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    config = tmp_path / "rollcall.toml"
    config.write_text(
        f'[[target]]\nname = "sim"\nkind = "openai"\nbase_url = "{sim_url}"\nmodels = {json.dumps(MODELS)}\n'
    )
    out = tmp_path / "run.json"
    proc = subprocess.run(
        ["prlimit", f"--nofile={nofile}", "--", sys.executable, "-m", "rollcall", "run", "-c", str(config),
         "-j", "600", "-t", "60", "--no-store", "-q", "--json", str(out)],
        capture_output=True, text=True, env=offline_g4f_env(tmp_path), timeout=300, stdin=subprocess.DEVNULL,
    )
    return proc, (json.loads(out.read_text(encoding="utf-8")) if out.exists() else {})


def test_the_soft_limit_is_raised_to_the_hard_limit(tmp_path, sim_url) -> None:
    proc, doc = _run_limited(tmp_path, sim_url, "256:8192")
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    assert [r["error_kind"] for r in doc["results"]] == [None] * 600
    assert doc["run"]["settings"]["concurrency"] == 600


def test_a_hard_limit_too_low_caps_concurrency_and_says_so_once(tmp_path, sim_url) -> None:
    proc, doc = _run_limited(tmp_path, sim_url, "256:256")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "256 files" in warnings[0] and "instead of 600" in warnings[0], proc.stderr
    assert [r["error_kind"] for r in doc["results"]] == [None] * 600  # no provider blamed
    assert 1 <= doc["run"]["settings"]["concurrency"] < 600


RUNNER_WITHOUT_CAP = """
import asyncio, collections, json, sys
from rollcall import HttpClient, OpenAITarget, ProbeSettings, Runner
models = [f"m{i:03d}" for i in range(600)]
target = OpenAITarget("sim", sys.argv[1], models=models, client=HttpClient(limit=600))
run = asyncio.run(Runner([target], settings=ProbeSettings(timeout_s=60, concurrency=600)).run())
print(json.dumps(collections.Counter(f"{r.error_kind}: {r.error}" for r in run.results)))
"""


def test_a_probe_that_still_runs_out_of_descriptors_is_cancelled_not_blamed(tmp_path, sim_url) -> None:
    # The library Runner, not the CLI: nothing caps concurrency, so probes do hit EMFILE.
    proc = subprocess.run(
        ["prlimit", "--nofile=128:128", "--", sys.executable, "-c", RUNNER_WITHOUT_CAP, sim_url],
        capture_output=True, text=True, env=offline_g4f_env(tmp_path), timeout=300, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert set(counts) <= {"None: None", f"cancelled: {OUT_OF_FILES}"}, counts
    assert counts.get(f"cancelled: {OUT_OF_FILES}", 0) > 0  # the limit was really hit


def test_exhaustion_is_recognised_through_wrapping_exceptions() -> None:
    local = OSError(errno.EMFILE, "Too many open files")
    wrapped = ConnectionError("cannot connect")
    wrapped.__context__ = local
    holder = type("ClientConnectorError", (Exception,), {})("x")
    holder.os_error = OSError(errno.ENFILE, "Too many open files in system")
    assert exhausted_locally(local) and exhausted_locally(wrapped) and exhausted_locally(holder)
    # The same words from a server are the provider's problem, not ours.
    assert not exhausted_locally(RuntimeError("HTTP 500: Too many open files"))
    assert not exhausted_locally(OSError(errno.ECONNREFUSED, "Connection refused"))


def test_fit_concurrency_keeps_a_request_the_limit_allows() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        budget = fit_concurrency(4)
        assert budget.concurrency == 4 and budget.warning is None
        assert budget.soft is None or budget.soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
