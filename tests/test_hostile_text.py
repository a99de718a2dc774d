"""Hostile text in every view and every report: shown literally, never markup, never terminal control.

Answers, errors, model ids, target and site names and skipped reasons all carry markup that rich
would parse (`oops [/bold] closing tag` crashed the final table) and escape sequences a terminal
would run (window title, clipboard write, hyperlink, screen clear, bidi override). Every terminal
renderable is rendered to a colour terminal console; every file format is rendered too. JSON and
JSONL keep the exact text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console, RenderableType

from rollcall import ErrorKind, ProbeResult, ProbeSettings, RunInfo, RunResult, Skipped
from rollcall.cli import list_cmd
from rollcall.kinds import g4f as g4f_kind
from rollcall.kinds.http import endpoint_listing
from rollcall.live import LiveView
from rollcall.reports import csv as csv_report
from rollcall.reports import html as html_report
from rollcall.reports import json as json_report
from rollcall.reports import jsonl, junit, markdown
from rollcall.reports.table import full_report, result_line
from rollcall.runner import Runner
from rollcall.safetext import one_line, visible
from rollcall.sinks import Fanout
from rollcall.store.base import Outcome, RunRecord
from rollcall.store.queries import diff_runs, history
from rollcall.store.render import diff_report, history_table, runs_table
from rollcall.targets.g4f import ProviderInfo
from rollcall.testing import ScriptedTarget

# Each is at most 48 characters once shown, so it fits the narrowest column whole.
SAMPLES = {
    "closing tag": "oops [/bold] closing tag",
    "link markup": "[link=http://evil.example/]safe[/link]",
    "open style": "[bold red]x",
    "emoji code": "llama [free] :smile:",
    "OSC 0 title": "\x1b]0;pwned title\x07",
    "OSC 2 title": "\x1b]2;pwned title\x1b\\",
    "OSC 52 clipboard": "\x1b]52;c;cHduZWQ=\x07",
    "OSC 8 hyperlink": "\x1b]8;;http://e.vil/\x07ok\x1b]8;;\x07",
    "CSI 2J clear": "\x1b[2J\x1b[H",
    "C1 CSI/OSC": "\x9b2J \x9d0;t\x9c",
    "bidi override": "abc\u202edcba\u2066x\u2069",
}
# rich's own control codes (colours, the progress bar's cursor moves); nothing else may appear.
RICH_OWN = re.compile(r"\x1b\[(?:[0-9;]*m|\?25[hl]|2K|[0-9]*A)|\r")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def assert_safe(output: str, *, terminal: bool = True) -> str:
    """No C0/C1/bidi control and no escape sequence but (on a terminal) rich's own; returns the text
    without rich's codes."""
    plain = RICH_OWN.sub("", output) if terminal else output
    found = UNSAFE.search(plain.replace("\r\n", "\n"))
    where = plain[max(0, found.start() - 40):found.end() + 20] if found else ""
    assert found is None, f"{found.group()!r} reached the output: ...{where!r}"
    output.encode("utf-8")
    return plain


def assert_shows(output: str, samples: Sequence[str] = tuple(SAMPLES.values())) -> None:
    plain = assert_safe(output)
    for sample in samples:
        assert one_line(sample) in plain, f"{one_line(sample)!r} not shown literally"


def render(renderable: RenderableType, *, color: bool = True) -> str:
    console = Console(file=io.StringIO(), width=400, force_terminal=True,
                      color_system="truecolor" if color else None, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


def ok_result(sample: str, **kw: Any) -> ProbeResult:
    fields: dict[str, Any] = dict(target=sample, kind="openai", model=sample, ok=True, ttft_s=0.1, total_s=0.2,
                                  tokens_per_s=10.0, text=sample, reasoning=sample, started_at="2024-05-01T12:00:00")
    return ProbeResult(**{**fields, **kw})


def failed_result(sample: str, **kw: Any) -> ProbeResult:
    fields: dict[str, Any] = dict(target=sample, kind="openai", model="m", ok=False, error_kind=ErrorKind.HTTP_STATUS,
                                  error=sample, status=500, started_at="2024-05-01T12:00:00")
    return ProbeResult(**{**fields, **kw})


def hostile_run(samples: Sequence[str] = tuple(SAMPLES.values()), repeat: int = 1) -> RunResult:
    results = [r for s in samples for r in (ok_result(s), failed_result(s))]
    return RunResult(id="r1", started_at="2024-05-01T12:00:00", ended_at="e", wall_s=1.0, prompt=samples[0],
                     results=tuple(results), skipped=tuple(Skipped(s, s) for s in samples),
                     settings={"repeat": repeat, "model": samples[0]})


# ---- terminal views -----------------------------------------------------------------------

@pytest.mark.parametrize("color", [True, False], ids=["color", "no-color"])
def test_live_lines_and_the_final_report(color: bool) -> None:
    console = Console(file=io.StringIO(), width=400, force_terminal=True,
                      color_system="truecolor" if color else None, highlight=False)
    run = hostile_run()
    view = LiveView(console)
    view.start(RunInfo.of(run))
    for r in run.results:
        view.result(r)
    view.finish(run)
    out = console.file.getvalue()
    assert_shows(out)
    assert "Answers (fastest first)" in out and "Not loaded" in out and "11 ok, 11 failed in 1.00 s" in out


def test_model_ids_with_brackets_show_as_they_are() -> None:
    result = ok_result("x", target="T", model="llama [free]")
    assert "T [llama [free]]" in render(result_line(result), color=False)
    run = RunResult(id="r", started_at="s", ended_at="e", wall_s=1.0, prompt="p", results=(result,))
    assert re.search(r"│ T +│ llama \[free\] +│", render(full_report(run), color=False))


def test_per_target_table_and_failures_list() -> None:
    out = render(full_report(hostile_run(repeat=2)))
    assert "Per target" in out
    assert_shows(out)


def _records(samples: Sequence[str]) -> list[RunRecord]:
    return [RunRecord(id=f"run{i}", started_at=f"2024-05-0{1 + i % 9}T12:00:00+00:00", site=s, complete=i % 2 == 0,
                      ok=1, failed=1, targets=2, wall_s=1.0) for i, s in enumerate(samples)]


def test_runs_table() -> None:
    samples = list(SAMPLES.values())
    out = render(runs_table(_records(samples) + [RunRecord(id=samples[0], started_at=samples[1], site="x")]))
    assert_shows(out)


def test_history_table_by_site() -> None:
    outcomes = [Outcome(target=s, model=s, site=s, run_id=f"run{i}", started_at="2024-05-01T12:00:00+00:00",
                        ok=i % 2 == 0, error_kind=None if i % 2 == 0 else s, ttft_s=0.1, total_s=0.2)
                for i, s in enumerate(list(SAMPLES.values()) * 2)]
    rows = history(outcomes, by_site=True)
    out = render(history_table(rows, now=dt.datetime.now(dt.UTC), title="History", by_site=True))
    assert_shows(out)


def test_diff_report() -> None:
    samples = list(SAMPLES.values())
    before = [ok_result(s) for s in samples] + [ok_result(s, target=f"gone {s}") for s in samples]
    after = [failed_result(s, model=s) for s in samples] + [ok_result(s, target=f"new {s}") for s in samples]
    a = RunRecord(id="a", started_at="x", site=samples[0], complete=True)
    b = RunRecord(id="b", started_at="y", site=samples[4])
    out = render(diff_report(diff_runs(a, before, b, after)))
    assert "Newly failing (11)" in out and "New (11)" in out and "Vanished (11)" in out
    assert_shows(out)


def test_list_tables_and_not_loaded_lines() -> None:
    samples = list(SAMPLES.values())
    infos = [ProviderInfo(name=s, working=True, needs_auth=False, supports_stream=True, models=3, default_model=s,
                          url="") for s in samples]
    endpoints = [{"target": s, "base_url": s, "models": ["llama [free]", s], "error": None} for s in samples]
    endpoints += [{"target": f"e{i}", "base_url": "http://h/v1", "models": None, "error": s}
                  for i, s in enumerate(samples)]
    endpoints_table = list_cmd.listing_table(endpoint_listing("openai", "endpoints", endpoints))
    for renderable in (list_cmd.listing_table(g4f_kind.listing(infos)),
                       list_cmd.not_loaded([Skipped(s, s) for s in samples]), endpoints_table):
        assert_shows(render(renderable))
    assert "llama [free], " in render(endpoints_table)


async def test_warnings_that_quote_an_exception_are_shown_literally(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "".join(SAMPLES.values())

    def consumer(result: ProbeResult) -> None:
        raise RuntimeError(f"cannot show {result.text}")

    class BrokenSink:
        def start(self, info: RunInfo) -> None:
            raise ValueError(hostile)

    Fanout([BrokenSink()]).start(RunInfo.of(hostile_run()))
    target = ScriptedTarget("t", answer=hostile, usage=False)
    run = await Runner([target], settings=ProbeSettings(timeout_s=5), on_result=consumer).run()
    assert run.results[0].text == hostile
    err = capsys.readouterr().err
    assert err.count("rollcall: warning:") == 2
    assert_shows(err, [hostile, f"cannot show {hostile}"])


def test_the_classic_script_prints_outside_text_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from rollcall.classic import _print_result

    for sample in SAMPLES.values():
        _print_result(ok_result(sample))
        _print_result(failed_result(sample))
    assert_shows(capsys.readouterr().out)


# ---- files ----------------------------------------------------------------------------------

def test_markdown() -> None:
    out = markdown.dumps(hostile_run())
    assert_safe(out, terminal=False)
    assert "oops \\[/bold\\] closing tag" in out and "\\\\x1b\\]0;pwned title\\\\x07" in out
    for sample in SAMPLES.values():
        assert markdown.cell(sample) in out


def test_csv_is_safe_to_cat_and_defuses_formulas_while_json_keeps_the_exact_text() -> None:
    samples = [*SAMPLES.values(), "=cmd|' /C calc'!A0", "@SUM(A1)", "-1.5"]
    run = hostile_run(samples)
    out = csv_report.dumps(run)
    assert_safe(out, terminal=False)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    shown = {csv_report.defuse(visible(s)) for s in samples}
    assert {row["text"] for row in rows if row["ok"] == "true"} == shown
    assert {row["error"] for row in rows if row["ok"] == "false"} == shown
    assert {"'=cmd|' /C calc'!A0", "'@SUM(A1)", "-1.5", "\\x1b[2J\\x1b[H", SAMPLES["closing tag"]} <= shown
    # The exact text, neither shown visibly nor defused, stays in JSON and JSONL.
    back = RunResult.from_dict(json.loads(json_report.dumps(run)))
    assert back.results == run.results and back.skipped == run.skipped
    lines = [json.loads(x) for x in jsonl.dumps(run).splitlines()]
    assert [x["text"] for x in lines] == [r.text for r in run.results]


def test_junit() -> None:
    out = junit.dumps(hostile_run())
    assert_safe(out, terminal=False)
    root = ET.fromstring(out)
    messages = {f.get("message") for f in root.iter("failure")}
    assert messages == {one_line(s) for s in SAMPLES.values()}
    skipped = {s.get("message") for s in root.iter("skipped")}
    assert skipped == {one_line(s) for s in SAMPLES.values()}
    outs = "".join(e.text or "" for e in root.iter("system-out"))
    for sample in SAMPLES.values():
        assert visible(sample) in outs


def test_html_data_shows_controls_and_bidi_visibly() -> None:
    document = html_report.dumps(hostile_run())
    assert_safe(document, terminal=False)
    embedded = re.search(r'id="rollcall-data">(.*?)</script>', document, re.S)
    assert embedded is not None
    data = json.loads(embedded.group(1))
    texts = {r["text"] for r in data["results"] if r["ok"]} | {r["error"] for r in data["results"] if not r["ok"]}
    assert texts == {visible(s) for s in SAMPLES.values()}
    assert {s["name"] for s in data["run"]["skipped"]} == {visible(s) for s in SAMPLES.values()}
    assert not UNSAFE.search(json.dumps(data, ensure_ascii=False))



# ---- property: arbitrary text through every renderer ----------------------------------------

HOSTILE = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
           + list("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ud800\udfff\u2028\ufeff")
           + list("[]/\\=:|*_`<>&\"'#~@+-"))
HOSTILE_CHARS = st.sampled_from(HOSTILE)
PIECES = st.one_of(
    st.text(HOSTILE_CHARS, max_size=6),
    st.sampled_from([*SAMPLES.values(), "[/]", "[/link]", "[link=x]", ":thumbs_up:", "\x1b[", "\x1b]"]),
    st.text(max_size=6),
)
HOSTILE_TEXT = st.lists(PIECES, max_size=6).map("".join)
# A plain word the text starts with: every renderer must show it verbatim.
WORD = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
               min_size=3, max_size=8)


def _terminal_views(run: RunResult, word: str, text: str) -> list[RenderableType]:
    record = RunRecord(id=word, started_at=text, site=text, complete=True)
    outcome = Outcome(target=text, model=text, site=text, run_id="r", started_at="2024-05-01T12:00:00+00:00",
                      ok=False, error_kind=text, ttft_s=None, total_s=None)
    info = ProviderInfo(name=text, working=True, needs_auth=False, supports_stream=True, models=1,
                        default_model=text, url=text)
    return [
        *(result_line(r) for r in run.results),
        full_report(run),
        runs_table([record]),
        history_table(history([outcome], by_site=True), now=dt.datetime.now(dt.UTC), title="h", by_site=True),
        diff_report(diff_runs(record, run.results[:1], record, run.results[1:])),
        list_cmd.listing_table(g4f_kind.listing([info])),
        list_cmd.not_loaded(list(run.skipped)),
        list_cmd.listing_table(endpoint_listing("openai", text, [
            {"target": text, "base_url": text, "models": [text], "error": None},
            {"target": text, "base_url": text, "models": None, "error": text}])),
    ]


FILES: dict[str, Callable[[RunResult], str]] = {
    "markdown": markdown.dumps, "csv": csv_report.dumps, "junit": junit.dumps, "html": html_report.dumps,
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word=WORD, tail=HOSTILE_TEXT, repeat=st.sampled_from([1, 2]))
@example(word="every", tail=" ".join(HOSTILE), repeat=1)  # each character at least once, whatever is drawn
@example(word="sample", tail=" ".join(SAMPLES.values()), repeat=2)
def test_any_text_through_every_renderer(word: str, tail: str, repeat: int) -> None:
    text = f"{word} {tail}"
    results = (ok_result(text), failed_result(text, model=text))
    run = RunResult(id=word, started_at=text, ended_at=text, wall_s=1.0, prompt=text, results=results,
                    skipped=(Skipped(text, text),), settings={"repeat": repeat}, version=text)
    for renderable in _terminal_views(run, word, text):
        for color in (True, False):
            out = render(renderable, color=color)
            plain = assert_safe(out)
            assert word in plain
            if not color:
                assert "\x1b" not in out
    for name, dumps in FILES.items():
        out = dumps(run)
        assert_safe(out, terminal=False)
        assert word in out, name
    assert json.loads(json_report.dumps(run))["results"][0]["text"] == text  # JSON keeps it exactly

