"""`rollcall load compare`: stages matched by value, regressions beyond the threshold in the right
direction, and the command's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from load_helpers import make_doc

from rollcall.load.compare import CompareError, compare, render


def regressions(result: dict) -> set[tuple[float, str]]:
    return {(r["stage"], r["key"]) for r in result["regressions"]}


def test_the_same_run_has_no_regression() -> None:
    doc = make_doc((1, 8))
    result = compare(doc, doc)
    assert result["regressions"] == [] and {r["stage"] for r in result["rows"]} == {1.0, 8.0}


def test_slower_first_tokens_are_a_regression_beyond_the_threshold() -> None:
    before = make_doc((1, 8), ttft=(0.10, 0.12))
    after = make_doc((1, 8), ttft=(0.105, 0.20))  # +5% (within 10%) and +67%
    found = regressions(compare(before, after, 0.10))
    assert (8.0, "ttft_s.p50") in found and (8.0, "ttft_s.p99") in found
    assert not any(stage == 1.0 for stage, _ in found)
    assert regressions(compare(before, after, 1.0)) == set()  # a 100% threshold tolerates it


def test_lower_throughput_is_a_regression_and_higher_is_not() -> None:
    before = make_doc((4,), rps_records=(40,))
    after = make_doc((4,), rps_records=(20,))
    assert (4.0, "requests_per_s") in regressions(compare(before, after))
    assert (4.0, "requests_per_s") not in regressions(compare(after, before))


def test_error_rate_needs_a_point_more_as_well() -> None:
    base = make_doc((1,), rps_records=(1000,), fail=(1,))
    slightly = make_doc((1,), rps_records=(1000,), fail=(3,))  # 0.1% -> 0.3%: relative, but not a point
    worse = make_doc((1,), rps_records=(1000,), fail=(40,))
    assert (1.0, "error_rate") not in regressions(compare(base, slightly))
    assert (1.0, "error_rate") in regressions(compare(base, worse))


def test_unmatched_stages_are_listed_and_mismatched_modes_refused() -> None:
    result = compare(make_doc((1, 8)), make_doc((8, 32), rps_records=(40, 40)))
    assert result["only_a"] == [1.0] and result["only_b"] == [32.0]
    with pytest.raises(CompareError, match="same mode"):
        compare(make_doc((1,), rps_records=(10,)), make_doc((1.0,), mode="rate", rps_records=(10,)))
    with pytest.raises(CompareError, match="no concurrency value in common"):
        compare(make_doc((1,), rps_records=(10,)), make_doc((2,), rps_records=(10,)))


def test_unreliable_stages_are_marked(console) -> None:
    result = compare(make_doc((1,), rps_records=(10,)), make_doc((1,), rps_records=(10,), lateness=0.05))
    assert all(r["unreliable"] for r in result["rows"])
    console.print(render(result))
    assert "client-bound or partial" in console.file.getvalue()


def run_compare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rollcall", "load", "compare", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_compare_exit_codes(tmp_path) -> None:
    a, b, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    a.write_text(json.dumps(make_doc((1, 8), ttft=(0.1, 0.12))))
    b.write_text(json.dumps(make_doc((1, 8), ttft=(0.1, 0.3))))
    bad.write_text(json.dumps({"schema": "rollcall.run/1"}))
    same = run_compare(str(a), str(a))
    assert same.returncode == 0, same.stderr
    assert "no regression beyond 10%" in same.stdout
    worse = run_compare(str(a), str(b))
    assert worse.returncode == 1 and "worse" in worse.stdout and "regression(s) beyond 10%" in worse.stdout
    assert run_compare(str(a), str(b), "--threshold", "5").returncode == 0
    as_json = run_compare(str(a), str(b), "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["schema"] == "rollcall.load.compare/1"
    for args, message in (
        ((str(a), str(bad)), "not a rollcall load document (schema 'rollcall.run/1'"),
        ((str(a), str(a), "--threshold", "nan"), "--threshold"),
        ((str(a), "nosuchrun", "--store", str(tmp_path / "none.sqlite3")), "nosuchrun: no such file"),
    ):
        proc = run_compare(*args)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
