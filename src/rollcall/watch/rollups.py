"""Rollups: per (period bucket, target, model, site) counts and latency histograms, kept as rounds
are written, so uptime and p50/p95 over 24 h / 7 d / 90 d answer without reading the results
table, and still answer after old results are pruned (`keep`).

Periods: `5m` (kept two days: the short ranges of `rollcall serve`'s target page), `hour`
(kept max(keep, 8 d)), `day` (kept for good) and `all` (one bucket, "", per key: the totals
since the key was first seen, what Prometheus counters and histograms are made of).

Latencies go into fixed log-spaced buckets (a quarter-octave each, 1 ms to ~10 min), so rollups
merge by adding counts and any window's percentiles come from the merged histogram, accurate to
about 9% (half a bucket). Pure; store/watchdb.py reads and writes the rows.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..models import ErrorKind, ProbeResult

PERIODS = ("5m", "hour", "day", "all")
# How long the finer periods are kept (watch's `keep` may keep hours longer); day and all stay.
RETAIN_S = {"5m": 2 * 86400.0, "hour": 8 * 86400.0}
PERIOD_S = {"5m": 300.0, "hour": 3600.0, "day": 86400.0}
_BASE_S = 0.001
_STEP = 2 ** 0.25
BUCKETS = 80  # upper bounds 1 ms * 2^(i/4): the last is about 550 s; slower goes in the last
UPPER_S = tuple(_BASE_S * _STEP ** i for i in range(BUCKETS))
_CANCELLED = str(ErrorKind.CANCELLED)


def bucket_of(seconds: float) -> int:
    """The histogram bucket holding `seconds` (bucket i covers (UPPER_S[i-1], UPPER_S[i]])."""
    return min(BUCKETS - 1, bisect.bisect_left(UPPER_S, max(0.0, seconds)))


def bucket_start(stamp: str, period: str) -> str:
    """The start of the 5 minutes, hour or day (UTC) a result stamp falls in, in the stamps' own
    format; "" for the `all` period."""
    if period == "5m":
        return f"{stamp[:14]}{int(stamp[14:16]) // 5 * 5:02d}:00Z"
    if period == "hour":
        return stamp[:13] + ":00:00Z"
    if period == "day":
        return stamp[:10] + "T00:00:00Z"
    if period == "all":
        return ""
    raise ValueError(f"unknown rollup period {period!r}")


@dataclass
class Rollup:
    """One bucket for one key. `failed` leaves out probes we cancelled ourselves."""

    period: str
    bucket: str
    target: str
    model: str
    site: str
    probes: int = 0
    ok: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ttft_hist: dict[int, int] = field(default_factory=dict)
    total_hist: dict[int, int] = field(default_factory=dict)
    ttft_sum: float = 0.0
    total_sum: float = 0.0
    last_at: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.period, self.bucket, self.target, self.model, self.site)

    def add(self, result: ProbeResult) -> None:
        self.probes += 1
        self.last_at = max(self.last_at, result.started_at)
        kind = str(result.error_kind) if result.error_kind else None
        if result.ok:
            self.ok += 1
            if result.ttft_s is not None:
                _count(self.ttft_hist, bucket_of(result.ttft_s))
                self.ttft_sum += result.ttft_s
            if result.total_s is not None:
                _count(self.total_hist, bucket_of(result.total_s))
                self.total_sum += result.total_s
        elif kind == _CANCELLED:
            self.cancelled += 1
        else:
            self.failed += 1
            _count(self.errors, kind or "unknown")

    def merge(self, other: Rollup) -> None:
        self.probes += other.probes
        self.ok += other.ok
        self.failed += other.failed
        self.cancelled += other.cancelled
        for mine, theirs in ((self.errors, other.errors), (self.ttft_hist, other.ttft_hist),
                             (self.total_hist, other.total_hist)):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n
        self.ttft_sum += other.ttft_sum
        self.total_sum += other.total_sum
        self.last_at = max(self.last_at, other.last_at)

    @property
    def uptime(self) -> float | None:
        judged = self.ok + self.failed
        return self.ok / judged if judged else None


def _count(counts: dict, key: object) -> None:
    counts[key] = counts.get(key, 0) + 1


def rollups_for(results: Iterable[ProbeResult], site: str) -> dict[tuple[str, ...], Rollup]:
    """The hour and day rollups of `results` (one run's, say), keyed like Rollup.key."""
    out: dict[tuple[str, ...], Rollup] = {}
    for r in results:
        stamp = r.started_at or ""
        if len(stamp) < 16 or not stamp[14:16].isdigit():
            continue
        for period in PERIODS:
            key = (period, bucket_start(stamp, period), r.target, r.model, site)
            rollup = out.get(key)
            if rollup is None:
                rollup = out[key] = Rollup(*key)
            rollup.add(r)
    return out


def percentile(hist: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0..100) of a histogram, interpolated within its bucket (log scale)."""
    total = sum(hist.values())
    if total <= 0:
        return None
    rank = q / 100 * total
    seen = 0
    for index in sorted(hist):
        count = hist[index]
        if seen + count >= rank and count > 0:
            lower = UPPER_S[index - 1] if index > 0 else _BASE_S / _STEP
            upper = UPPER_S[index]
            within = (rank - seen) / count
            return math.exp(math.log(lower) + within * (math.log(upper) - math.log(lower)))
        seen += count
    return UPPER_S[max(hist)]


def merged(rollups: Iterable[Rollup]) -> Rollup | None:
    """Every rollup added into one (its period, bucket and key are the first one's)."""
    out: Rollup | None = None
    for r in rollups:
        if out is None:
            out = Rollup(r.period, r.bucket, r.target, r.model, r.site)
        out.merge(r)
    return out
