"""What the history says: uptime and latency per target x model, and what changed between two runs.

Pure functions over rows a Store returns, so every backend gives the same answers. Probes the
run cancelled (Ctrl-C, a killed run) say nothing about the provider and are left out of both.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..durations import parse_duration
from ..models import ErrorKind, ProbeResult, percentile
from .base import Outcome, RunRecord

RECENT = 12  # outcomes in a history row's sparkline (it shares a terminal line with ten columns)
DEFAULT_THRESHOLD = 1.5  # diff: "much slower/faster" means at least this ratio ...
DEFAULT_MIN_DELTA_S = 0.5  # ... and at least this many seconds, so 0.1 s -> 0.2 s is no news
_CANCELLED = str(ErrorKind.CANCELLED)
_DURATION = re.compile(r"^[\d.]+\s*(?:ms|[smhdw])(?![a-z])", re.IGNORECASE)  # starts like one; parse_duration decides


def iso(moment: _dt.datetime) -> str:
    """The stamp format results carry (timing.utc_now_iso), so stamps compare as strings."""
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_since(text: str, now: _dt.datetime | None = None) -> str | None:
    """A duration back from now (`30s`, `30m`, `12h`, `7d`, `2w`, `1h30m`: a unit is required, so
    `20240501` stays a date), an ISO date/time (UTC unless it says otherwise), or `all` (None).

    Returns the UTC stamp to compare results against; ValueError with a sentence otherwise.
    """
    raw = text.strip()
    if raw.lower() == "all":
        return None
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if _DURATION.match(raw):
        seconds = parse_duration(raw, f"--since {text!r}", allow_zero=False)
        return iso(now - _dt.timedelta(seconds=seconds))
    try:
        moment = _dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not a duration (30s, 30m, 12h, 7d, 2w), an ISO date (2024-05-01) or 'all'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return iso(moment)


# -- history ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One target x model (x site with --by-site) over the window."""

    target: str
    model: str
    site: str | None
    probes: int
    runs: int
    ok: int
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    total_p50_s: float | None
    total_p95_s: float | None
    first_at: str
    last_at: str
    last_ok_at: str | None
    streak: int  # how many of the latest probes share the latest outcome
    streak_ok: bool
    top_error_kind: str | None
    top_error_count: int
    recent: tuple[bool, ...] = field(default=())  # the last RECENT outcomes, oldest first

    @property
    def uptime(self) -> float:
        return self.ok / self.probes if self.probes else 0.0

    @property
    def streak_label(self) -> str:
        return f"{self.streak} {'ok' if self.streak_ok else 'failed'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "model": self.model,
            "site": self.site,
            "probes": self.probes,
            "runs": self.runs,
            "ok": self.ok,
            "uptime": round(self.uptime, 6),
            "ttft_p50_s": self.ttft_p50_s,
            "ttft_p95_s": self.ttft_p95_s,
            "total_p50_s": self.total_p50_s,
            "total_p95_s": self.total_p95_s,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "last_ok_at": self.last_ok_at,
            "streak": {"count": self.streak, "ok": self.streak_ok, "label": self.streak_label},
            "top_error_kind": self.top_error_kind,
            "top_error_count": self.top_error_count,
            "recent": ["ok" if ok else "failed" for ok in self.recent],
        }


def _row(key: tuple[str, str, str | None], items: list[Outcome], recent: int) -> HistoryRow:
    oks = [o for o in items if o.ok]
    ttfts = sorted(o.ttft_s for o in oks if o.ttft_s is not None)
    totals = sorted(o.total_s for o in oks if o.total_s is not None)
    last_ok = items[-1].ok
    streak = 0
    for o in reversed(items):
        if o.ok != last_ok:
            break
        streak += 1
    kinds = Counter(o.error_kind or "error" for o in items if not o.ok)
    # Most common; ties go to the kind seen most recently (what is happening now).
    last_seen = {o.error_kind or "error": i for i, o in enumerate(items) if not o.ok}
    top = max(kinds, key=lambda k: (kinds[k], last_seen[k])) if kinds else None
    return HistoryRow(
        target=key[0],
        model=key[1],
        site=key[2],
        probes=len(items),
        runs=len({o.run_id for o in items}),
        ok=len(oks),
        ttft_p50_s=percentile(ttfts, 50),
        ttft_p95_s=percentile(ttfts, 95),
        total_p50_s=percentile(totals, 50),
        total_p95_s=percentile(totals, 95),
        first_at=items[0].started_at,
        last_at=items[-1].started_at,
        last_ok_at=oks[-1].started_at if oks else None,
        streak=streak,
        streak_ok=last_ok,
        top_error_kind=top,
        top_error_count=kinds[top] if top else 0,
        recent=tuple(o.ok for o in items[-recent:]),
    )


def history(outcomes: Iterable[Outcome], *, by_site: bool = False, recent: int = RECENT) -> list[HistoryRow]:
    """One row per target x model (x site), sorted by target, model, site. Input oldest first."""
    groups: dict[tuple[str, str, str | None], list[Outcome]] = {}
    for o in outcomes:
        if o.error_kind == _CANCELLED:
            continue
        groups.setdefault((o.target, o.model, o.site if by_site else None), []).append(o)
    rows = [_row(key, items, recent) for key, items in groups.items()]
    rows.sort(key=lambda r: (r.target.lower(), r.target, r.model, r.site or ""))
    return rows


# -- diff ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyState:
    """One target x model in one run: did it answer, how fast (medians of its answers)."""

    target: str
    model: str
    probes: int
    ok: int
    ttft_s: float | None
    total_s: float | None
    error_kind: str | None
    error: str | None

    @property
    def up(self) -> bool:
        return self.ok > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "probes": self.probes, "ok": self.ok, "up": self.up, "ttft_s": self.ttft_s,
            "total_s": self.total_s, "error_kind": self.error_kind, "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class MetricChange:
    metric: str  # "ttft_s" or "total_s"
    before_s: float
    after_s: float

    @property
    def ratio(self) -> float:
        return self.after_s / self.before_s if self.before_s > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {"metric": self.metric, "before_s": self.before_s, "after_s": self.after_s,
                "ratio": None if ratio == float("inf") else round(ratio, 3)}


@dataclass(frozen=True, slots=True)
class Change:
    target: str
    model: str
    before: KeyState | None
    after: KeyState | None
    metrics: tuple[MetricChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "model": self.model,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "changes": [m.to_dict() for m in self.metrics],
        }


@dataclass(frozen=True, slots=True)
class RunDiff:
    a: RunRecord
    b: RunRecord
    threshold: float
    min_delta_s: float
    newly_failing: tuple[Change, ...]
    recovered: tuple[Change, ...]
    slower: tuple[Change, ...]
    faster: tuple[Change, ...]
    new: tuple[Change, ...]
    vanished: tuple[Change, ...]
    still_failing: int
    steady: int  # up in both runs, no big latency change

    @property
    def has_new_failures(self) -> bool:
        return bool(self.newly_failing)

    def to_dict(self) -> dict[str, Any]:
        def run(r: RunRecord) -> dict[str, Any]:
            return {"id": r.id, "started_at": r.started_at, "site": r.site, "complete": r.complete,
                    "ok": r.ok, "failed": r.failed}

        return {
            "schema": "rollcall.diff/1",
            "a": run(self.a),
            "b": run(self.b),
            "threshold": self.threshold,
            "min_delta_s": self.min_delta_s,
            **{name: [c.to_dict() for c in getattr(self, name)]
               for name in ("newly_failing", "recovered", "slower", "faster", "new", "vanished")},
            "still_failing": self.still_failing,
            "steady": self.steady,
        }


def key_states(results: Sequence[ProbeResult]) -> dict[tuple[str, str], KeyState]:
    groups: dict[tuple[str, str], list[ProbeResult]] = {}
    for r in results:
        if r.error_kind == ErrorKind.CANCELLED:
            continue
        groups.setdefault(r.key, []).append(r)
    states = {}
    for (target, model), rs in groups.items():
        oks = [r for r in rs if r.ok]
        failed = [r for r in rs if not r.ok]
        ttfts = sorted(r.ttft_s for r in oks if r.ttft_s is not None)
        totals = sorted(r.total_s for r in oks if r.total_s is not None)
        states[(target, model)] = KeyState(
            target=target, model=model, probes=len(rs), ok=len(oks),
            ttft_s=percentile(ttfts, 50), total_s=percentile(totals, 50),
            error_kind=str(failed[-1].error_kind) if failed and failed[-1].error_kind else None,
            error=failed[-1].error if failed else None,
        )
    return states


def _metric_changes(before: KeyState, after: KeyState, threshold: float, min_delta_s: float) -> tuple[
        tuple[MetricChange, ...], tuple[MetricChange, ...]]:
    slower, faster = [], []
    for metric in ("ttft_s", "total_s"):
        old, new = getattr(before, metric), getattr(after, metric)
        if old is None or new is None:
            continue
        if new - old >= min_delta_s and new >= old * threshold:
            slower.append(MetricChange(metric, old, new))
        elif old - new >= min_delta_s and old >= new * threshold:
            faster.append(MetricChange(metric, old, new))
    return tuple(slower), tuple(faster)


def diff_runs(
    a: RunRecord,
    a_results: Sequence[ProbeResult],
    b: RunRecord,
    b_results: Sequence[ProbeResult],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_delta_s: float = DEFAULT_MIN_DELTA_S,
) -> RunDiff:
    """What changed from run `a` (before) to run `b` (after), per target x model.

    A key is up in a run when any of its probes answered. Slower/faster needs both the ratio
    (`threshold`) and the absolute change (`min_delta_s`), on median TTFT or median total.
    """
    if not threshold >= 1 or math.isinf(threshold):  # `not >=` refuses NaN too
        raise ValueError("the threshold is a ratio and must be a finite number of at least 1 (e.g. 1.5)")
    if not min_delta_s >= 0 or math.isinf(min_delta_s):
        raise ValueError("the minimum change must be a finite number of seconds, 0 or more")
    before, after = key_states(a_results), key_states(b_results)
    newly, recovered, slower, faster, new, vanished = [], [], [], [], [], []
    still_failing = steady = 0
    for key in sorted(before.keys() | after.keys(), key=lambda k: (k[0].lower(), k[0], k[1])):
        old, cur = before.get(key), after.get(key)
        if old is None:
            new.append(Change(*key, None, cur))
        elif cur is None:
            vanished.append(Change(*key, old, None))
        elif old.up and not cur.up:
            newly.append(Change(*key, old, cur))
        elif cur.up and not old.up:
            recovered.append(Change(*key, old, cur))
        elif not old.up:
            still_failing += 1
        else:
            worse, better = _metric_changes(old, cur, threshold, min_delta_s)
            if worse:
                slower.append(Change(*key, old, cur, worse))
            elif better:
                faster.append(Change(*key, old, cur, better))
            else:
                steady += 1
    return RunDiff(
        a=a, b=b, threshold=threshold, min_delta_s=min_delta_s,
        newly_failing=tuple(newly), recovered=tuple(recovered), slower=tuple(slower),
        faster=tuple(faster), new=tuple(new), vanished=tuple(vanished),
        still_failing=still_failing, steady=steady,
    )
