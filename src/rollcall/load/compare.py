"""`rollcall load compare A B`: two load runs side by side, stage by stage (matched by their
concurrency or rate), and which metrics got worse by more than a threshold.

Throughputs regress when B is lower than A by more than the threshold (relative); latencies
when B is higher by more than it; the error rate when it rose by more than the threshold
relative and by at least one percentage point (so 0.1% -> 0.2% is not a regression).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..safetext import one_line
from .view import fmt_dur, fmt_num, stage_label

DEFAULT_THRESHOLD = 0.10
ERROR_RATE_FLOOR = 0.01
HIGHER, LOWER = "higher", "lower"
# (key, label, which way is better); keys with a dot read a percentile of a latency object.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("requests_per_s", "req/s", HIGHER),
    ("output_tokens_per_s", "tok/s", HIGHER),
    ("goodput_per_s", "goodput/s", HIGHER),
    ("error_rate", "error rate", LOWER),
    ("ttft_s.p50", "TTFT p50", LOWER),
    ("ttft_s.p99", "TTFT p99", LOWER),
    ("tpot_s.p50", "TPOT p50", LOWER),
    ("tpot_s.p99", "TPOT p99", LOWER),
    ("itl_s.p99", "ITL p99", LOWER),
    ("e2e_s.p50", "E2E p50", LOWER),
    ("e2e_s.p99", "E2E p99", LOWER),
)


class CompareError(ValueError):
    """The two runs cannot be compared (different modes, no stage in common)."""


@dataclass(frozen=True, slots=True)
class Row:
    stage: float
    key: str
    label: str
    a: float | None
    b: float | None
    change: float | None  # relative change B/A - 1 (None when A is 0 or a value is missing)
    regression: bool
    unreliable: bool  # either stage was client-bound or partial

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _value(stage: dict[str, Any], key: str) -> float | None:
    if key == "error_rate":
        return stage["failed"] / stage["requests"] if stage.get("requests") else None
    if key == "goodput_per_s" and not stage.get("slo"):
        return None  # without SLOs goodput is only answered requests/s again
    name, _, quantile = key.partition(".")
    value = stage.get(name)
    if quantile:
        value = value.get(quantile) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _regressed(key: str, better: str, a: float, b: float, threshold: float) -> bool:
    if better == HIGHER:
        return b < a * (1 - threshold)
    if key == "error_rate":
        return b > a * (1 + threshold) and b - a >= ERROR_RATE_FLOOR
    return b > a * (1 + threshold)


def compare(a: dict[str, Any], b: dict[str, Any], threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """The comparison as data: rows per common stage, stages only in one run, the regressions."""
    if a["mode"] != b["mode"]:
        raise CompareError(f"run A is a {a['mode']} run and run B a {b['mode']} run; compare runs of the same mode")
    mode = a["mode"]
    stages_a = {float(s[mode]): s for s in a["stages"]}
    stages_b = {float(s[mode]): s for s in b["stages"]}
    common = [v for v in stages_a if v in stages_b]
    if not common:
        raise CompareError(f"runs A and B have no {mode} value in common "
                           f"(A: {', '.join(f'{v:g}' for v in stages_a) or 'none'}; "
                           f"B: {', '.join(f'{v:g}' for v in stages_b) or 'none'})")
    rows = []
    for value in sorted(common):
        sa, sb = stages_a[value], stages_b[value]
        unreliable = any(s.get("client_bound") or s.get("partial") for s in (sa, sb))
        for key, label, better in METRICS:
            va, vb = _value(sa, key), _value(sb, key)
            if va is None and vb is None:
                continue
            change = (vb / va - 1) if va and vb is not None else None
            regression = va is not None and vb is not None and _regressed(key, better, va, vb, threshold)
            rows.append(Row(value, key, label, va, vb, change, regression, unreliable))
    return {
        "schema": "rollcall.load.compare/1",
        "mode": mode,
        "threshold": threshold,
        "a": {"id": a.get("id"), "target": a.get("target"), "model": a.get("model"), "started_at": a.get("started_at")},
        "b": {"id": b.get("id"), "target": b.get("target"), "model": b.get("model"), "started_at": b.get("started_at")},
        "only_a": sorted(v for v in stages_a if v not in stages_b),
        "only_b": sorted(v for v in stages_b if v not in stages_a),
        "rows": [r.to_dict() for r in rows],
        "regressions": [r.to_dict() for r in rows if r.regression],
    }


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key == "error_rate":
        return f"{value:.1%}"
    return fmt_dur(value) if "." in key else fmt_num(value)


def render(result: dict[str, Any]) -> RenderableType:
    mode = result["mode"]
    parts: list[RenderableType] = []
    for side in ("a", "b"):
        run = result[side]
        head = Text(f"{side.upper()}: ", style="bold")
        head.append(one_line(f"{run.get('target') or '?'} [{run.get('model') or 'default'}] "
                             f"{run.get('started_at') or ''} {run.get('id') or ''}", 200))
        parts.append(head)
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name, justify in ((mode, "right"), ("metric", "left"), ("A", "right"), ("B", "right"), ("change", "right"),
                          ("", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    previous = None
    for row in result["rows"]:
        verdict = Text()
        if row["regression"]:
            verdict.append("worse", style="bold red")
        if row["unreliable"]:
            verdict.append(" (client-bound or partial)", style="yellow")
        change = "-" if row["change"] is None else f"{row['change']:+.0%}"
        label = f"{row['stage']:g}" if row["stage"] != previous else ""
        previous = row["stage"]
        table.add_row(label, row["label"], _fmt(row["key"], row["a"]), _fmt(row["key"], row["b"]), change, verdict)
    parts.append(table)
    for side, values in (("A", result["only_a"]), ("B", result["only_b"])):
        if values:
            parts.append(Text(f"only in {side}: " + ", ".join(stage_label(mode, v) for v in values), style="dim"))
    count = len(result["regressions"])
    line = Text(f"{count} regression(s) beyond {result['threshold']:.0%}" if count
                else f"no regression beyond {result['threshold']:.0%}", style="bold red" if count else "bold green")
    parts.append(line)
    return Group(*parts)
