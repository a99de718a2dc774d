"""The load run as a document (schema rollcall.load/1, DESIGN.md "Load runs"), the knee across
stages, and reading a document back (for `load compare` and the store).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SCHEMA = "rollcall.load/1"
# The knee: the last stage after which more load bought little more throughput (less than this
# share of the proportional gain) while median TTFT rose by more than KNEE_TTFT_RISE.
KNEE_EFFICIENCY = 0.25
KNEE_TTFT_RISE = 0.20
_REQUIRED_STAGE = ("requests", "ok", "failed", "errors", "duration_s", "requests_per_s", "output_tokens_per_s",
                   "goodput_per_s", "client_bound", "ttft_s", "e2e_s")


def throughput(stage: dict[str, Any], *, tokens: bool) -> float:
    return float(stage["output_tokens_per_s"] if tokens else stage["requests_per_s"])


def _label(mode: str, stage: dict[str, Any]) -> str:
    return f"concurrency {stage[mode]:g}" if mode == "concurrency" else f"rate {stage[mode]:g}/s"


def find_knee(stages: Sequence[dict[str, Any]], mode: str) -> dict[str, Any] | None:
    """Where throughput stops rising while TTFT climbs, or None (no such step, or too few stages).

    Stages are taken in order of load; partial stages and stages with no answers are left out.
    Throughput is output tokens/s when every stage has tokens, else answered requests/s.
    """
    points = sorted((s for s in stages if not s.get("partial") and s.get("ok")), key=lambda s: s[mode])
    tokens = all(s.get("output_tokens_per_s", 0) > 0 for s in points)
    for a, b in zip(points, points[1:], strict=False):
        load_gain = b[mode] / a[mode] - 1
        before, after = throughput(a, tokens=tokens), throughput(b, tokens=tokens)
        ttft_a, ttft_b = a["ttft_s"].get("p50"), b["ttft_s"].get("p50")
        if before <= 0 or not ttft_a or ttft_b is None:
            continue
        gain = after / before - 1
        rise = ttft_b / ttft_a - 1
        if gain < KNEE_EFFICIENCY * load_gain and rise > KNEE_TTFT_RISE:
            unit = "output tokens/s" if tokens else "requests/s"
            return {
                "index": a["index"],
                mode: a[mode],
                "next_index": b["index"],
                "throughput": before,
                "throughput_unit": unit,
                "load_gain": load_gain,
                "throughput_gain": gain,
                "ttft_p50_rise": rise,
                "reason": (f"from {_label(mode, a)} to {_label(mode, b)} the load grew {load_gain:.0%} but "
                           f"{unit} changed {gain:+.0%} while TTFT p50 rose {rise:.0%}"),
            }
    return None


def build(
    *, run_id: str, target: str, kind: str, model: str, mode: str, started_at: str, ended_at: str, wall_s: float,
    complete: bool, interrupted: str | None, settings: dict[str, Any], stages: Sequence[dict[str, Any]],
    timeline: dict[str, Any] | None, version: str, site: str = "",
) -> dict[str, Any]:
    totals = {
        "requests": sum(s["requests"] for s in stages),
        "ok": sum(s["ok"] for s in stages),
        "failed": sum(s["failed"] for s in stages),
        "lost": sum(s.get("lost", 0) for s in stages),
        "client_bound_stages": [s["index"] for s in stages if s["client_bound"]],
    }
    return {
        "schema": SCHEMA,
        "id": run_id,
        "target": target,
        "kind": kind,
        "model": model,
        "mode": mode,
        "started_at": started_at,
        "ended_at": ended_at,
        "wall_s": wall_s,
        "complete": complete,
        "interrupted": interrupted,
        "site": site,
        "version": version,
        "settings": settings,
        "totals": totals,
        "knee": find_knee(stages, mode),
        "stages": list(stages),
        "timeline": timeline,
    }


def check(doc: Any, where: str) -> dict[str, Any]:
    """`doc` if it is a usable rollcall.load/1 document; ValueError naming `where` otherwise."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"{where}: not a rollcall load document (schema {got!r}, expected {SCHEMA!r})")
    mode = doc.get("mode")
    stages = doc.get("stages")
    if mode not in ("concurrency", "rate") or not isinstance(stages, list):
        raise ValueError(f"{where}: malformed rollcall load document (no mode or stages)")
    for i, stage in enumerate(stages):
        missing = [k for k in (mode, *_REQUIRED_STAGE) if not isinstance(stage, dict) or k not in stage]
        if missing:
            raise ValueError(f"{where}: stage {i} lacks {', '.join(missing)}")
        for key in ("ttft_s", "e2e_s"):
            if not isinstance(stage[key], dict):
                raise ValueError(f"{where}: stage {i}: {key} is not an object")
    return doc
