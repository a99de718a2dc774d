"""Percentiles from raw samples in bounded memory, mergeable across shards.

A Distribution keeps every sample (8 bytes each) up to EXACT_SAMPLES, and percentiles are then
exact: linear interpolation between the two nearest ranks, as numpy's default ("linear") and
Python's statistics.quantiles(method="inclusive") do. Past that many samples it folds them into a
log-bucketed histogram (bucket bounds grow by GAMMA = 1.01; each bucket is represented by the value
with the smallest worst-case relative error), so memory stays bounded however long a stage runs:
a percentile is then within 0.5% (relative) of the exact one, plus 1 ns absolute for values
below MIN_VALUE_S. Merging adds samples or buckets; percentiles are never averaged.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Any

EXACT_SAMPLES = 1_000_000
GAMMA = 1.01
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)  # 0.4975%: the bound documented above
MIN_VALUE_S = 1e-9
_LOG_GAMMA = math.log(GAMMA)
QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


def _bucket(x: float) -> int:
    return math.ceil(math.log(x) / _LOG_GAMMA)


def _representative(key: int) -> float:
    # Bucket `key` holds (GAMMA**(key-1), GAMMA**key]; this value is within RELATIVE_ERROR of both ends.
    return 2.0 * GAMMA**key / (GAMMA + 1.0)


def interpolate(sorted_values: Any, q: float) -> float:
    """The q-quantile (0..1) of sorted values by linear interpolation between closest ranks."""
    n = len(sorted_values)
    h = (n - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


class Distribution:
    """Samples of one quantity (seconds), with exact-then-bounded percentiles."""

    __slots__ = ("_exact", "_sorted", "_hist", "_zeros", "n", "total", "min", "max", "cap")

    def __init__(self, cap: int = EXACT_SAMPLES) -> None:
        self.cap = cap
        self._exact: array[float] | None = array("d")
        self._sorted = True
        self._hist: dict[int, int] = {}
        self._zeros = 0
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    @property
    def exact(self) -> bool:
        """True while every sample is kept (percentiles are exact)."""
        return self._exact is not None

    def add(self, x: float) -> None:
        if not x > 0.0:  # negatives cannot happen for durations; NaN must not poison the rest
            x = 0.0
        self.n += 1
        self.total += x
        if x < self.min:
            self.min = x
        if x > self.max:
            self.max = x
        exact = self._exact
        if exact is not None:
            exact.append(x)
            self._sorted = False
            if len(exact) > self.cap:
                self._fold()
        else:
            self._bin(x)

    def extend(self, values: Iterable[float]) -> None:
        exact = self._exact
        if exact is not None and isinstance(values, list) and values and len(exact) + len(values) <= self.cap:
            lo, hi, total = min(values), max(values), math.fsum(values)
            if lo >= 0.0 and hi < math.inf and total == total:  # no NaN: the common case, one C-level append
                exact.extend(values)
                self._sorted = False
                self.n += len(values)
                self.total += total
                self.min = min(self.min, lo)
                self.max = max(self.max, hi)
                return
        for x in values:
            self.add(x)

    def _bin(self, x: float, count: int = 1) -> None:
        if x < MIN_VALUE_S:
            self._zeros += count
        else:
            key = _bucket(x)
            self._hist[key] = self._hist.get(key, 0) + count

    def _fold(self) -> None:
        exact, self._exact = self._exact, None
        for x in exact or ():
            self._bin(x)

    def merge(self, other: Distribution) -> None:
        """Add `other`'s samples (another shard's) to this one."""
        if other.n == 0:
            return
        self.n += other.n
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        if self._exact is not None and other._exact is not None and len(self._exact) + len(other._exact) <= self.cap:
            self._exact.extend(other._exact)
            self._sorted = False
            return
        if self._exact is not None:
            self._fold()
        if other._exact is not None:
            for x in other._exact:
                self._bin(x)
        else:
            self._zeros += other._zeros
            for key, count in other._hist.items():
                self._hist[key] = self._hist.get(key, 0) + count

    def _ordered(self) -> array[float]:
        exact = self._exact
        assert exact is not None
        if not self._sorted:
            exact = array("d", sorted(exact))
            self._exact = exact
            self._sorted = True
        return exact

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1), or None without samples."""
        if self.n == 0:
            return None
        if self._exact is not None:
            return interpolate(self._ordered(), q)
        h = (self.n - 1) * q
        lo = math.floor(h)
        a, b = self._rank(lo), self._rank(min(lo + 1, self.n - 1))
        value = a + (h - lo) * (b - a)
        return min(max(value, self.min), self.max)

    def _rank(self, rank: int) -> float:
        """The (approximate) value of the sample with this 0-based rank, from the histogram."""
        if rank < self._zeros:
            return 0.0
        seen = self._zeros
        for key in sorted(self._hist):
            seen += self._hist[key]
            if rank < seen:
                return _representative(key)
        return self.max

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def summary(self) -> dict[str, float | int | None]:
        """{"p50", "p90", "p95", "p99", "mean", "n"}: the shape every latency has in the JSON."""
        out: dict[str, float | int | None] = {name: self.quantile(q) for name, q in QUANTILES.items()}
        out["mean"] = self.mean
        out["n"] = self.n
        return out

    def cdf(self, points: int = 101) -> list[list[float]]:
        """[value, fraction] pairs at evenly spaced fractions 0..1 (for CDF charts)."""
        if self.n == 0:
            return []
        steps = max(2, points) - 1
        return [[self.quantile(i / steps) or 0.0, i / steps] for i in range(steps + 1)]
