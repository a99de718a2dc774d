"""The `litellm` kind from a config file, through the real CLI: a run against the simulator's
OpenAI and Anthropic protocols, `rollcall list`, and an install without LiteLLM (entry skipped,
naming the pip command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from g4f_env import offline_g4f_env

from rollcall.sim import Behaviour, Fleet, run_sim_in_thread

FLEET = Fleet({"swift": Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=5, text="hello from litellm kind"),
               "throttled": Behaviour(status=429, retry_after_s=3)})


def rollcall(tmp_path: Path, *args: str, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = offline_g4f_env(tmp_path)
    if pythonpath:
        env["PYTHONPATH"] = f"{pythonpath}:{env['PYTHONPATH']}"
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=180, stdin=subprocess.DEVNULL, cwd=tmp_path)


def config(tmp_path: Path, root: str) -> Path:
    path = tmp_path / "rollcall.toml"
    path.write_text(f"""
[[target]]
name = "via-litellm"
kind = "litellm"
models = ["openai/swift", "openai/throttled"]
api_base = "{root}/v1"
api_key = "sk-litellm-kind-test-0123456789"

[[target]]
name = "claude-via-litellm"
kind = "litellm"
models = ["anthropic/swift"]
api_base = "{root}"
api_key = "sk-ant-litellm-kind-test-0123456789"
extra = {{ max_tokens = 64 }}
""")
    return path


def test_a_config_probes_litellm_targets_and_every_result_is_classified(tmp_path: Path) -> None:
    with run_sim_in_thread(FLEET) as base_url:
        root = base_url.rsplit("/v1", 1)[0]
        proc = rollcall(tmp_path, "run", "-c", str(config(tmp_path, root)), "--no-store", "-t", "60",
                        "--json", str(tmp_path / "run.json"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "run.json").read_text())
    results = {(r["target"], r["model"]): r for r in doc["results"]}
    assert results[("via-litellm", "openai/swift")]["ok"]
    assert results[("via-litellm", "openai/swift")]["text"] == "hello from litellm kind"
    assert results[("claude-via-litellm", "anthropic/swift")]["ok"]
    assert results[("via-litellm", "openai/throttled")]["error_kind"] == "rate_limit"
    assert {r["kind"] for r in doc["results"]} == {"litellm"}
    timing = {t["name"]: t["meta"].get("timing", "") for t in doc["run"]["targets"]}
    assert all("LiteLLM hands rollcall each chunk" in v for v in timing.values()), timing
    everything = proc.stdout + proc.stderr + (tmp_path / "run.json").read_text()
    assert "litellm-kind-test-0123456789" not in everything


def test_list_shows_the_configured_model_strings(tmp_path: Path) -> None:
    proc = rollcall(tmp_path, "list", "-c", str(config(tmp_path, "http://127.0.0.1:9")), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [row for row in json.loads(proc.stdout)["endpoints"] if row["kind"] == "litellm"]
    assert {r["target"]: r["models"] for r in rows} == {
        "via-litellm": ["openai/swift", "openai/throttled"], "claude-via-litellm": ["anthropic/swift"]}


def test_without_litellm_the_entries_are_skipped_naming_the_pip_command(tmp_path: Path) -> None:
    proc = rollcall(tmp_path, "run", "-c", str(config(tmp_path, "http://127.0.0.1:9")), "--no-store",
                    pythonpath=str(_without_litellm(tmp_path)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no targets to probe" in proc.stderr and "pip install 'rollcall[litellm]'" in proc.stderr


def _without_litellm(tmp_path: Path) -> Path:
    """A folder that, first on PYTHONPATH, makes LiteLLM look not installed: find_spec finds
    nothing and the import fails. Its sitecustomize then runs the test suite's network guard,
    which it shadows."""
    guard = Path(__file__).resolve().parents[1] / "netguard_site" / "sitecustomize.py"
    folder = tmp_path / "no-litellm"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        "import importlib.util, runpy, sys\n"
        "_real = importlib.util.find_spec\n"
        "def find_spec(name, package=None):\n"
        "    return None if name.split('.')[0] == 'litellm' else _real(name, package)\n"
        "importlib.util.find_spec = find_spec\n"
        "sys.modules['litellm'] = None  # import litellm -> ImportError, as when it is not installed\n"
        f"runpy.run_path({str(guard)!r})\n"
    )
    return folder
