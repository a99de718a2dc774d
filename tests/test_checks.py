"""Answer checks: a hostile --expect pattern is bounded by the probe's deadline, runs off the
event loop, and a check that cannot finish is a clear check_failed; the other probes go on."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from g4f_env import offline_g4f_env

from rollcall.checks import apply, expect_regex, max_total
from rollcall.models import ErrorKind, ProbeResult
from rollcall.runner import Runner
from rollcall.settings import ProbeSettings
from rollcall.sim import Behaviour, Fleet, run_sim_in_thread
from rollcall.targets.openai import OpenAITarget

# Backtracks for far longer than any test runs, in `re` and in `regex` alike.
CATASTROPHIC = r"(a|aa)+$|hello"
HOSTILE_ANSWER = "a" * 60 + "!"


def answer(text: str) -> ProbeResult:
    return ProbeResult(target="t", kind="k", model="m", ok=True, text=text, total_s=0.1)


def test_plain_and_bounded_checks_apply_alike():
    checks = [expect_regex("gpt"), max_total(30)]
    assert apply(answer("I am GPT"), checks).ok
    failed = apply(answer("nope"), checks)
    assert failed.error_kind is ErrorKind.CHECK_FAILED and failed.error == "CheckFailed: answer does not match /gpt/"


def test_a_pattern_that_cannot_finish_fails_the_answer_at_its_deadline():
    late = apply(answer(HOSTILE_ANSWER), [expect_regex(CATASTROPHIC)], deadline=time.perf_counter() + 0.2)
    assert late.error_kind is ErrorKind.CHECK_FAILED
    assert late.error == f"CheckFailed: matching /{CATASTROPHIC}/ did not finish within the probe's deadline"
    spent = apply(answer("hello"), [expect_regex("hello")], deadline=time.perf_counter() - 1)
    assert "did not finish" in (spent.error or "")  # no time left: not even tried


@pytest.fixture(scope="module")
def sim_url():
    fleet = Fleet({"hostile": Behaviour(ttft_s=0, tokens_per_s=0, text=HOSTILE_ANSWER),
                   "slow-hello": Behaviour(ttft_s=0.3, tokens_per_s=50, text="hello there friend")})
    with run_sim_in_thread(fleet, seed=1) as base_url:
        yield base_url


@pytest.mark.timeout(60)  # on a `re` that holds the GIL this run never ends
async def test_a_stuck_check_neither_blocks_other_probes_nor_outlives_the_deadline(sim_url):
    target = OpenAITarget("sim", sim_url, models=("hostile", "slow-hello"))
    run = await Runner([target], settings=ProbeSettings(timeout_s=2), checks=[expect_regex(CATASTROPHIC)]).run()
    by = {r.model: r for r in run.results}
    # The slow answer arrives while the hostile check is matching: it is still measured and passes.
    assert by["slow-hello"].ok, by["slow-hello"].error
    assert by["hostile"].error_kind is ErrorKind.CHECK_FAILED
    assert "did not finish within the probe's deadline" in (by["hostile"].error or "")


@pytest.mark.timeout(60)
def test_expect_on_the_command_line(sim_url, tmp_path):
    config = tmp_path / "rollcall.toml"
    config.write_text(f'[[target]]\nname = "sim"\nkind = "openai"\nbase_url = "{sim_url}"\n'
                      'models = ["hostile", "slow-hello"]\n')
    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", str(config), "--no-store", "--timeout", "2",
                           "--expect", CATASTROPHIC, "--json", "-"], capture_output=True, text=True,
                          env=offline_g4f_env(tmp_path), timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr  # an answer failed its check: the run failed
    kinds = {r["model"]: r["error_kind"] for r in json.loads(proc.stdout)["results"]}
    assert kinds == {"hostile": "check_failed", "slow-hello": None}


def test_bad_patterns_are_clear_errors():
    for pattern in ("(", "a{2,1}"):
        with pytest.raises(ValueError, match="not a valid regular expression"):
            expect_regex(pattern)
