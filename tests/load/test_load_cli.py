"""`rollcall load` as a user runs it (real subprocesses, the simulator on loopback): the JSON
contract, every output and the history; bad input; every request failing; SIGINT and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env
from load_helpers import sim_url  # noqa: F401 - the simulator fixture

STAGE_KEYS = {"requests", "ok", "failed", "errors", "duration_s", "requests_per_s", "output_tokens_per_s",
              "goodput_per_s", "slo_pass", "client_bound", "send_lateness_s", "loop_lag_max_s",
              "ttft_s", "ttfo_s", "tpot_s", "itl_s", "e2e_s"}
SUMMARY_KEYS = {"p50", "p90", "p95", "p99", "mean", "n"}


def load(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollcall", "load", *args], capture_output=True, text=True,
                          env=env or offline_g4f_env(tmp_path), timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_run_writes_the_contract_every_output_and_the_history(tmp_path: Path, sim_url: str) -> None:
    store = tmp_path / "h.sqlite3"
    jsonl, html = tmp_path / "r.jsonl", tmp_path / "r.html"
    proc = load(tmp_path, sim_url, "-m", "quick", "--concurrency", "1,4", "-n", "10", "--warmup", "2",
                "--slo", "ttft=1,e2e=5s", "--max-tokens", "6", "--json", "-", "-o", f"jsonl:{jsonl}",
                "-o", f"html:{html}", "--store", str(store), "--site", "lab")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "rollcall.load/1"
    assert {"target", "kind", "model", "mode", "settings", "stages"} <= set(doc)
    assert (doc["kind"], doc["model"], doc["mode"], doc["site"]) == ("openai", "quick", "concurrency", "lab")
    assert doc["settings"]["warmup"] == 2 and doc["settings"]["max_tokens"] == 6
    assert [s["concurrency"] for s in doc["stages"]] == [1, 4]
    for stage in doc["stages"]:
        assert STAGE_KEYS <= set(stage)
        for key in ("ttft_s", "ttfo_s", "tpot_s", "itl_s", "e2e_s", "send_lateness_s"):
            assert set(stage[key]) == SUMMARY_KEYS
        assert stage["requests"] == stage["ok"] == 10 and stage["warmup"] == 2
        assert set(stage["slo_pass"]) == {"ttft", "e2e"}
        assert stage["output_tokens"] == 60  # max_tokens reached the server: 6 tokens each
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(lines) == 24 and sum(line["warmup"] for line in lines) == 4
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert "Load 127.0.0.1 [quick]" in proc.stderr  # the human view moved to stderr

    runs = load(tmp_path, "runs", "--store", str(store), "--json")
    assert runs.returncode == 0, runs.stderr
    (stored,) = json.loads(runs.stdout)["runs"]
    assert stored["id"] == doc["id"] and stored["complete"] and stored["stages"] == 2
    (tmp_path / "doc.json").write_text(proc.stdout)
    compared = load(tmp_path, "compare", doc["id"], str(tmp_path / "doc.json"), "--store", str(store))
    assert compared.returncode == 0, compared.stdout + compared.stderr


@pytest.mark.parametrize("client", ["wire", "aiohttp"])
def test_either_http_client_loads_through_worker_processes(tmp_path: Path, sim_url: str, client: str) -> None:
    proc = load(tmp_path, sim_url, "-m", "quick", "--concurrency", "4", "-n", "12", "--workers", "2",
                "--client", client, "--no-store", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["settings"]["client"] == client and doc["settings"]["workers"] == 2
    (stage,) = doc["stages"]
    assert stage["ok"] == 12 and stage["output_tokens"] == 12 * 8 and stage["ttft_s"]["p50"] >= 0.02


def test_every_request_failing_exits_1_after_every_stage(tmp_path: Path, sim_url: str) -> None:
    proc = load(tmp_path, sim_url, "-m", "broken", "--rate", "20,40", "-n", "8", "--no-store", "--json", "-")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [s["errors"] for s in doc["stages"]] == [{"http_status": 8}, {"http_status": 8}]
    assert "rollcall: every request failed (http_status ×16)" in proc.stderr
    assert "http_status ×8" in proc.stderr


def test_a_config_target_by_name_keeps_its_key_secret(tmp_path: Path, sim_url: str) -> None:
    config = tmp_path / "rollcall.toml"
    config.write_text(f'[[target]]\nname = "sim"\nkind = "openai"\nbase_url = "{sim_url}"\n'
                      'api_key = "${SIM_KEY}"\nmodels = ["quick", "slow"]\n')
    env = offline_g4f_env(tmp_path)
    env["SIM_KEY"] = "sk-load-cli-0123456789abcdef"
    store = tmp_path / "h.sqlite3"
    proc = load(tmp_path, "sim", "-c", str(config), "-m", "quick", "--concurrency", "2", "-n", "4", "--json", "-",
                "--store", str(store), env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["target"] == "sim" and doc["model"] == "quick" and doc["stages"][0]["ok"] == 4
    assert "sk-load-cli" not in proc.stdout + proc.stderr + store.read_bytes().decode("utf-8", "replace")
    two = load(tmp_path, "sim", "-c", str(config), "--concurrency", "2", env=env)
    assert two.returncode == 2 and "-m/--model: config target 'sim' has 2 models (quick, slow)" in two.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--concurrency", "0"], "--concurrency: '0' is not a whole number"),
    (["--concurrency", "1,1"], "--concurrency: 1 is given twice"),
    (["--rate", "fast"], "--rate: 'fast' is not a rate"),
    (["--rate", "nan"], "--rate: 'nan' is not a rate"),
    (["--rate", "5", "--duration", "5x"], "--duration: '5x' is not a duration"),
    (["--rate", "5", "--slo", "speed=1"], "--slo: unknown SLO 'speed'"),
    (["--rate", "5", "--concurrency", "2"], "--concurrency/--rate: give one of them, not both"),
    ([], "--concurrency/--rate: give --concurrency LIST"),
    (["--rate", "5", "-n", "5", "--duration", "5s"], "--requests/--duration: give one of them"),
    (["--rate", "5", "--input-tokens", "0"], "--input-tokens"),
    (["--rate", "5", "--prompt", "x", "--input-tokens", "8"], "--prompt/--prompts/--input-tokens"),
    (["--rate", "5", "-o", "csv:x.csv"], "-o/--json: bad output 'csv:x.csv': load writes html, json, jsonl"),
    (["--rate", "5", "--kind", "g4f"], "--kind: 'g4f' cannot be given a base URL (kinds that take one: anthropic, gemini, ollama, openai"),
    (["--rate", "5", "--kind", "opnai"], "got 'opnai' (did you mean 'openai'?)"),
    (["--rate", "5", "--timeout", "nan"], "'--timeout': 'nan' must be a finite duration"),
    (["--rate", "5", "--timeout", "0s"], "'--timeout': '0s' must be more than 0"),
    (["--rate", "5", "--extra-body", "[1]"], "--extra-body: must be a JSON object"),
    (["--concurrency", "2", "--burstiness", "2"], "--burstiness: only for --rate stages"),
    (["--rate", "5", "--burstiness", "0"], "--burstiness: 0.0 must be a number greater than 0"),
    (["--rate", "5", "--burstiness", "x"], "'--burstiness': 'x' is not a number"),
    (["--rate", "5", "--prompts", "/nonexistent.jsonl"], "--prompts: cannot read /nonexistent.jsonl"),
    (["--rate", "5", "--api-key-env", "NO_SUCH_VAR_X"], "--api-key-env: environment variable NO_SUCH_VAR_X is not set"),
    (["--rate", "5", "--connect-timeout", "inf"], "'--connect-timeout': 'inf' must be a finite duration"),
    (["--rate", "5", "--client", "curl"], "'--client': 'curl' is not a client: choose aiohttp or wire"),
])
def test_bad_input_is_one_line_naming_the_flag(tmp_path: Path, args: list[str], message: str) -> None:
    proc = load(tmp_path, "http://127.0.0.1:9/v1", *args, "--no-store")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("rollcall: error: ") and message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_name_without_config_is_explained(tmp_path: Path) -> None:
    proc = load(tmp_path, "groq", "--rate", "1", "--no-config", "--no-store")
    assert proc.returncode == 2
    assert "TARGET: 'groq' is neither a base URL (http://...) nor a config target" in proc.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("to_group", [False, True], ids=["to-rollcall", "to-its-process-group"])
def test_a_signal_keeps_what_finished_and_marks_the_stage_partial(tmp_path: Path, sim_url: str, sig, code,
                                                                  to_group: bool) -> None:
    """To the group, as a terminal's Ctrl-C or systemd's stop (every process of the unit) sends it:
    the worker processes leave the stop to rollcall, so no request is lost to a dead worker."""
    jsonl, out, store = tmp_path / "r.jsonl", tmp_path / "r.json", tmp_path / "h.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rollcall", "load", sim_url, "-m", "slow", "--concurrency", "2,4", "-n", "1000",
         "--workers", "2", "-o", f"jsonl:{jsonl}", "--json", str(out), "--store", str(store)],
        env=offline_g4f_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not jsonl.exists() or len(jsonl.read_text().splitlines()) < 3):
            time.sleep(0.05)
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    doc = json.loads(out.read_text())
    assert doc["interrupted"] == sig.name and not doc["complete"]
    (stage,) = doc["stages"]
    assert stage["partial"] and stage["cancelled"] == 2 and stage["requests"] >= 3
    assert not stage.get("lost") and "died" not in stderr and "killed" not in stderr, stderr
    assert len(jsonl.read_text().splitlines()) == stage["requests"]
    assert f"interrupted ({sig.name}), stage 1 partial" in stdout  # the human view, on stdout here
    runs = load(tmp_path, "runs", "--store", str(store), "--json")
    (stored,) = json.loads(runs.stdout)["runs"]
    assert stored["interrupted"] == sig.name and stored["stages"] == 1 and not stored["complete"]


def test_synthetic_prompts_reach_the_server(tmp_path: Path, sim_url: str) -> None:
    proc = load(tmp_path, sim_url, "-m", "quick", "--rate", "50", "-n", "5", "--input-tokens", "200:20",
                "--ignore-eos", "--extra-body", '{"top_k": 5}', "--no-store", "-o", "jsonl:-", "-q")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 5 and all(180 <= line["input_tokens"] <= 320 for line in lines)  # ~4 characters a token
    assert len({line["input_tokens"] for line in lines}) > 1
