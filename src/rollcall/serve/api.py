"""The JSON API under /api/v1/ (documents in documents.py, shapes in docs/serve-api.md) and the
event stream the overview listens to. Every query parameter is checked and bounded; a bad one
is a 400 naming it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ..store import servedb, watchdb
from ..store.base import RunNotFound
from ..watch.rollups import PERIOD_S, RETAIN_S
from ..watch.state import State
from . import documents
from .context import SOURCE, SSE_COUNT, dumps, json_response, problem
from .snapshot import Snapshot

MAX_LIMIT = 1000
MAX_POINTS = 2000
SSE_CLIENTS = 64
SSE_PING_S = 15.0
RANGE_BUCKETS = ((6 * 3600, "5m"), (8 * 86400, "hour"))  # up to 6 h: 5-minute points; to 8 d: hourly


def query(request: web.Request, name: str, default: Any = None, parse: Callable[[str], Any] = str) -> Any:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise problem(400, f"query parameter {name!r}: {exc}") from None


def limit_param(request: web.Request, default: int) -> int:
    def parse(raw: str) -> int:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise ValueError(f"must be a whole number from 1 to {MAX_LIMIT}")
        return int(raw)

    return query(request, "limit", default, parse)


def flag_param(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ValueError("must be 1 or 0")


def since_param(raw: str) -> str | None:
    from ..store.queries import parse_since

    if raw.lower() == "all":
        return None
    return parse_since(raw.replace("since ", ""))


def state_param(raw: str) -> str:
    if raw not in {str(s) for s in State}:
        raise ValueError(f"must be one of {', '.join(str(s) for s in State)}")
    return raw


def split_key(raw_tail: str, known: set[tuple[str, str]]) -> tuple[str, str] | None:
    """(target, model) from the raw (still percent-encoded) path after /targets/: two segments
    when the client encoded slashes in names (`a%2Fb/m`); otherwise the split naming a known key."""
    segments = raw_tail.split("/")
    parts = [unquote(s) for s in segments]
    if len(parts) == 2:
        return parts[0], parts[1]
    for i in range(1, len(parts)):
        pair = ("/".join(parts[:i]), "/".join(parts[i:]))
        if pair in known:
            return pair
    return None


def raw_tail(request: web.Request, prefix: str, suffix: str = "") -> str:
    path = request.raw_path.split("?", 1)[0]
    tail = path[len(prefix):]
    return tail[: len(tail) - len(suffix)] if suffix and tail.endswith(suffix) else tail


# -- handlers ----------------------------------------------------------------------------------

def _filtered(snap: Snapshot, request: web.Request) -> Sequence[Any]:
    site = query(request, "site")
    state = query(request, "state", parse=state_param)
    return [r for r in snap.rows if (site is None or r.site == site) and (state is None or str(r.state) == state)]


def render_targets(snap: Snapshot) -> bytes:
    return dumps(documents.targets_doc(snap, snap.rows))


def render_status(snap: Snapshot) -> bytes:
    return dumps(documents.status_doc(snap))


async def targets(request: web.Request) -> web.Response:
    source = request.app[SOURCE]
    if not request.query.get("site") and not request.query.get("state"):
        return json_response(source.cached("api:targets", render_targets))
    snap = source.snapshot
    return json_response(documents.targets_doc(snap, _filtered(snap, request)))


async def status(request: web.Request) -> web.Response:
    return json_response(request.app[SOURCE].cached("api:status", render_status))


def choose_bucket(since: str, now: _dt.datetime, asked: str | None) -> str:
    start = _dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
    span = (now - start).total_seconds()
    # A minute of slack: `since=6h` is six hours however long parsing took.
    bucket = asked or next((b for limit, b in RANGE_BUCKETS if span <= limit + 60), "day")
    if bucket not in PERIOD_S:
        raise problem(400, f"query parameter 'bucket': must be one of {', '.join(PERIOD_S)}")
    points = span / PERIOD_S[bucket]
    if points > MAX_POINTS:
        raise problem(400, f"query parameter 'bucket': {bucket} over that range is {int(points)} points; at most "
                           f"{MAX_POINTS} (use a larger bucket or a shorter since)")
    kept = RETAIN_S.get(bucket)
    if kept is not None and span > kept + PERIOD_S[bucket]:
        raise problem(400, f"query parameter 'bucket': {bucket} points are kept for {int(kept // 86400)} days; "
                           "use a larger bucket for a longer range")
    return bucket


def _key(request: web.Request, suffix: str) -> tuple[str, str]:
    snap = request.app[SOURCE].snapshot
    found = split_key(raw_tail(request, "/api/v1/targets/", suffix), snap.pairs)
    if found is None or found not in snap.pairs:
        raise problem(404, "no such target and model: use /api/v1/targets/{target}/{model}/... (encode / in names "
                           "as %2F)")
    return found


async def history(request: web.Request) -> web.Response:
    target, model = _key(request, "/history")
    now = _dt.datetime.now(_dt.timezone.utc)
    since = query(request, "since", None, since_param) or since_param("24h" if "since" not in request.query else "365d")
    bucket = choose_bucket(since, now, query(request, "bucket"))
    site = query(request, "site")
    source = request.app[SOURCE]
    start = documents.bucket_floor(since, bucket)
    rollups = await source.read(servedb.rollups, bucket, since=start, target=target, model=model, site=site)
    snap = source.snapshot
    sites = sorted({r.site for r in snap.rows_for(target, model)} | {r.site for r in rollups})
    if not sites:
        raise problem(404, f"nothing recorded for {target!r} with model {model!r}")
    doc = documents.history_doc(target, model, rollups, since=start, bucket=bucket, site=site, sites=sites,
                                rows=snap.rows_for(target, model, site))
    return json_response(doc)


async def results(request: web.Request) -> web.Response:
    target, model = _key(request, "/results")
    stored = await request.app[SOURCE].read(servedb.latest_results, target, model, site=query(request, "site"),
                                            limit=limit_param(request, 50))
    return json_response(documents.results_doc(target, model, stored))


async def incidents(request: web.Request) -> web.Response:
    open_only = query(request, "open", False, flag_param)
    since = query(request, "since", since_param("30d"), since_param)
    found = await request.app[SOURCE].read(
        watchdb.list_incidents, open_only=open_only, since=since, site=query(request, "site"),
        target=query(request, "target"), model=query(request, "model"), limit=limit_param(request, 100))
    return json_response(documents.incidents_doc(found, since=since, open_only=open_only))


async def runs(request: web.Request) -> web.Response:
    limit = limit_param(request, 50)
    found = await request.app[SOURCE].read(lambda store: store.list_runs(limit))
    return json_response(documents.runs_doc(found))


async def load_run(request: web.Request) -> Any:
    """The stored run named in the path, as a RunResult (404 when there is none)."""
    from .runs import load

    ref = request.match_info["id"]
    try:
        return await request.app[SOURCE].read(load, ref)
    except RunNotFound:  # its message names the store; say only what was asked for
        raise problem(404, f"no stored run matches {ref!r} (ids are listed at /api/v1/runs)") from None


async def run(request: web.Request) -> web.Response:
    from ..reports import json as json_report

    found = await load_run(request)
    return web.Response(body=json_report.dumps(found).encode("utf-8", "replace"),
                        content_type="application/json", charset="utf-8")


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `snapshot` with the new version whenever the history changed."""
    source = request.app[SOURCE]
    clients = request.app[SSE_COUNT]
    if clients[0] >= SSE_CLIENTS:
        raise problem(503, f"{SSE_CLIENTS} event streams are open already; poll /api/v1/targets instead")
    clients[0] += 1
    try:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        version = source.version
        await response.write(f"retry: 3000\nevent: snapshot\ndata: {dumps({'version': version}).decode()}\n\n".encode())
        while not source.closing.is_set():
            newer = await source.wait_for_version(version, SSE_PING_S)
            if source.closing.is_set():
                break
            if newer > version:
                version = newer
                await response.write(f"event: snapshot\ndata: {dumps({'version': version}).decode()}\n\n".encode())
            else:
                await response.write(b": ping\n\n")
        return response
    except (ConnectionResetError, ConnectionError):
        return web.StreamResponse()
    finally:
        clients[0] -= 1


def add_routes(app: web.Application) -> None:
    app[SSE_COUNT] = [0]
    app[SOURCE].warmers.update({"api:targets": render_targets, "api:status": render_status})
    app.router.add_get("/api/v1/status", status)
    app.router.add_get("/api/v1/targets", targets)
    app.router.add_get(r"/api/v1/targets/{tail:.+}/history", history)
    app.router.add_get(r"/api/v1/targets/{tail:.+}/results", results)
    app.router.add_get("/api/v1/incidents", incidents)
    app.router.add_get("/api/v1/runs", runs)
    app.router.add_get(r"/api/v1/runs/{id:[A-Za-z0-9_-]{1,64}}", run)
    app.router.add_get("/api/v1/events", events)
