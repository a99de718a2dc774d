"""The HTML pages: static shells that their scripts (serve-common.js, then overview.js, target.js
or incidents.js) fill from the JSON API, with the HTML report's
look (its report.css, its vendored Chart.js), and the run page, which is that report itself.

Only the packaged files named in STATIC are ever served (no path from a request reaches the file
system, no directory is listed). Shells carry no inline script: what a page needs to know (the
target and model it shows, where the API is) sits in a `<script type="application/json">`
block, JSON-escaped so it cannot end its element, and the Content-Security-Policy lets only
this server's own scripts run.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .. import __version__
from ..reports.html import chart_js, script_json
from ..safetext import one_line

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def _read(package: str, name: str) -> bytes:
    return resources.files(package).joinpath("assets", name).read_bytes()


_JS, _CSS, _TEXT = "text/javascript; charset=utf-8", "text/css; charset=utf-8", "text/plain; charset=utf-8"
STATIC = {
    "chart.umd.min.js": lambda: Asset(chart_js().encode("utf-8"), _JS),
    "report.css": lambda: Asset(_read("rollcall.reports", "report.css"), _CSS),
    "chart.js.LICENSE.md": lambda: Asset(_read("rollcall.reports", "chart.js.LICENSE.md"), _TEXT),
    "serve.css": lambda: Asset(_read("rollcall.serve", "serve.css"), _CSS),
    "serve-common.js": lambda: Asset(_read("rollcall.serve", "serve-common.js"), _JS),
    "overview.js": lambda: Asset(_read("rollcall.serve", "overview.js"), _JS),
    "target.js": lambda: Asset(_read("rollcall.serve", "target.js"), _JS),
    "incidents.js": lambda: Asset(_read("rollcall.serve", "incidents.js"), _JS),
}


@cache
def asset(name: str) -> Asset | None:
    make = STATIC.get(name)
    return make() if make is not None else None


def _static(root: str, name: str) -> str:
    found = asset(name)
    version = found.etag.strip('"')[:10] if found else ""
    return f"{root}static/{name}?v={version}"


def root_for(raw_path: str) -> str:
    """The relative way back to the server's root from `raw_path` (so pages work behind a proxy
    that serves them under a sub-path)."""
    depth = raw_path.count("/") - 1
    return "../" * depth if depth > 0 else "./"


_BODIES = {
    "overview": """<header id="head"></header>
<div class="banner" id="banner"></div>
<div class="cards" id="cards"></div>
<section class="panel results">
<div class="toolbar">
<input type="search" id="filter-text" aria-label="filter targets" placeholder="Filter by target, model, site or error…">
<select id="filter-site" aria-label="filter by site"></select>
<select id="filter-state" aria-label="filter by state"></select>
<span class="count" id="filter-count"></span>
</div>
<div class="table-wrap"><table id="overview"></table></div>
</section>""",
    "target": """<header id="head"></header>
<div class="toolbar range" id="range"></div>
<div class="cards" id="cards"></div>
<div class="charts" id="charts"></div>
<section class="panel" id="sites-panel"><h2>By site</h2><div class="table-wrap"><table id="sites"></table></div></section>
<section class="panel" id="incidents-panel"><h2>Incidents</h2><p class="hint" id="incidents-hint"></p>
<div class="chart-box" id="timeline-box"><canvas id="timeline"></canvas></div>
<div class="table-wrap"><table id="incidents"></table></div></section>
<section class="panel results"><h2>Latest results</h2><div class="table-wrap"><table id="results"></table></div></section>""",
    "incidents": """<header id="head"></header>
<section class="panel results">
<div class="toolbar">
<select id="filter-open" aria-label="open or all"></select>
<select id="filter-since" aria-label="since when"></select>
<select id="filter-site" aria-label="filter by site"></select>
<span class="count" id="filter-count"></span>
</div>
<div class="table-wrap"><table id="incidents"></table></div>
</section>""",
}
_CHARTS = {"target"}  # pages that load Chart.js


def shell(page: str, *, title: str, root: str, data: dict[str, Any] | None = None) -> str:
    """The HTML of `page` (a key of _BODIES); `data` reaches its script as the page's JSON block."""
    doc = {"page": page, "root": root, "version": __version__, **(data or {})}
    scripts = ([_static(root, "chart.umd.min.js")] if page in _CHARTS else []) + [
        _static(root, "serve-common.js"), _static(root, f"{page}.js")]
    script_tags = "\n".join(f'<script src="{html.escape(src)}"></script>' for src in scripts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<meta name="generator" content="rollcall {html.escape(__version__)}">
<title>{html.escape(one_line(title, 160))}</title>
<link rel="stylesheet" href="{html.escape(_static(root, "report.css"))}">
<link rel="stylesheet" href="{html.escape(_static(root, "serve.css"))}">
</head>
<body data-page="{html.escape(page)}">
<main>
<nav class="nav" id="nav"></nav>
<noscript><p>These pages draw their tables and charts with JavaScript; please allow scripts from this server.</p></noscript>
{_BODIES[page]}
<footer id="foot"></footer>
</main>
<script type="application/json" id="page-data">{script_json(doc)}</script>
{script_tags}
</body>
</html>
"""


def error_page(status: int, message: str, root: str = "./") -> str:
    """A small page for a failed request (no script, no traceback)."""
    text = html.escape(one_line(message, 500))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{status} · rollcall</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{html.escape(_static(root, "report.css"))}">
<link rel="stylesheet" href="{html.escape(_static(root, "serve.css"))}"></head>
<body><main><header><h1><span class="brand">rollcall</span> {status}</h1></header>
<p class="notice">{text}</p><p><a href="{html.escape(root)}">Back to the overview</a></p></main></body></html>
"""
