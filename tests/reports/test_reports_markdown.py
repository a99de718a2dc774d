"""Markdown status table: shape, order, escaping of untrusted text, links, repeat aggregation."""

from __future__ import annotations

import dataclasses
import re

from test_reports_common import hostile_run, repeat_run

from rollcall.models import ErrorKind, ProbeResult, RunResult, TargetInfo
from rollcall.reports import markdown

# A cell boundary is a "|" not escaped by a backslash.
_BOUNDARY = re.compile(r"(?<!\\)\|")


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in _BOUNDARY.split(line)[1:-1]])
    return rows


def test_every_row_has_exactly_the_header_columns() -> None:
    rows = _rows(markdown.dumps(hostile_run()))
    assert rows[0] == ["Provider", "Model", "Status", "TTFT", "Total", "tok/s", "Error"]
    assert all(len(r) == 7 for r in rows), [r for r in rows if len(r) != 7]
    assert len(rows) == 2 + len(hostile_run().results)  # header, alignment row, one per result


def test_answers_first_fastest_first_then_failures() -> None:
    rows = _rows(markdown.dumps(hostile_run()))[2:]
    oks = [r for r in rows if r[2] == "✅ ok"]
    assert rows[: len(oks)] == oks
    totals = [float(r[4].removesuffix(" s")) for r in oks]
    assert totals == sorted(totals)
    statuses = {r[2] for r in rows[len(oks):]}
    assert "⌛ timeout" in statuses and "🔑 auth" in statuses and "🚦 rate\\_limit" in statuses
    assert len(statuses) == len(ErrorKind)


def test_untrusted_text_cannot_break_the_table_or_inject_markup() -> None:
    text = markdown.dumps(hostile_run())
    assert "<script" not in text and "<img" not in text  # HTML is shown, never rendered
    assert "&lt;script&gt;" in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(hostile_run().results)  # newlines in answers/errors added no rows


def test_cell_escapes_pipes_newlines_and_markdown() -> None:
    assert markdown.cell("a|b\nc\r\nd") == "a\\|b c d"
    assert markdown.cell("*bold* _it_ `code` [x](http://e) ~s~ #h") == (
        "\\*bold\\* \\_it\\_ \\`code\\` \\[x\\](http://e) \\~s\\~ \\#h"
    )
    assert markdown.cell("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert markdown.cell("x" * 300, 10) == "x" * 9 + "…"


def test_links_are_http_only_and_cannot_break_out() -> None:
    links = {"Fast.Provider": "https://fast.example/chat?a=1&b=(2)", "Unicode💬": "javascript:alert(1)",
             "Failing-auth": "https://x.example/a b|c"}
    run = dataclasses.replace(hostile_run(), targets=tuple(TargetInfo(n, "g4f", ("m",), link) for n, link in
                                                           links.items()))
    text = markdown.dumps(run)
    assert markdown.dumps(RunResult.from_dict(run.to_dict())) == text  # the links travel in the document
    assert "[Fast.Provider](https://fast.example/chat?a=1&b=%282%29)" in text
    assert "javascript:" not in text
    assert "[Failing-auth](https://x.example/a%20b%7Cc)" in text
    assert all(len(r) == 7 for r in _rows(text))


def test_estimated_token_rate_is_marked() -> None:
    rows = {r[0]: r for r in _rows(markdown.dumps(hostile_run()))}
    evil = next(v for k, v in rows.items() if k.startswith("Evil"))
    assert evil[5].endswith("~")


def test_repeat_run_aggregates_per_target() -> None:
    rows = _rows(markdown.dumps(repeat_run()))
    assert rows[0][:4] == ["Provider", "Model", "Status", "OK"]
    body = {r[0]: r for r in rows[2:]}
    assert list(body) == ["Steady", "Flaky", "Down"]  # most reliable, then fastest
    assert body["Steady"][2:4] == ["✅ ok", "3/3"]
    assert body["Flaky"][2:4] == ["⚠️ flaky", "2/3"] and body["Flaky"][7] == "timeout: Timeout"
    assert body["Down"][2:4] == ["❌ connect", "0/3"]
    assert body["Steady"][5] == "1.00 s"  # median of 0.9, 1.0, 1.3


def test_summary_line_and_not_loaded() -> None:
    text = markdown.dumps(hostile_run())
    assert text.startswith("**4 ok, 11 failed** in 30.88 s · interrupted")
    assert "Not loaded: Broken.Import" in text


def test_empty_model_shows_default_and_missing_numbers_show_a_dash() -> None:
    r = ProbeResult(target="T", kind="k", model="", ok=False, error_kind=ErrorKind.EMPTY, error="nothing")
    row = _rows(markdown.dumps(hostile_run(results=(r,))))[2]
    assert row == ["T", "default", "❌ empty", "–", "–", "–", "nothing"]
