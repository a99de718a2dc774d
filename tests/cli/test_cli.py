"""The `rollcall` command in a real subprocess: exit codes, JSON on stdout, errors, Ctrl-C, exiting."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from g4f_env import offline_g4f_env


@pytest.fixture
def env(tmp_path):
    return offline_g4f_env(tmp_path)


def rollcall(env, *args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_json_to_stdout_and_human_view_to_stderr(env):
    proc = rollcall(env, "run", "-p", "fake_providers:Answering", "-p", "fake_providers:NeedsKey", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "rollcall.run/1"
    by = {r["target"]: r for r in doc["results"]}
    assert by["Answering"]["ok"] is True and by["Answering"]["text"] == "Hello, I am not GPT 3.5."
    assert by["NeedsKey"]["error_kind"] == "auth"
    assert "1 ok, 1 failed in" in proc.stderr
    assert "auth (1)" in proc.stderr


def test_default_command_is_run(env):
    proc = rollcall(env, "-p", "fake_providers:Answering", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "1 ok, 0 failed in" in proc.stdout
    assert "Answering" not in proc.stdout  # --quiet: the summary only


def test_human_view_lists_answers_and_failures(env):
    proc = rollcall(env, "run", "-p", "fake_providers:Answering", "-p", "fake_providers:RateLimited")
    assert proc.returncode == 0
    out = proc.stdout
    assert "Answers (fastest first)" in out and "not GPT 3.5" in out
    assert "rate_limit (1)" in out and "RateLimited: RateLimitError: Response 429: slow down" in out


def test_require_and_min_ok_fail_the_run(env):
    proc = rollcall(env, "run", "-p", "fake_providers:Answering", "-p", "fake_providers:NeedsKey",
                    "--require", "NeedsKey", "--require", "answering", "-q")
    assert proc.returncode == 1
    assert "requirement failed: required target NeedsKey did not answer" in proc.stderr
    proc = rollcall(env, "run", "-p", "fake_providers:Answering", "--min-ok", "2", "-q")
    assert proc.returncode == 1 and "--min-ok requires 2" in proc.stderr


def test_an_answer_failing_a_check_fails_the_run(env, tmp_path):
    # DESIGN: exit 1 when a requirement failed, and an answer failing --expect/--max-ttft/--max-total is one.
    proc = rollcall(env, "run", "-p", "fake_providers:Answering", "--expect", "^yes", "-q")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith(
        "rollcall: requirement failed: 1 answer(s) failed a check; first: Answering [")
    assert "CheckFailed: answer does not match /^yes/" in proc.stderr
    config = tmp_path / "rollcall.toml"
    config.write_text('[defaults]\nexpect = "^yes"\n[[target]]\nname = "g4f"\nkind = "g4f"\n'
                      'providers = ["fake_providers:Answering"]\n')
    assert rollcall(env, "run", "-c", str(config), "-q").returncode == 1  # a check from the config file too
    assert rollcall(env, "run", "-c", str(config), "-q", "--expect", "not GPT").returncode == 0  # the flag wins


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "-p", "NoSuchProvider"], "unknown g4f provider 'NoSuchProvider'"),
        (["run", "-p", "yqclod"], "did you mean Yqcloud"),
        (["run", "--timeout", "-1"], "--timeout"),
        (["run", "--bogus"], "--bogus"),
        (["run", "-p", "fake_providers:Missing"], "cannot load provider fake_providers:Missing"),
        (["run", "-p", "no_such_module:X"], "cannot load provider no_such_module:X"),
        (["run", "--expect", "("], "not a valid regular expression"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(env, args, message):
    proc = rollcall(env, *args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("rollcall: error:") and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_hanging_providers_do_not_keep_the_process_alive(env):
    start = time.monotonic()
    proc = rollcall(env, "run", "-p", "fake_providers:ExecutorHang", "-p", "fake_providers:SyncHangForever",
                    "-p", "fake_providers:Answering", "-t", "1", "--json", "-", timeout=60)
    assert proc.returncode == 0
    kinds = {r["target"]: r["error_kind"] for r in json.loads(proc.stdout)["results"]}
    assert kinds == {"ExecutorHang": "timeout", "SyncHangForever": "timeout", "Answering": None}
    assert time.monotonic() - start < 30


def test_provider_prints_do_not_corrupt_json_on_stdout(env):
    proc = rollcall(env, "run", "-p", "fake_providers:Prints", "--json", "-")
    assert json.loads(proc.stdout)["results"][0]["text"] == "printed and answered"


def test_ctrl_c_prints_what_finished_and_exits_130(env, tmp_path):
    out = tmp_path / "run.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rollcall", "run", "-p", "fake_providers:Answering", "-p",
         "fake_providers:AsyncHangForever", "-t", "120", "--json", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL,
    )
    try:
        for line in proc.stdout:
            if "Answering" in line:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    doc = json.loads(out.read_text())
    assert doc["run"]["complete"] is False
    kinds = {r["target"]: r["error_kind"] for r in doc["results"]}
    assert kinds == {"Answering": None, "AsyncHangForever": "cancelled"}


def test_help_explains(env):
    proc = rollcall(env, "run", "--help")
    assert proc.returncode == 0
    for flag in ("--provider", "--exclude", "--all-providers", "--include-auth", "--timeout", "--concurrency",
                 "--repeat", "--json", "--require", "--min-ok", "--prompt", "--model"):
        assert flag in proc.stdout


def test_processes_a_provider_started_are_ended_at_exit(env, tmp_path):
    import os

    pid_file = tmp_path / "child.pid"
    env["ROLLCALL_TEST_PID_FILE"] = str(pid_file)
    proc = rollcall(env, "run", "-p", "fake_providers:SpawnsChild", "-t", "1", "-q")
    assert proc.returncode == 0, proc.stderr
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # The orphan is adopted by init (or by this test process when it is the subreaper):
        # reap it if it is ours, then look again.
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        raise AssertionError("the provider's child process outlived rollcall")


def test_hostile_exceptions_do_not_crash_the_run(env, tmp_path):
    out = tmp_path / "run.json"
    proc = rollcall(env, "run", "-p", "fake_providers:StrRaises", "-p", "fake_providers:StatusRaises",
                    "-p", "fake_providers:StrStalls", "-p", "fake_providers:MetaName",
                    "-p", "fake_providers:Answering", "-t", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    by = {r["target"]: r for r in json.loads(out.read_text())["results"]}
    assert by["Answering"]["ok"] is True
    assert by["StrRaises"]["error_kind"] == "provider_error"
    assert by["StatusRaises"]["error_kind"] == "rate_limit"
    assert by["StrStalls"]["error"] == "StrStallsError: (the exception could not be read before the deadline)"
    assert by["MetaName"]["error_kind"] == "provider_error"
