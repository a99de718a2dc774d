"""`rollcall run` with a config file mixing HTTP targets (our simulator, real loopback sockets) and a
g4f provider, writing every kind of output and the history, as a user would run it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from g4f_env import offline_g4f_env

from rollcall.sim import Behaviour, Fault, Fleet, run_sim_in_thread

FLEET = Fleet({
    "quick": Behaviour(ttft_s=0.02, tokens_per_s=500, answer_tokens=12),
    "thinker": Behaviour(ttft_s=0.02, tokens_per_s=500, answer_tokens=8, reasoning_tokens=5),
    "limited": Behaviour(status=429, retry_after_s=7),
    "silent": Behaviour(fault=Fault.HANG),
})


@pytest.fixture(scope="module")
def sim_url():
    with run_sim_in_thread(FLEET, seed=1) as base_url:
        yield base_url


def write_config(tmp_path, sim_url):
    config = tmp_path / "rollcall.toml"
    config.write_text(f"""
[defaults]
timeout = 2
prompt = "Say hello"

[[target]]
name = "sim"
kind = "openai"
base_url = "{sim_url}"
api_key = "${{SIM_API_KEY}}"
models = ["quick", "thinker", "limited", "silent"]

[[target]]
name = "local-g4f"
kind = "g4f"
providers = ["fake_providers:Answering"]

[[target]]
name = "paid"
kind = "openai"
base_url = "https://api.example.invalid/v1"
api_key = "${{PAID_KEY_NOT_SET}}"
optional = true
""")
    return config


def test_config_run_with_every_output_and_the_history(tmp_path, sim_url):
    env = offline_g4f_env(tmp_path)
    env["SIM_API_KEY"] = "sk-sim-0123456789abcdef"
    env.pop("PAID_KEY_NOT_SET", None)
    store = tmp_path / "history.sqlite3"
    config = write_config(tmp_path, sim_url)
    args = ["-c", str(config), "--store", str(store), "--site", "test-site", "--json", "-",
            "-o", f"junit:{tmp_path / 'junit.xml'}", "-o", f"csv:{tmp_path / 'r.csv'}",
            "-o", f"html:{tmp_path / 'r.html'}", "-o", f"jsonl:{tmp_path / 'r.jsonl'}",
            "-o", f"markdown:{tmp_path / 'r.md'}"]
    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    kinds = {(r["target"], r["model"]): r["error_kind"] for r in doc["results"]}
    assert kinds == {
        ("sim", "quick"): None, ("sim", "thinker"): None, ("sim", "limited"): "rate_limit",
        ("sim", "silent"): "timeout", ("Answering", "fake-model"): None,
    }
    by = {(r["target"], r["model"]): r for r in doc["results"]}
    assert by[("sim", "limited")]["retry_after_s"] == 7 and by[("sim", "limited")]["status"] == 429
    assert by[("sim", "thinker")]["reasoning"] and by[("sim", "thinker")]["text"]
    assert doc["run"]["prompt"] == "Say hello" and doc["run"]["settings"]["timeout_s"] == 2
    assert [s["name"] for s in doc["run"]["skipped"]] == ["paid"]

    everything = proc.stdout + proc.stderr
    for name in ("junit.xml", "r.csv", "r.html", "r.jsonl", "r.md"):
        everything += (tmp_path / name).read_text()
    everything += store.read_bytes().decode("utf-8", "replace")
    assert "sk-sim-0123456789abcdef" not in everything  # the key is nowhere

    with (tmp_path / "r.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 5
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 5
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.iter("testcase") and len(list(suite.iter("failure"))) == 2

    runs = subprocess.run([sys.executable, "-m", "rollcall", "runs", "--store", str(store), "--json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert runs.returncode == 0, runs.stderr
    assert doc["run"]["id"] in runs.stdout and "test-site" in runs.stdout

    report = subprocess.run([sys.executable, "-m", "rollcall", "report", "-", "-o", "markdown:-"],
                            input=proc.stdout, capture_output=True, text=True, env=env, timeout=60)
    assert report.returncode == 0, report.stderr
    assert "| sim | quick |" in report.stdout and "| sim | silent | ⌛ timeout |" in report.stdout


def test_flags_win_over_config_defaults(tmp_path, sim_url):
    env = offline_g4f_env(tmp_path)
    env["SIM_API_KEY"] = "x" * 12
    config = write_config(tmp_path, sim_url)
    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", str(config), "--target", "sim",
                           "--model", "quick", "--timeout", "5", "--no-store", "--json", "-"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["run"]["settings"]["timeout_s"] == 5
    assert [(r["target"], r["model"]) for r in doc["results"]] == [("sim", "quick")]


def test_bad_config_is_one_line_exit_2(tmp_path):
    env = offline_g4f_env(tmp_path)
    config = tmp_path / "bad.toml"
    config.write_text("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'nope'\n")
    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", str(config)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"rollcall: error: {config}: target 'x': field 'base_url' must be an http:// or https:// URL, got 'nope'\n"


def test_first_byte_timeout_from_flag_and_config(tmp_path, sim_url):
    env = offline_g4f_env(tmp_path)
    config = tmp_path / "fb.toml"
    config.write_text(f'[defaults]\nfirst_byte_timeout = 0.5\n\n[[target]]\nname = "sim"\nkind = "openai"\n'
                      f'base_url = "{sim_url}"\nmodels = ["silent", "quick"]\n')
    for extra in ([], ["--first-byte-timeout", "0.5"]):
        args = ["-c", str(config)] if not extra else ["-c", str(config), *extra]
        proc = subprocess.run([sys.executable, "-m", "rollcall", "run", *args, "-t", "20", "--no-store", "--json", "-"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        by = {r["model"]: r for r in json.loads(proc.stdout)["results"]}
        assert by["quick"]["ok"]
        assert by["silent"]["error_kind"] == "timeout"
        assert by["silent"]["total_s"] < 10  # the 0.5 s first-byte deadline, not the 20 s one


def test_a_usage_count_no_store_can_hold_loses_nothing(tmp_path):
    """A server claims 2**63 completion tokens. Today that answer cannot be stored, nor can the
    good results written in the same transaction, and the run exits 1."""
    from plain_http import raw_server

    def answer(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        tokens = 2**63 if path.startswith("/huge/") else 2
        events = [{"choices": [{"index": 0, "delta": {"content": "hello there"}, "finish_reason": "stop"}]},
                  {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": tokens}}]
        stream = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
        return 200, "text/event-stream", stream

    env = offline_g4f_env(tmp_path)
    store = tmp_path / "history.sqlite3"
    with raw_server(answer) as server:
        config = tmp_path / "rollcall.toml"
        config.write_text("".join(f'[[target]]\nname = "{name}"\nkind = "openai"\nbase_url = "{server.base}/{name}/v1"\n'
                                  for name in ("good1", "huge", "good2")))
        proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", str(config), "--store", str(store),
                               "--json", "-"], capture_output=True, text=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    by = {r["target"]: r for r in json.loads(proc.stdout)["results"]}
    assert (by["huge"]["ok"], by["huge"]["output_tokens"], by["huge"]["output_tokens_estimated"]) == (True, 3, True)
    assert by["good1"]["output_tokens"] == 2 and not by["good1"]["output_tokens_estimated"]
    history = subprocess.run([sys.executable, "-m", "rollcall", "history", "--store", str(store), "--since", "all",
                              "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert history.returncode == 0, history.stderr
    assert sorted((r["target"], r["probes"]) for r in json.loads(history.stdout)["rows"]) == [
        ("good1", 1), ("good2", 1), ("huge", 1)]
