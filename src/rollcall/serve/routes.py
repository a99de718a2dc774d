"""The pages, static files, badges, Prometheus endpoints and /healthz (the JSON API is api.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import badges, metrics, pages
from .api import load_run, query, raw_tail, split_key
from .context import GUARD, PROBER, SITE, SOURCE, json_response, problem


def html_response(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=headers)


async def overview(request: web.Request) -> web.Response:
    return html_response(pages.shell("overview", title="rollcall status", root="./"))


async def incidents_page(request: web.Request) -> web.Response:
    return html_response(pages.shell("incidents", title="rollcall incidents", root="./"))


async def target_page(request: web.Request) -> web.Response:
    snap = request.app[SOURCE].snapshot
    found = split_key(raw_tail(request, "/targets/"), snap.pairs)
    if found is None or found not in snap.pairs:
        raise problem(404, "no such target and model in the history")
    target, model = found
    name = target if model in ("", target) else f"{target} · {model}"
    root = pages.root_for(request.raw_path.split("?", 1)[0])
    return html_response(pages.shell("target", title=f"{name} · rollcall", root=root,
                                     data={"target": target, "model": model}))


async def run_page(request: web.Request) -> web.Response:
    from ..reports import html as html_report

    found = await load_run(request)
    # The report inlines its scripts; the header repeats the page's own policy (by hashes).
    return html_response(html_report.dumps(found),
                         headers={"Content-Security-Policy": html_report.content_security_policy()})


async def static(request: web.Request) -> web.Response:
    found = pages.asset(request.match_info["name"])
    if found is None:
        raise problem(404, "no such file")
    if request.headers.get("If-None-Match") == found.etag:
        return web.Response(status=304, headers={"ETag": found.etag})
    return web.Response(body=found.body, headers={"Content-Type": found.content_type, "ETag": found.etag,
                                                  "Cache-Control": "public, max-age=3600"})


async def healthz(request: web.Request) -> web.Response:
    source = request.app[SOURCE]
    if source.error:
        return json_response({"status": "unavailable", "error": "the history store cannot be read"}, status=503)
    return json_response({"status": "ok", "version": source.version})


# -- badges ------------------------------------------------------------------------------------

def _badge_rows(request: web.Request, tail: str) -> tuple[str, list[Any]]:
    """The label and keys a badge path names: `{target}` (every model) or `{target}/{model}`;
    slashes inside names are %2F, or resolved against the names the history knows."""
    from urllib.parse import unquote

    snap = request.app[SOURCE].snapshot
    site = query(request, "site")
    segments = tail.split("/")
    whole = unquote(tail)
    if len(segments) == 1 or (whole in snap.targets and split_key(tail, snap.pairs) not in snap.pairs):
        rows, label = snap.rows_for(whole), whole
    else:
        found = split_key(tail, snap.pairs)
        if found is None or found not in snap.pairs:
            return whole, []
        target, model = found
        rows, label = snap.rows_for(target, model), (target if model in ("", target) else f"{target}/{model}")
    return label, [r for r in rows if site is None or r.site == site]


def _badge(request: web.Request, suffix: str) -> tuple[badges.Badge, int]:
    tail = raw_tail(request, "/badge/", suffix)
    label, rows = _badge_rows(request, tail)
    try:
        badge = badges.make_badge(label, rows, query(request, "metric", "state"))
    except ValueError as exc:
        raise problem(400, f"query parameter 'metric': {exc}") from None
    return badge, 200 if rows else 404


BADGE_HEADERS = {"Cache-Control": "max-age=60, public",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


async def badge_svg(request: web.Request) -> web.Response:
    badge, status = _badge(request, ".svg")
    return web.Response(text=badges.svg(badge), status=status, content_type="image/svg+xml", charset="utf-8",
                        headers=BADGE_HEADERS)


async def badge_json(request: web.Request) -> web.Response:
    badge, status = _badge(request, ".json")
    return json_response(badge.endpoint_json(), status=status, headers={"Cache-Control": "max-age=60, public"})


# -- Prometheus --------------------------------------------------------------------------------

def _require_metrics() -> None:
    if not metrics.available():
        raise problem(503, metrics.INSTALL_HINT)


def render_metrics(snap: Any, accept: str = "") -> tuple[bytes, str]:
    return metrics.exposition(metrics.SnapshotCollector(snap), accept)


async def metrics_endpoint(request: web.Request) -> web.Response:
    _require_metrics()
    accept = request.headers.get("Accept", "")
    if "application/openmetrics-text" in accept:
        body, content_type = request.app[SOURCE].cached("metrics:openmetrics", lambda s: render_metrics(s, accept))
    else:
        body, content_type = request.app[SOURCE].cached("metrics:text", render_metrics)
    return web.Response(body=body, headers={"Content-Type": content_type})


async def probe(request: web.Request) -> web.Response:
    from .prober import ProbeRefused

    _require_metrics()
    prober = request.app[PROBER]
    if prober is None:
        raise problem(404, "no targets to probe here: /probe works under `rollcall watch --listen`, or with "
                           "`rollcall serve -c CONFIG`")
    if not request.app[GUARD].may_probe:
        raise problem(403, "probing on request is off on a --public server (serve with --token to allow it)")
    target = query(request, "target")
    if not target:
        raise problem(400, "query parameter 'target' is required: /probe?target=NAME[&model=MODEL]")
    try:
        run = await prober.probe(target, query(request, "model"))
    except ProbeRefused as exc:
        raise problem(exc.status, str(exc)) from None
    body, content_type = metrics.exposition(metrics.ProbeCollector(run.results, request.app[SITE]),
                                            request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    if metrics.available():
        app[SOURCE].warmers["metrics:text"] = render_metrics
    app.router.add_get("/", overview)
    app.router.add_get("/incidents", incidents_page)
    app.router.add_get(r"/targets/{tail:.+}", target_page)
    app.router.add_get(r"/runs/{id:[A-Za-z0-9_-]{1,64}}", run_page)
    app.router.add_get(r"/static/{name:[A-Za-z0-9._-]+}", static)
    app.router.add_get("/healthz", healthz)
    app.router.add_get(r"/badge/{tail:.+}.svg", badge_svg)
    app.router.add_get(r"/badge/{tail:.+}.json", badge_json)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/probe", probe)

