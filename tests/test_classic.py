"""The original GPT4Free async test's API and printed formats, running on the runner."""

from __future__ import annotations

import re
import subprocess
import sys

import fake_providers as fp
from g4f_env import offline_g4f_env

from rollcall import classic


async def test_log_time_async_prints_name_and_returns_result(capsys):
    async def some_call(x, *, y):
        return x + y

    assert await classic.log_time_async(some_call, 1, y=2) == 3
    assert re.fullmatch(r"some_call took \d+\.\d\d seconds\.\n", capsys.readouterr().out)


async def test_create_async_prints_answer(capsys):
    result = await classic.create_async(fp.Answering)
    assert result.ok
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"create_async took \d+\.\d\d seconds\.", out[0])
    assert out[1] == "Answering: Hello, I am not GPT 3.5."


async def test_create_async_prints_type_and_message_on_error(capsys):
    await classic.create_async(fp.RateLimited)
    assert capsys.readouterr().out.splitlines()[1] == "RateLimited: RateLimitError: Response 429: slow down"


async def test_create_async_has_a_deadline(capsys):
    result = await classic.create_async(fp.AsyncHangForever, timeout_s=0.3)
    assert result.error_kind == "timeout"
    assert capsys.readouterr().out.splitlines()[1] == "AsyncHangForever: Timeout: no first token within 0.3 s"


async def test_run_async_gathers_working_providers_only(capsys):
    summary = await classic.run_async(
        timeout_s=1, providers=[fp.Answering, fp.NeedsKey, fp.SyncHangForever, fp.NotWorking]
    )
    assert summary.startswith("1 ok, 2 failed in ")
    out = capsys.readouterr().out
    assert "Answering: Hello, I am not GPT 3.5." in out
    assert "NeedsKey: MissingAuthError: Add a .har file or an api_key" in out
    assert "SyncHangForever: Timeout:" in out
    assert "NotWorking" not in out
    assert out.count("create_async took") == 3


def test_get_providers_returns_registry_classes():
    providers = classic.get_providers()
    assert providers and all(isinstance(p, type) for p in providers)
    assert all(not getattr(p, "needs_auth", False) for p in providers)


def test_module_main_prints_total_and_ends(tmp_path):
    # A hanging provider is cut at the deadline and the script's main line still prints the total.
    args = ["--timeout", "1", "--provider", "fake_providers:Answering", "--provider", "fake_providers:SyncHangForever"]
    proc = subprocess.run([sys.executable, "-m", "rollcall.classic", *args], capture_output=True,
                          text=True, timeout=120, env=offline_g4f_env(tmp_path), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "Answering: Hello, I am not GPT 3.5." in lines
    assert "SyncHangForever: Timeout: no first token within 1 s" in lines
    assert re.fullmatch(r"run_async took \d+\.\d\d seconds\.", lines[-2])
    assert re.fullmatch(r"Total: 1 ok, 1 failed in \d+\.\d\d s", lines[-1])
