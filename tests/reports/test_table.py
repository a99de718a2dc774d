"""The terminal view renders to an injected Console: result lines, the table, failures, summary."""

from __future__ import annotations

from rollcall import ErrorKind, ProbeResult, RunInfo, RunResult, Skipped
from rollcall.live import LiveView
from rollcall.reports.table import full_report, result_line


def run_with(results, **kw) -> RunResult:
    return RunResult(id="r", started_at="s", ended_at="e", wall_s=1.5, prompt="p", results=tuple(results), **kw)


OK = ProbeResult("Fast", "g4f", "gpt-4", True, ttft_s=0.2, total_s=0.5, tokens_per_s=40.0, text="Hello\nthere")
SLOW = ProbeResult("Slow", "g4f", "", True, ttft_s=1.0, total_s=3.0, text="Hi")
BAD = ProbeResult("Down", "openai", "m", False, ErrorKind.RATE_LIMIT, "HTTPStatusError: HTTP 429", status=429)


def test_result_line(console):
    console.print(result_line(OK))
    console.print(result_line(BAD))
    out = console.file.getvalue()
    assert "ok" in out and "Fast [gpt-4]" in out and "ttft 0.20s" in out and "40.0 tok/s" in out
    assert "Hello there" in out  # answers are flattened to one line
    assert "rate_limit   Down [m]" in out and "HTTP 429" in out


def test_full_report_sorted_fastest_first_with_failures_grouped(console):
    run = run_with([SLOW, BAD, OK], skipped=(Skipped("G4FSpace", "ConnectionError: offline"),), loop_lag_max_s=0.5)
    console.print(full_report(run))
    out = console.file.getvalue()
    assert out.index("Fast") < out.index("Slow")
    assert "rate_limit (1)" in out and "Down: HTTPStatusError: HTTP 429" in out
    assert "Not loaded" in out and "G4FSpace: ConnectionError: offline" in out
    assert "2 ok, 1 failed in 1.50 s" in out
    assert "timings unreliable" in out


def test_repeat_table_and_quiet_view(console):
    run = run_with([OK, OK, BAD], settings={"repeat": 2})
    view = LiveView(console, quiet=True)
    view.start(RunInfo.of(run))
    view.result(OK)
    view.finish(run)
    out = console.file.getvalue()
    assert out.strip() == "2 ok, 1 failed in 1.50 s"
    console.file.truncate(0)
    console.print(full_report(run))
    assert "Per target" in console.file.getvalue() and "2/2 (100%)" in console.file.getvalue()


def test_the_servers_own_timings_show_beside_rollcalls(console):
    from rollcall.models import ServerTimings

    cold = ProbeResult("local", "ollama", "llama3.2", True, ttft_s=2.2, total_s=2.6, text="Hi",
                       server_timings=ServerTimings(total_s=2.5, load_s=2.1, prompt_eval_s=0.05, eval_s=0.3,
                                                    eval_tokens=3))
    console.print(result_line(cold))
    console.print(full_report(run_with([cold, OK])))
    out = console.file.getvalue()
    assert "(server: load 2.10 s, prompt 0.05 s, eval 0.30 s (10.0 tok/s), total 2.50 s)" in " ".join(out.split())
    assert "server load/eval" in out and "2.10s / 0.30s" in out
    console.file.seek(0)
    console.file.truncate()
    console.print(full_report(run_with([OK])))
    assert "server load/eval" not in console.file.getvalue()  # no column when no server reports them


def test_the_answer_column_gives_way_on_a_narrow_terminal() -> None:
    """At 80 columns the names and times stay whole (rich squeezed `steady` into `stea`/`dy`
    and `0.30s` into `0.3…`) and the answer takes what is left."""
    import io

    from rich.console import Console

    from rollcall import ServerTimings

    timed = ProbeResult("siml", "ollama", "steady", True, ttft_s=0.1, total_s=0.3, tokens_per_s=99.5,
                        text="Hello! I am a simulated model, not GPT 3.5. " * 3,
                        server_timings=ServerTimings(load_s=0.001, eval_s=0.19))
    for width in (80, 100, 200):
        console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
        console.print(full_report(run_with([timed, OK])))
        rows = [row for row in console.file.getvalue().splitlines() if row.startswith("│")]
        assert len(rows) == 2 and all(len(row) <= width for row in rows)  # one line per answer
        assert "│ steady │ 0.10s │ 0.30s │  99.5 │" in rows[0] and "Hello! I am" in rows[0]
        assert rows[0].rstrip().endswith("… │") or width == 200
