"""`rollcall runs`, `history` and `diff` through the real entry point: output and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest

from rollcall.cli import main
from rollcall.models import ErrorKind, ProbeResult
from rollcall.store import RunRecord, open_store
from rollcall.store.queries import diff_runs, history, iso
from rollcall.store.render import diff_report, history_table

NOW = dt.datetime.now(dt.timezone.utc)
IDS = ["1111aaaa0001", "2222bbbb0002", "3333cccc0003", "4444dddd0004"]


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return exited.value.code, out, err  # type: ignore[return-value]


def _result(target: str, at: dt.datetime, ok: bool = True, total: float = 1.0,
            kind: ErrorKind = ErrorKind.TIMEOUT) -> ProbeResult:
    return ProbeResult(target=target, kind="fake", model="", ok=ok, ttft_s=0.2 if ok else None,
                       total_s=total if ok else None, error_kind=None if ok else kind,
                       error=None if ok else f"{kind}: no first token within 30 s", text="hi" if ok else "",
                       started_at=iso(at))


def populate(location: str) -> None:
    """Four runs: Beta slows down in run 2; Alpha breaks, Gamma recovers, Delta appears in run 3;
    run 4 was cut short."""
    plan = [
        ("eu", 180, True, [("Alpha", True, 1.0), ("Beta", True, 1.0), ("Gamma", False, 0)]),
        ("us", 120, True, [("Alpha", True, 1.0), ("Beta", True, 3.0), ("Gamma", False, 0)]),
        ("eu", 60, True, [("Alpha", False, 0), ("Beta", True, 3.0), ("Gamma", True, 2.0), ("Delta", True, 0.5)]),
        ("eu", 30, False, [("Alpha", True, 1.0)]),
    ]
    with open_store(location) as store:
        for run_id, (site, minutes_ago, complete, results) in zip(IDS, plan, strict=True):
            at = NOW - dt.timedelta(minutes=minutes_ago)
            run = RunRecord(id=run_id, started_at=iso(at), site=site, prompt="hello?")
            store.start_run(run)
            store.add_results(run_id, [(i + 1, _result(t, at, ok, total)) for i, (t, ok, total) in enumerate(results)])
            if complete:
                store.finish_run(RunRecord(id=run_id, started_at=iso(at), ended_at=iso(at), wall_s=3.25,
                                           site=site, prompt="hello?", complete=True))


@pytest.fixture
def filled(store_location: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("ROLLCALL_STORE", raising=False)
    populate(store_location)
    return store_location


def test_runs_lists_recent_runs(filled: str, capsys) -> None:
    code, out, err = invoke(capsys, "runs", "--store", filled)
    assert code == 0 and err == ""
    lines = [line for line in out.splitlines() if any(i in line for i in IDS)]
    assert [next(i for i in IDS if i in line) for line in lines] == IDS[::-1]  # newest first
    assert "incomplete" in lines[0] and "complete" in lines[1] and "incomplete" not in lines[1]
    assert "3.25s" in lines[1] and " us " in lines[2]

    code, out, _ = invoke(capsys, "runs", "--store", filled, "--limit", "2", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "rollcall.runs/1"
    assert [(r["id"], r["complete"], r["ok"], r["failed"], r["targets"]) for r in doc["runs"]] == [
        (IDS[3], False, 1, 0, 1), (IDS[2], True, 3, 1, 4)]


def test_history_table_per_target(filled: str, capsys) -> None:
    code, out, err = invoke(capsys, "history", "--store", filled)
    assert code == 0 and err == ""
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip().split(" ")[0] in
            ("Alpha", "Beta", "Gamma", "Delta")}
    assert set(rows) == {"Alpha", "Beta", "Gamma", "Delta"}
    assert "75.0%" in rows["Alpha"] and "timeout ×1" in rows["Alpha"] and "██▁█ 1 ok" in rows["Alpha"]
    assert "33.3%" in rows["Gamma"] and "▁▁█ 1 ok" in rows["Gamma"]
    assert "100.0%" in rows["Beta"] and "3 ok" in rows["Beta"] and "3.00/3.00" in rows["Beta"]  # totals 1, 3, 3 s
    assert "History, since" in out and "(11 results from 4 runs)" in out


def test_history_filters_and_json(filled: str, capsys) -> None:
    code, out, _ = invoke(capsys, "history", "alpha", "GAMMA", "--store", filled, "--json", "--since", "all")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "rollcall.history/1" and doc["since"] is None
    assert [(r["target"], r["probes"], r["ok"], r["streak"]["label"]) for r in doc["rows"]] == [
        ("Alpha", 4, 3, "1 ok"), ("Gamma", 3, 1, "1 ok")]
    assert doc["rows"][0]["top_error_kind"] == "timeout" and doc["rows"][0]["recent"] == ["ok", "ok", "failed", "ok"]

    code, out, _ = invoke(capsys, "history", "Alpha", "--store", filled, "--json", "--site", "us")
    assert [(r["target"], r["probes"]) for r in json.loads(out)["rows"]] == [("Alpha", 1)]
    code, out, _ = invoke(capsys, "history", "Alpha", "--store", filled, "--json", "--by-site")
    assert [(r["site"], r["probes"]) for r in json.loads(out)["rows"]] == [("eu", 3), ("us", 1)]
    code, out, _ = invoke(capsys, "history", "--store", filled, "--json", "--since", "45m")
    assert [(r["target"], r["probes"]) for r in json.loads(out)["rows"]] == [("Alpha", 1)]
    code, out, err = invoke(capsys, "history", "--store", filled, "--since", "1m")
    assert code == 0 and out == "" and "no results since" in err


def test_history_bad_input_is_one_line_and_exit_2(filled: str, capsys) -> None:
    code, out, err = invoke(capsys, "history", "--store", filled, "--since", "last tuesday")
    assert code == 2 and out == ""
    assert err == ("rollcall: error: --since 'last tuesday' is not a duration (30s, 30m, 12h, 7d, 2w), "
                   "an ISO date (2024-05-01) or 'all'\n")
    code, _, err = invoke(capsys, "history", "Alpah", "--store", filled)
    assert code == 2 and err.count("\n") == 1 and "no history for 'Alpah' (did you mean 'Alpha'?)" in err
    code, out, err = invoke(capsys, "history", "Alpha", "Nope", "--store", filled)
    assert code == 0 and "no history for 'Nope'" in err and "Alpha" in out


def test_diff_defaults_to_the_last_two_complete_runs_and_exits_1_on_new_failures(filled: str, capsys) -> None:
    code, out, err = invoke(capsys, "diff", "--store", filled)
    assert code == 1 and err == ""
    assert f"before: {IDS[1]}" in out and f"after:  {IDS[2]}" in out
    assert "Newly failing (1)" in out and "Alpha [default]  was ok (1.00s), now timeout: timeout: no first token" in out
    assert "Recovered (1)" in out and "Gamma [default]  was timeout, now ok (2.00s)" in out
    assert "New (1)" in out and "Delta [default]  ok (0.50s)" in out
    assert "1 newly failing, 1 recovered, 0 slower, 0 faster, 1 new, 0 vanished; 1 unchanged, 0 still failing" in out


def test_diff_named_runs_slower_and_json(filled: str, capsys) -> None:
    code, out, _ = invoke(capsys, "diff", "1111", "2222", "--store", filled)
    assert code == 0
    assert "Slower (1)  by at least 1.5x and 0.5s" in out
    assert "Beta [default]  total 1.00s -> 3.00s (3.0x)" in out
    code, out, _ = invoke(capsys, "diff", "1111", "2222", "--store", filled, "--threshold", "4")
    assert code == 0 and "Slower" not in out and "2 unchanged" in out
    code, out, _ = invoke(capsys, "diff", IDS[0], "--store", filled, "--json")  # A against the latest complete
    doc = json.loads(out)
    assert code == 1 and doc["a"]["id"] == IDS[0] and doc["b"]["id"] == IDS[2]
    assert [c["target"] for c in doc["newly_failing"]] == ["Alpha"]
    assert doc["newly_failing"][0]["after"]["error_kind"] == "timeout"


def test_diff_bad_runs_exit_2(filled: str, capsys) -> None:
    for argv, message in [
        (["nope"], "no run with id 'nope'"),
        (["1111", "zzzz"], "no run with id 'zzzz'"),
        (["1111", "1111aaaa0001"], "A and B are the same run"),
        ([IDS[2]], "is the latest complete run"),
        (["--threshold", "0.5"], "--threshold"),
    ]:
        code, out, err = invoke(capsys, "diff", *argv, "--store", filled)
        assert code == 2 and out == "" and message in err and err.count("\n") == 1, (argv, err)


def test_diff_with_too_few_runs_says_so(store_location: str, capsys) -> None:
    open_store(store_location).close()
    code, out, err = invoke(capsys, "diff", "--store", store_location)
    assert code == 0 and out == "" and "nothing to compare yet: 0 complete run(s)" in err
    code, out, err = invoke(capsys, "diff", "--store", store_location, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["a"] is None and doc["newly_failing"] == [] and "nothing to compare" in err


def test_rollcall_store_env_and_default_location(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ROLLCALL_STORE", raising=False)
    code, out, err = invoke(capsys, "runs")
    assert code == 0 and out == "" and "no runs stored yet" in err and str(tmp_path / "data" / "rollcall") in err
    assert not (tmp_path / "data" / "rollcall").exists()  # reading never creates the store

    populate(str(tmp_path / "data" / "rollcall" / "history.sqlite3"))
    code, out, _ = invoke(capsys, "runs", "--json")
    assert code == 0 and len(json.loads(out)["runs"]) == 4

    monkeypatch.setenv("ROLLCALL_STORE", str(tmp_path / "elsewhere.sqlite3"))
    code, out, err = invoke(capsys, "runs")
    assert code == 2 and "no history store at" in err and "elsewhere.sqlite3" in err


def test_a_store_that_cannot_be_opened_is_one_line_exit_2(tmp_path, capsys) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"\x00garbage" * 512)
    code, out, err = invoke(capsys, "history", "--store", str(junk))
    assert code == 2 and out == "" and err.startswith("rollcall: error: ") and err.count("\n") == 1
    code, _, err = invoke(capsys, "runs", "--store", "mysql://root:hunter22@127.0.0.1/x")
    assert code == 2 and "unsupported store URL scheme 'mysql'" in err and "hunter22" not in err


def test_postgres_passwords_never_printed(capsys) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "postgresql://rollcall:pa55-w0rd-xyz@127.0.0.1:1/rollcall"
    code, out, err = invoke(capsys, "runs", "--store", url)
    assert code == 2 and out == ""
    assert "pa55-w0rd-xyz" not in err and "postgresql://rollcall:***@127.0.0.1:1/rollcall" in err
    assert err.count("\n") == 1


def test_missing_psycopg_names_the_extra(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail as if not installed
    code, _, err = invoke(capsys, "runs", "--store", "postgresql://u@127.0.0.1:1/db")
    assert code == 2
    assert err == "rollcall: error: PostgreSQL support is not installed: pip install 'rollcall[postgres]'\n"


def test_renderables_draw_on_an_injected_console(filled: str, console) -> None:
    with open_store(filled) as store:
        rows = history(store.outcomes())
        d = diff_runs(store.get_run(IDS[1]), store.run_results(IDS[1]), store.get_run(IDS[2]),
                      store.run_results(IDS[2]))
    console.print(history_table(rows, now=NOW, title="History"))
    console.print(diff_report(d))
    text = console.file.getvalue()
    assert "Alpha" in text and "██▁█ 1 ok" in text and "timeout ×1" in text
    assert "Newly failing (1)" in text and "\x1b[" not in text
