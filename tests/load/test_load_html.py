"""The load HTML report as a file: self-contained, CSP-locked, and hostile text stays inside the
JSON block (the browser half is test_load_report_browser.py)."""

from __future__ import annotations

import html
import json
import re

from load_helpers import make_doc
from test_reports_common import HOSTILE, IMG, SCRIPT

from rollcall.load.sinks import DocumentWriter
from rollcall.redact import register_secret
from rollcall.safetext import visible
from rollcall.reports.load_html import dumps


def hostile_doc() -> dict:
    doc = make_doc((1, 8, 32), target=f"Evil{SCRIPT}", model=f"m{IMG}", ttft=(0.1, 0.11, 0.5),
                   rps_records=(10, 80, 82), fail=(0, 5, 20), slo={"ttft": 0.2}, lateness=0.001)
    for stage in doc["stages"]:
        if stage["errors"]:
            stage["error_examples"] = {"http_status": HOSTILE}
    doc["stages"][2]["client_bound"] = True
    doc["stages"][2]["client_bound_reasons"] = ["sends were 40 ms late at p99 (limit 10 ms)"]
    return doc


def test_the_page_is_one_locked_down_file(tmp_path) -> None:
    page = dumps(hostile_doc())
    assert page.startswith("<!DOCTYPE html>")
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["img-src"] == "data:"
    assert directives["script-src"].count("'sha256-") == 2 and "unsafe" not in directives["script-src"]
    assert page.count("<script") == 3  # the data block, Chart.js and load.js; nothing from the data
    assert SCRIPT not in page and IMG not in page  # only ever inside the JSON, escaped


def test_the_embedded_document_is_the_run(tmp_path) -> None:
    doc = hostile_doc()
    page = dumps(doc)
    data = re.search(r'<script type="application/json" id="rollcall-data">(.*?)</script>', page, re.S).group(1)
    embedded = json.loads(data)
    assert embedded["stages"][1]["error_examples"]["http_status"] == visible(HOSTILE)  # controls shown
    assert "\x1b" not in data and "\\x1b[31m" in data
    assert embedded["target"] == doc["target"] and [s["concurrency"] for s in embedded["stages"]] == [1, 8, 32]


def test_settings_and_messages_are_scrubbed_of_secrets(tmp_path) -> None:
    register_secret("sk-html-secret-0123456789")
    doc = make_doc((1,), rps_records=(4,), fail=(2,))
    doc["settings"]["extra"] = {"note": "sk-html-secret-0123456789"}
    doc["stages"][0]["error_examples"]["http_status"] = "bad key sk-html-secret-0123456789"
    path = tmp_path / "load.html"
    DocumentWriter("html", str(path)).finish(doc)
    assert "sk-html-secret" not in path.read_text()
