"""From config to targets: only the absence of any config means "the g4f registry"."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from g4f_env import offline_g4f_env

from rollcall.config import parse_config
from rollcall.plan import SelectionError, build_plan

SKIPPED_ONLY = """
[[target]]
name = "groq"
kind = "openai"
base_url = "https://api.groq.com/openai/v1"
api_key = "${GROQ_KEY_FOR_PLAN_TEST}"
optional = true
"""


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("GROQ_KEY_FOR_PLAN_TEST", raising=False)


def test_a_config_whose_targets_were_all_skipped_probes_nothing():
    config = parse_config(SKIPPED_ONLY, "rollcall.toml")
    with pytest.raises(SelectionError) as info:
        build_plan(config)
    assert str(info.value) == ("rollcall.toml: no targets to probe (1 skipped: groq: environment variable "
                               "GROQ_KEY_FOR_PLAN_TEST is not set)")


def test_a_config_without_targets_probes_nothing():
    with pytest.raises(SelectionError, match=r"rollcall.toml: no targets to probe: the config has no \[\[target\]\]"):
        build_plan(parse_config("[defaults]\ntimeout = 5\n", "rollcall.toml"))


def test_named_providers_are_still_probed_beside_skipped_targets():
    plan = build_plan(parse_config(SKIPPED_ONLY, "rollcall.toml"),
                      flags={"providers": ("fake_providers:Answering",)})
    assert [t.name for t in plan.targets] == ["Answering"]
    assert [s.name for s in plan.skipped] == ["groq"]


@pytest.fixture
def env(tmp_path):
    return offline_g4f_env(tmp_path)


def rollcall(env, *args):
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("text, message", [
    (SKIPPED_ONLY, "no targets to probe (1 skipped: groq: environment variable GROQ_KEY_FOR_PLAN_TEST is not set)"),
    ("", "no targets to probe: the config has no [[target]] tables"),
])
def test_run_exits_2_instead_of_probing_the_public_registry(env, tmp_path, text, message):
    config = tmp_path / "rollcall.toml"
    config.write_text(text)
    proc = rollcall(env, "run", "-c", str(config), "--no-store", "--json", "-")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"rollcall: error: {config}: {message}")
    assert proc.stdout == ""  # nothing was probed, so no run document either


def test_the_default_config_file_counts_as_a_config(env, tmp_path):
    # ./rollcall.toml found by default is as much a config as -c: it must not fall back either.
    (tmp_path / "rollcall.toml").write_text(SKIPPED_ONLY)
    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "--no-store"], capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 2 and "rollcall.toml: no targets to probe (1 skipped: groq" in proc.stderr


def test_explicit_providers_run_beside_an_all_skipped_config(env, tmp_path):
    config = tmp_path / "rollcall.toml"
    config.write_text(SKIPPED_ONLY)
    proc = rollcall(env, "run", "-c", str(config), "-p", "fake_providers:Answering", "--no-store", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["target"] for r in doc["results"]] == ["Answering"]
    assert [s["name"] for s in doc["run"]["skipped"]] == ["groq"]
