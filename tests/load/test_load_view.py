"""The terminal view of a load run: the stage table, the knee, client-bound warnings and errors
by kind, with outside text shown literally (never as markup)."""

from __future__ import annotations

from load_helpers import make_doc
from rich.console import Console

from rollcall.load.view import LoadLiveView, fmt_dur, report, stage_line, summary_line


def render(console: Console, renderable) -> str:
    console.print(renderable)
    return console.file.getvalue()


def test_report_shows_every_stage_and_the_summary(console: Console) -> None:
    doc = make_doc((1, 8, 32), ttft=(0.1, 0.11, 0.5), rps_records=(10, 80, 82))
    out = render(console, report(doc))
    assert "Load local [m]" in out
    lines = [line for line in out.splitlines() if line.strip()[:2] in ("1 ", "8 ", "32")]
    assert len(lines) == 3
    assert "knee at concurrency 8" in out
    assert out.rstrip().endswith("3 stage(s), 172 requests, 172 ok, 0 failed in 60.0 s")


def test_client_bound_stages_are_flagged_with_what_to_do(console: Console) -> None:
    doc = make_doc((1,), rps_records=(20,), lateness=0.05)
    out = render(console, report(doc))
    assert "client-bound: numbers unreliable" in out and "sends were 50 ms late at p99" in out
    assert "more worker processes or machines" in out
    assert "client-bound" in stage_line("concurrency", doc["stages"][0]).plain


def test_errors_are_shown_by_kind_with_an_example(console: Console) -> None:
    doc = make_doc((1, 4), rps_records=(10, 10), fail=(10, 3))
    out = render(console, report(doc))
    assert "concurrency 1: 10 failed: http_status ×10 (HTTP 503: busy)" in out
    assert "concurrency 4: 3 failed" in out


def test_outside_text_is_never_markup(console: Console) -> None:
    doc = make_doc((1,), target="evil [bold]x[/bold] [link=http://evil.example/]y[/link]\x1b]0;pwned\x07",
                   model="llama [free]\u202e", rps_records=(2,), fail=(1,))
    doc["stages"][0]["error_examples"]["http_status"] = "oops [/bold] closing tag [red] \x1b[2J"
    out = render(console, report(doc))
    assert "evil [bold]x[/bold] [link=http://evil.example/]y[/link]\\x1b]0;pwned\\x07" in out
    assert "[llama [free]\\u202e]" in out and "oops [/bold] closing tag [red] \\x1b[2J" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_an_interrupted_run_says_which_stage_was_cut() -> None:
    doc = make_doc((1, 2), interrupted="SIGTERM")
    assert summary_line(doc).endswith("interrupted (SIGTERM), stage 2 partial")


def test_the_live_view_prints_a_line_per_stage_when_not_a_terminal(console: Console) -> None:
    doc = make_doc((1, 8))
    view = LoadLiveView(console)
    view.start({"target": "local", "model": "m", "mode": "concurrency", "stages": ["concurrency 1", "concurrency 8"]})
    for stage in doc["stages"]:
        view.stage_finished(stage)
    view.finish(doc)
    out = console.file.getvalue()
    assert out.startswith("Load local [m]: 2 stage(s): concurrency 1, concurrency 8")
    assert out.count("ok  ") >= 2 and "2 stage(s), 50 requests" in out


def test_durations_for_people() -> None:
    assert [fmt_dur(v) for v in (None, 0.0042, 0.0123, 0.456, 2.5)] == ["-", "4.2ms", "12ms", "456ms", "2.50s"]


def test_the_live_line_on_a_terminal_shows_progress_then_gives_way() -> None:
    import io

    from load_helpers import record

    from rollcall.load.spec import StageSpec
    from rollcall.load.view import LoadLiveView

    out = io.StringIO()
    terminal = Console(file=out, width=100, force_terminal=True, color_system=None)
    view = LoadLiveView(terminal)
    view.start({"target": "local", "model": "m", "mode": "rate", "stages": ["rate 5/s"]})
    view.stage_started(StageSpec(0, "rate", 5.0))
    view._refreshed = -1e9  # refresh at once
    view.records([record(number=i, ttft_s=0.1 + i / 1000) for i in range(9)]
                 + [record(number=9, ok=False, error_kind="rate_limit")], None)
    live = out.getvalue()
    assert "rate 5/s: 10 done" in live and "TTFT p50 104ms" in live and "errors: rate_limit ×1" in live
    doc = make_doc((5.0,), mode="rate", rps_records=(10,))
    view.stage_finished(doc["stages"][0])
    assert view.live is None and "rate 5/s" in out.getvalue().splitlines()[-1]


def test_a_closed_loop_with_fewer_requests_than_users_says_so(console: Console) -> None:
    doc = make_doc((64,), rps_records=(40,))
    doc["stages"][0]["max_in_flight"] = 40
    out = render(console, report(doc))
    assert "concurrency 64: at most 40 requests were in flight at once" in out
