"""Numbers from flags and config: one parser per kind of value (durations: test_durations.py),
errors that name the flag or field.

The CLI cases run the real `rollcall` in a subprocess: exit code 2 and one line naming the flag,
never a traceback and never a run whose every probe fails on a NaN deadline.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from g4f_env import offline_g4f_env

from rollcall.inputs import is_unicode, parse_count, parse_number, too_deep
from rollcall.settings import ProbeSettings


def test_counts_and_numbers():
    assert parse_count("12") == 12 and parse_count(0, minimum=0) == 0
    for bad in (10**20, "10" * 20, 0, 1.5, "x", True):
        with pytest.raises(ValueError):
            parse_count(bad)
    assert parse_number("1.5", minimum=1) == 1.5
    for bad in (math.nan, "nan", math.inf, "inf", 10**400, 0.5, "x"):
        with pytest.raises(ValueError):
            parse_number(bad, minimum=1)


def test_library_deadlines_refuse_what_is_not_a_finite_positive_number():
    from rollcall.inputs import is_finite_positive
    from rollcall.runner import Runner

    assert is_finite_positive(0.5) and is_finite_positive(3)
    assert not any(is_finite_positive(v) for v in (0, -1, math.nan, math.inf, 10**400, True, "5", None))
    for bad in (math.nan, math.inf, 10**400):
        with pytest.raises(ValueError, match="^timeout_s: .*(finite|longer than 100 years)"):
            Runner([], settings=ProbeSettings(timeout_s=bad))


def test_too_deep_names_where_without_recursing():
    deep: list[object] = []
    for _ in range(100_000):  # recursive code would hit the recursion limit long before
        deep = [deep]
    assert too_deep({"a": {"b": deep}}, 32).startswith("a.b[0][0]")
    assert too_deep({"a": [{"b": 1}]}, 32) is None


def test_lone_surrogates_are_not_text():
    assert is_unicode("héllo") and not is_unicode("hi\udcff")


# -- the command line --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return offline_g4f_env(tmp_path_factory.mktemp("inputs"))


def rollcall(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args, flag, words", [
    (["run", "--timeout", "nan"], "'--timeout'", "finite"),
    (["run", "-t", "inf"], "'--timeout'", "finite"),
    (["demo", "--timeout", "-Infinity"], "'--timeout'", "finite"),
    (["run", "--connect-timeout", "inf"], "'--connect-timeout'", "finite"),
    (["run", "--first-byte-timeout", "nan"], "'--first-byte-timeout'", "finite"),
    (["run", "--max-total", "nan"], "'--max-total'", "finite"),
    (["demo", "--max-ttft", "1e999"], "'--max-ttft'", "finite"),
    (["run", "--timeout", "soon"], "'--timeout'", "30s, 5m, 1h"),
    (["run", "-j", str(10**20)], "'--concurrency'", "between 1 and"),
    (["demo", "--repeat", str(10**20)], "'--repeat'", "between 1 and"),
    (["run", "--min-ok", str(10**20)], "'--min-ok'", "between 0 and"),
    (["runs", "-n", str(10**20)], "'--limit'", "between 1 and"),
    (["diff", "--threshold", "nan"], "'--threshold'", "finite"),
    (["diff", "--threshold", "0.5"], "'--threshold'", "at least 1"),
    (["diff", "--min-delta", "nan"], "'--min-delta'", "finite"),
    (["history", "--since", "0m"], "--since", "more than 0"),
    (["history", "--since", "1e400s"], "--since", "not a duration"),
    (["watch", "--every", "nan", "--no-config", "-p", "fake_providers:Answering"], "--every", "finite"),
    (["watch", "--rounds", str(10**20)], "'--rounds'", "between 1 and"),
    (["load", "http://127.0.0.1:9/v1", "--rate", "1", "--max-tokens", str(10**20)], "'--max-tokens'", "between 1 and"),
    (["load", "http://127.0.0.1:9/v1", "--rate", "1", "--first-byte-timeout", "nan"], "'--first-byte-timeout'",
     "finite"),
])
def test_bad_numbers_are_one_line_errors_naming_the_flag(env, args, flag, words):
    proc = rollcall(env, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and words in lines[0], proc.stderr
    assert "HttpClient" not in proc.stderr and "Traceback" not in proc.stderr


def test_text_flags_refuse_bytes_that_are_not_utf8(env):
    # A prompt that is not UTF-8 reaches Python as lone surrogates; today every probe then fails
    # with "str is not valid UTF-8" (orjson), and the store cannot save the run.
    arg = b"hi\xff".decode("utf-8", "surrogateescape")
    proc = rollcall(env, "demo", "--prompt", arg)
    assert proc.returncode == 2
    assert "'--prompt': is not valid UTF-8 text" in proc.stderr


def test_suffixed_durations_work_on_the_command_line(env, tmp_path):
    proc = rollcall(env, "run", "-p", "fake_providers:Answering", "--timeout", "1m", "--max-total", "30s",
                    "--no-store", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert '"timeout_s": 60.0' in proc.stdout
