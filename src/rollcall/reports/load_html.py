"""The HTML report of a load run: one offline page built on the run report's parts (vendored
Chart.js, report.css, the same CSP and script-safe JSON; see html.py), drawn by assets/load.js.

The page holds the rollcall.load/1 document only (no per-request records): CDFs come from each
stage's quantiles, the timeline from its bounded bins, so the file stays small however long the
run was. Names, model ids and error messages are text to the page, never markup, and show their
controls and bidi overrides visibly (rollcall.safetext, as the run report does).
"""

from __future__ import annotations

import html
from typing import Any

from ..redact import redact
from ..safetext import visible
from .html import _asset, _chart_js, _csp_hash, _setting, _shown, script_json


def _safe(value: Any) -> Any:
    """A setting with every string in it scrubbed of secrets (tables and lists kept as such)."""
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    return _setting(value)


def payload(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its settings made safe to show (secrets scrubbed)."""
    out = dict(doc)
    out["settings"] = _safe(doc.get("settings") or {})
    stages = []
    for stage in doc.get("stages", []):
        stage = dict(stage)
        stage["error_examples"] = {k: redact(v) or "" for k, v in (stage.get("error_examples") or {}).items()}
        stages.append(stage)
    out["stages"] = stages
    return _shown(out)


def dumps(doc: dict[str, Any]) -> str:
    chart_js = _chart_js()
    app_js = _asset("load.js")
    for name, code in (("chart.umd.min.js", chart_js), ("load.js", app_js)):
        if "</script" in code.lower() or "<!--" in code:
            raise ValueError(f"assets/{name} cannot be inlined: it contains '</script' or '<!--'")
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(chart_js)} {_csp_hash(app_js)}; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    totals = doc.get("totals") or {}
    title = f"rollcall load: {doc.get('target', '')} [{doc.get('model') or 'default'}] — {totals.get('ok', 0)} ok, " \
            f"{totals.get('failed', 0)} failed"
    if len(title) > 120:
        title = title[:119] + "…"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rollcall {html.escape(visible(str(doc.get('version', ''))))}">
<title>{html.escape(visible(title))}</title>
<style>
{_asset("report.css")}
td.notes .pill {{ margin-right: 4px; }}
.stage-errors h3 {{ font-size: 14px; margin: 14px 0 4px; }}
.stage-errors li {{ overflow-wrap: anywhere; }}
.stage-errors strong {{ color: var(--bad); }}
</style>
</head>
<body>
<main>
<header id="head"></header>
<noscript><p>This report draws its tables and charts with JavaScript; please allow scripts for this file.</p></noscript>
<div class="cards" id="cards"></div>
<div class="charts" id="charts"></div>
<section class="results panel">
<h2>Stages</h2>
<div class="table-wrap"><table id="stages"></table></div>
<div id="errors"></div>
</section>
<footer id="foot"></footer>
</main>
<script type="application/json" id="rollcall-data">{script_json(payload(doc))}</script>
<script>{chart_js}</script>
<script>{app_js}</script>
</body>
</html>
"""
