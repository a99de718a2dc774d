"""HTML: one self-contained page (opens offline) with summary cards, charts and a results table.

The page is a static shell plus three inlined parts: Chart.js (vendored under assets/, MIT),
our own report.js/report.css, and the run as JSON in a <script type="application/json">
block. Provider text is untrusted, so it never becomes markup: the JSON escapes `<`, `>`, `&`
and U+2028/9 (it cannot close its script element), report.js renders it with textContent only,
and a Content-Security-Policy lets only our two scripts (by hash) run and nothing load from
the network. Every string in the page's data shows its controls and bidi overrides visibly
(rollcall.safetext), so a name or answer cannot reorder what the reader sees.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from ..models import ErrorKind, RunResult
from ..redact import redact
from ..safetext import visible

# Characters of each answer kept (reasoning gets half as many). Big runs share a budget so the
# file stays small: 3,000 probes with huge answers come to about 3.5 MB, Chart.js included.
MAX_ANSWER_CHARS = 2000
MIN_ANSWER_CHARS = 80
ANSWER_BUDGET_CHARS = 400_000

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029\u007f-\u009f]")


@cache
def _asset(name: str) -> str:
    return resources.files("rollcall.reports").joinpath("assets", name).read_text(encoding="utf-8")


@cache
def _chart_js() -> str:
    code = _asset("chart.umd.min.js")
    # The source map comment would make devtools fetch a file that is not there.
    code = re.sub(r"\n//# sourceMappingURL=\S*\s*$", "\n", code)
    license_text = _asset("chart.js.LICENSE.md").replace("*/", "* /")
    return f"/*! Chart.js 4.6.1 — {license_text.strip()} */\n{code}"


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: it cannot end the element or start a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (a re-loaded run): \u-escape, lossless
        text = json.dumps(value, separators=(",", ":"))
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def _shown(value: Any) -> Any:
    """`value` with every string in it, at any depth, made visible (safetext.visible)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {_shown(k): _shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    return value


def _setting(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_setting(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def payload(run: RunResult) -> dict[str, Any]:
    """What report.js renders: the run, results with answers clipped to the size budget."""
    limit = max(MIN_ANSWER_CHARS, min(MAX_ANSWER_CHARS, ANSWER_BUDGET_CHARS // max(1, len(run.results))))
    # Worst case: budget * 1.5 (reasoning) * 4 bytes (UTF-8) = 2.4 MB of answer text in the file.
    results = []
    for r in run.results:
        d = r.to_dict()
        d["text"], d["text_len"] = _clip(r.text, limit), len(r.text)
        d["reasoning"], d["reasoning_len"] = _clip(r.reasoning, limit // 2), len(r.reasoning)
        d["server_timings_summary"] = r.server_timings.summary() if r.server_timings is not None else ""
        results.append(d)
    doc = run.to_dict()["run"]
    doc["repeat"] = run.settings.repeat
    doc["settings"] = {str(k): _setting(v) for k, v in run.settings.to_json().items()}
    return _shown({"run": doc, "results": results, "kinds": [k.value for k in ErrorKind]})


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


@cache
def content_security_policy() -> str:
    """The page's policy: only its two inlined scripts (by hash) run, nothing is fetched. A
    server handing the page out sends the same policy as a header (`rollcall serve`'s run page)."""
    return (
        "default-src 'none'; "
        f"script-src {_csp_hash(_chart_js())} {_csp_hash(_asset('report.js'))}; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def chart_js() -> str:
    """Chart.js as the report inlines it (with its license, without a source map reference)."""
    return _chart_js()


def dumps(run: RunResult) -> str:
    chart_js = _chart_js()
    app_js = _asset("report.js")
    for name, code in (("chart.umd.min.js", chart_js), ("report.js", app_js)):
        if "</script" in code.lower() or "<!--" in code:
            raise ValueError(f"assets/{name} cannot be inlined: it contains '</script' or '<!--'")
    csp = content_security_policy()
    title = f"rollcall: {run.ok_count} ok, {run.failed_count} failed — {run.prompt}"
    if len(title) > 120:
        title = title[:119] + "…"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rollcall {html.escape(visible(run.version))}">
<title>{html.escape(visible(title))}</title>
<style>
{_asset("report.css")}
</style>
</head>
<body>
<main>
<header id="head"></header>
<noscript><p>This report draws its tables and charts with JavaScript; please allow scripts for this file.</p></noscript>
<div class="cards" id="cards"></div>
<div class="charts" id="charts"></div>
<section class="results panel">
<div class="toolbar">
<input type="search" id="filter-text" aria-label="filter results"
 placeholder="Filter by provider, model, error or answer…">
<select id="filter-status" aria-label="filter by status"></select>
<span class="count" id="filter-count"></span>
</div>
<div class="table-wrap"><table id="results"></table></div>
<div class="skipped" id="skipped"></div>
</section>
<footer id="foot"></footer>
</main>
<script type="application/json" id="rollcall-data">{script_json(payload(run))}</script>
<script>{chart_js}</script>
<script>{app_js}</script>
</body>
</html>
"""
