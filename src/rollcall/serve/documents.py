"""The JSON documents of the API (/api/v1/...), as pure functions of a Snapshot or of rows read
from the store. Shapes are documented in docs/serve-api.md and pinned by the JSON Schemas in
docs/api/ (tests check both). Outside text stays exact here, as in every JSON rollcall writes;
the pages show it through textContent with controls made visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..watch.incidents import Incident
from ..watch.rollups import PERIOD_S, Rollup, bucket_start, merged, percentile
from ..watch.state import State
from .snapshot import SEVERITY, VERDICTS, WINDOWS, KeyRow, Snapshot, worst

# Statuspage's component statuses and page indicator (https://metastatuspage.com/api).
COMPONENT_STATUS = ("operational", "degraded_performance", "partial_outage", "major_outage")
INDICATOR_TEXT = {
    "none": "All systems operational",
    "minor": "Some targets are degraded or partly down",
    "major": "Some targets are down",
    "critical": "Every target is down",
}


def path_part(text: str) -> str:
    """One path segment: `/` and everything else outside unreserved characters percent-encoded."""
    return quote(text, safe="")


def key_path(target: str, model: str) -> str:
    return f"{path_part(target)}/{path_part(model)}"


def bucket_floor(stamp: str, bucket: str) -> str:
    """The start of the `bucket` (5m, hour, day) that `stamp` falls in."""
    return bucket_start(stamp, bucket)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def incident_doc(i: Incident) -> dict[str, Any]:
    return {**i.to_dict(), "links": {"page": f"/targets/{key_path(i.target, i.model)}"}}


def row_doc(row: KeyRow) -> dict[str, Any]:
    return {
        "target": row.target,
        "model": row.model,
        "site": row.site,
        "kind": row.kind,
        "state": str(row.state),
        "since": row.since,
        "uptime": {w: _round(row.windows[w].uptime, 6) if w in row.windows else None for w in WINDOWS},
        "probes": {w: row.windows[w].probes if w in row.windows else 0 for w in WINDOWS},
        "ttft_s": {"p50": _round(row.ttft.p50), "p95": _round(row.ttft.p95)},
        "total_s": {"p50": _round(row.total.p50), "p95": _round(row.total.p95)},
        "last": {"at": row.last_at, "ok": row.last_ok, "ttft_s": _round(row.last_ttft_s),
                 "total_s": _round(row.last_total_s), "run_id": row.last_run_id},
        "last_ok_at": row.last_ok_at,
        "last_error": ({"kind": row.last_error_kind, "text": row.last_error}
                       if row.last_error_kind or row.last_error else None),
        "incident": ({"id": row.incident.id, "state": str(row.incident.state), "opened_at": row.incident.opened_at}
                     if row.incident else None),
        "recent": [{"at": at, "verdict": VERDICTS[v] if 0 <= v < len(VERDICTS) else "failed",
                    "ttft_s": _round(ttft), "total_s": _round(total)} for at, v, ttft, total in row.recent],
        "links": {"page": f"/targets/{key_path(row.target, row.model)}",
                  "history": f"/api/v1/targets/{key_path(row.target, row.model)}/history",
                  "badge": f"/badge/{key_path(row.target, row.model)}.svg"},
    }


def targets_doc(snap: Snapshot, rows: Sequence[KeyRow]) -> dict[str, Any]:
    return {
        "schema": "rollcall.targets/1",
        "version": snap.version,
        "generated_at": snap.built_at,
        "last_round_at": snap.last_round_at,
        "sites": snap.sites,
        "counts": state_counts(rows),
        "open_incidents": len(snap.open_incidents),
        "targets": [row_doc(r) for r in rows],
    }


def state_counts(rows: Iterable[KeyRow]) -> dict[str, int]:
    counts = {str(s): 0 for s in State}
    for r in rows:
        counts[str(r.state)] += 1
    return counts


def component_status(states: Sequence[State]) -> str:
    """Statuspage's status for one target x model from its states at each site."""
    known = [s for s in states if s is not State.UNKNOWN]
    down = sum(1 for s in known if s is State.DOWN)
    if known and down == len(known):
        return "major_outage"
    if down:
        return "partial_outage"
    if any(s is State.DEGRADED for s in known):
        return "degraded_performance"
    return "operational"


def indicator(statuses: Sequence[str]) -> str:
    if statuses and all(s == "major_outage" for s in statuses):
        return "critical"
    if "major_outage" in statuses:
        return "major"
    if "partial_outage" in statuses or "degraded_performance" in statuses:
        return "minor"
    return "none"


def status_doc(snap: Snapshot) -> dict[str, Any]:
    """A Statuspage-like summary: one component per target x model, split by site."""
    groups: dict[tuple[str, str], list[KeyRow]] = {}
    for r in snap.rows:
        groups.setdefault((r.target, r.model), []).append(r)
    components = []
    for (target, model), rows in groups.items():
        status = component_status([r.state for r in rows])
        components.append({
            "id": f"{target}/{model}",
            "name": target if model in ("", target) else f"{target}/{model}",
            "target": target,
            "model": model,
            "status": status,
            "state": str(worst(r.state for r in rows)),
            "updated_at": max((r.last_at for r in rows if r.last_at), default=None),
            "sites": [{"site": r.site, "state": str(r.state), "since": r.since} for r in rows],
        })
    known = [c["status"] for c, rows in zip(components, groups.values())
             if any(r.state is not State.UNKNOWN for r in rows)]
    level = indicator(known)
    return {
        "schema": "rollcall.status/1",
        "page": {"name": "rollcall", "updated_at": snap.last_round_at, "generated_at": snap.built_at,
                 "version": __version__},
        "status": {"indicator": level, "description": INDICATOR_TEXT[level]},
        "components": components,
        "incidents": [incident_doc(i) for i in snap.open_incidents],
    }


def incidents_doc(found: Sequence[Incident], *, since: str | None, open_only: bool) -> dict[str, Any]:
    return {"schema": "rollcall.incidents/1", "since": since, "open_only": open_only,
            "incidents": [incident_doc(i) for i in found]}


def runs_doc(records: Sequence[Any]) -> dict[str, Any]:
    runs = []
    for r in records:
        d = r.to_dict()
        d["links"] = {"page": f"/runs/{path_part(r.id)}", "json": f"/api/v1/runs/{path_part(r.id)}"}
        runs.append(d)
    return {"schema": "rollcall.runs/1", "runs": runs}


def _point(at: str, rollups: Sequence[Rollup]) -> dict[str, Any]:
    m = merged(rollups)
    assert m is not None
    return {
        "at": at,
        "probes": m.probes, "ok": m.ok, "failed": m.failed, "cancelled": m.cancelled,
        "uptime": _round(m.uptime, 6),
        "errors": dict(sorted(m.errors.items())),
        "ttft_s": {"p50": _round(percentile(m.ttft_hist, 50)), "p95": _round(percentile(m.ttft_hist, 95))},
        "total_s": {"p50": _round(percentile(m.total_hist, 50)), "p95": _round(percentile(m.total_hist, 95))},
    }


def _points(rollups: Sequence[Rollup]) -> list[dict[str, Any]]:
    by_bucket: dict[str, list[Rollup]] = {}
    for r in rollups:
        by_bucket.setdefault(r.bucket, []).append(r)
    return [_point(at, rs) for at, rs in sorted(by_bucket.items())]


def history_doc(
    target: str, model: str, rollups: Sequence[Rollup], *, since: str, bucket: str, site: str | None,
    sites: Sequence[str], rows: Sequence[KeyRow],
) -> dict[str, Any]:
    by_site: dict[str, list[Rollup]] = {}
    for r in rollups:
        by_site.setdefault(r.site, []).append(r)
    window = merged(rollups)
    return {
        "schema": "rollcall.history/1",
        "target": target,
        "model": model,
        "since": since,
        "bucket": bucket,
        "bucket_s": PERIOD_S[bucket],
        "site": site,
        "sites": list(sites),
        "summary": _point(since, [window]) if window else None,
        "points": _points(rollups),
        "by_site": {s: _points(rs) for s, rs in sorted(by_site.items())},
        "states": [{"site": r.site, "state": str(r.state), "since": r.since, "last_at": r.last_at,
                    "uptime": {w: _round(r.windows[w].uptime, 6) if w in r.windows else None for w in WINDOWS},
                    "last_error": ({"kind": r.last_error_kind, "text": r.last_error}
                                   if r.last_error_kind or r.last_error else None)}
                   for r in sorted(rows, key=lambda r: (-SEVERITY[r.state], r.site))],
    }


RESULT_TEXT_CHARS = 2000


def results_doc(target: str, model: str, stored: Sequence[Any]) -> dict[str, Any]:
    results = []
    for s in stored:
        d = s.result.to_dict()
        d["text_chars"] = len(d["text"] or "")
        d["text"] = (d["text"] or "")[:RESULT_TEXT_CHARS]
        d["reasoning"] = (d["reasoning"] or "")[:RESULT_TEXT_CHARS // 2]
        d["run_id"] = s.run_id
        d["site"] = s.site
        results.append(d)
    return {"schema": "rollcall.results/1", "target": target, "model": model, "results": results}


def error_doc(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}
