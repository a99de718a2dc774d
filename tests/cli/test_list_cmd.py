"""`rollcall list`: g4f providers read without calling them; config endpoints asked for their models."""

from __future__ import annotations

import json
import subprocess
import sys

from g4f_env import offline_g4f_env

from rollcall.sim import Behaviour, Fleet, run_sim_in_thread


def test_lists_registry_and_config_endpoints(tmp_path):
    env = offline_g4f_env(tmp_path)
    with run_sim_in_thread(Fleet({"alpha": Behaviour(), "beta": Behaviour()})) as base_url:
        config = tmp_path / "c.toml"
        config.write_text(f"""
[[target]]
name = "sim"
kind = "openai"
base_url = "{base_url}"

[[target]]
name = "closed"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
""")
        proc = subprocess.run([sys.executable, "-m", "rollcall", "list", "-c", str(config), "--json",
                               "-p", "fake_providers:Answering", "-p", "fake_providers:NeedsKey"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(p["name"], p["working"], p["needs_auth"]) for p in doc["providers"]] == [
        ("Answering", True, False), ("NeedsKey", True, True)]
    endpoints = {e["target"]: e for e in doc["endpoints"]}
    assert set(endpoints["sim"]["models"]) >= {"alpha", "beta"}
    assert endpoints["closed"]["models"] is None and endpoints["closed"]["error"].startswith("connect:")


def test_table_output(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rollcall", "list", "--working"], capture_output=True,
                          text=True, env=offline_g4f_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "g4f providers (" in proc.stdout and "default model" in proc.stdout
