"""HTML report, read as a file: self-contained, no network, data embedded safely, CSP, size bound.

What it does in a browser (charts, sorting, filtering, no script injection) is
tests/reports/test_report_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

from test_reports_common import HOSTILE, SCRIPT, hostile_run

from rollcall.models import ProbeResult
from rollcall.reports import html as html_report
from rollcall.safetext import visible


class _Page(HTMLParser):
    """Collects tags, attributes and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def _parse(document: str) -> _Page:
    page = _Page()
    page.feed(document)
    page.close()
    return page


def test_exactly_three_scripts_even_with_hostile_text() -> None:
    page = _parse(html_report.dumps(hostile_run()))
    kinds = [attrs.get("type") for attrs, _ in page.scripts]
    assert kinds == ["application/json", None, None]  # data, Chart.js, report.js: nothing injected
    assert not any(tag in ("img", "iframe", "object", "embed") for tag, _ in page.tags)


def test_embedded_data_round_trips_and_cannot_end_its_element() -> None:
    run = hostile_run()
    document = html_report.dumps(run)
    page = _parse(document)
    data_text = page.scripts[0][1]
    for bad in ("<", ">", "&", "\u2028", "\u2029", "\x85"):
        assert bad not in data_text
    data = json.loads(data_text)
    assert data == json.loads(html_report.script_json(html_report.payload(run)))
    by_target = {r["target"]: r for r in data["results"]}
    # Printable text exactly, controls shown as escapes (safetext.visible).
    assert by_target[f"Evil{SCRIPT}"]["text"] == visible(HOSTILE)
    assert "\\x00NUL \\x01\\x07\\x1b[31mANSI \\x7f\\x85 \u2028" in by_target[f"Evil{SCRIPT}"]["text"]
    assert data["run"]["prompt"] == run.prompt
    assert [ProbeResult.from_dict({k: v for k, v in r.items() if not k.endswith("_len")}).error_kind
            for r in data["results"]] == [r.error_kind for r in run.results]


def test_no_network_references() -> None:
    document = html_report.dumps(hostile_run())
    page = _parse(document)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            assert name not in attrs, (tag, attrs)
    assert "sourceMappingURL" not in document
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", document, re.I)


def test_content_security_policy_allows_exactly_our_two_scripts() -> None:
    page = _parse(html_report.dumps(hostile_run()))
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    hashes = set(re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", csp))
    executable = [text for attrs, text in page.scripts if attrs.get("type") is None]
    assert {base64.b64encode(hashlib.sha256(t.encode()).digest()).decode() for t in executable} == hashes


def test_chart_js_and_its_license_are_inlined() -> None:
    document = html_report.dumps(hostile_run())
    assert "Chart.js v4.6.1" in document
    assert "Permission is hereby granted, free of charge" in document


def test_title_is_escaped() -> None:
    document = html_report.dumps(hostile_run())
    title = document.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "&lt;script&gt;" in title


def test_answers_are_clipped_and_a_huge_run_stays_under_5_mb() -> None:
    big = "長" * 100_000  # 3 bytes a character in UTF-8
    results = tuple(
        ProbeResult(target=f"T{i}", kind="k", model="m", ok=True, text=big, reasoning=big, total_s=1.0, ttft_s=0.5)
        for i in range(3000)
    )
    document = html_report.dumps(hostile_run(results=results))
    assert len(document.encode("utf-8")) < 5_000_000
    data = json.loads(_parse(document).scripts[0][1])
    first = data["results"][0]
    assert first["text_len"] == 100_000 and html_report.MIN_ANSWER_CHARS <= len(first["text"]) < 100_000


def test_a_lone_surrogate_does_not_break_rendering() -> None:
    r = ProbeResult(target="t", kind="k", model="m", ok=True, text="half \ud83d pair")
    document = html_report.dumps(hostile_run(results=(r,)))
    document.encode("utf-8")
    data = json.loads(_parse(document).scripts[0][1])
    assert data["results"][0]["text"] == "half \\ud83d pair"


def test_settings_are_redacted() -> None:
    run = hostile_run(settings={"repeat": 1, "base_url": "https://u:sekrit-pass@host.example/v1?api_key=abcdef123456"})
    document = html_report.dumps(run)
    assert "sekrit-pass" not in document and "abcdef123456" not in document


def test_report_js_never_parses_strings_as_html() -> None:
    from importlib import resources

    code = resources.files("rollcall.reports").joinpath("assets", "report.js").read_text(encoding="utf-8")
    code_without_comments = re.sub(r"/\*.*?\*/|//[^\n]*", "", code, flags=re.S)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in code_without_comments, sink


def test_server_timings_are_in_the_data_and_summarised() -> None:
    import dataclasses

    from rollcall.models import ServerTimings

    run = hostile_run()
    timed = dataclasses.replace(run.results[0], server_timings=ServerTimings(load_s=2.0, eval_s=0.5))
    data = html_report.payload(dataclasses.replace(run, results=(timed,)))
    assert data["results"][0]["server_timings"]["load_s"] == 2.0
    assert data["results"][0]["server_timings_summary"] == "load 2.00 s, eval 0.50 s"
    assert "server_timings_summary" in html_report._asset("report.js")
