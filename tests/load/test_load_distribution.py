"""Percentiles from raw samples: exact (linear interpolation) while samples fit, within the stated
bound after folding into the histogram, mergeable across shards, never averaged."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings, strategies as st

from rollcall.load.distribution import RELATIVE_ERROR, Distribution, interpolate


def exact_quantile(values: list[float], q: float) -> float:
    # statistics' "inclusive" method is linear interpolation between closest ranks (numpy's default).
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]


@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=2, max_size=300))
@settings(max_examples=200, deadline=None)
def test_exact_percentiles_are_linear_interpolation(values: list[float]) -> None:
    d = Distribution()
    d.extend(values)
    assert d.exact
    for q in (0.5, 0.9, 0.95, 0.99):
        assert d.quantile(q) == pytest.approx(exact_quantile(values, q), rel=1e-12, abs=1e-12)
    assert d.n == len(values) and d.mean == pytest.approx(statistics.fmean(values), rel=1e-9, abs=1e-9)


def test_interpolation_on_a_small_example() -> None:
    assert interpolate([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert interpolate([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert interpolate([5.0], 0.99) == 5.0


def test_merging_shards_equals_one_distribution_and_is_not_averaging() -> None:
    rng = random.Random(1)
    fast = [rng.uniform(0.01, 0.02) for _ in range(900)]
    slow = [rng.uniform(1.0, 2.0) for _ in range(100)]
    a, b, whole = Distribution(), Distribution(), Distribution()
    a.extend(fast)
    b.extend(slow)
    whole.extend(fast + slow)
    averaged = (a.quantile(0.99) + b.quantile(0.99)) / 2  # what a careless merge would report
    a.merge(b)
    merged, one = a.summary(), whole.summary()
    assert merged.pop("mean") == pytest.approx(one.pop("mean"), rel=1e-12)  # summation order differs
    assert merged == one
    assert a.quantile(0.99) != pytest.approx(averaged, rel=0.05)


def test_past_the_cap_percentiles_stay_within_the_bound_and_memory_is_bounded() -> None:
    rng = random.Random(2)
    values = [rng.lognormvariate(-2.0, 1.2) for _ in range(50_000)]
    d = Distribution(cap=1000)
    d.extend(values)
    assert not d.exact
    ordered = sorted(values)
    for q in (0.01, 0.5, 0.9, 0.95, 0.99, 0.999):
        exact = interpolate(ordered, q)
        assert abs(d.quantile(q) - exact) <= RELATIVE_ERROR * exact + 1e-12, q
    assert d.quantile(0.0) == min(values) and d.quantile(1.0) == pytest.approx(max(values), rel=RELATIVE_ERROR)
    assert d.mean == pytest.approx(statistics.fmean(values), rel=1e-9)
    # Buckets, not samples: 50,000 values spanning five decades fit in a few hundred.
    assert len(d._hist) < 1500


def test_merging_folded_and_exact_distributions() -> None:
    rng = random.Random(3)
    values = [rng.expovariate(10) for _ in range(6000)]
    big, small = Distribution(cap=1000), Distribution(cap=1000)
    big.extend(values[:5000])
    small.extend(values[5000:5500])
    tiny = Distribution(cap=1000)
    tiny.extend(values[5500:])
    small.merge(tiny)  # 1,000 samples: still exact
    assert small.exact
    big.merge(small)
    exact = sorted(values)
    assert big.n == 6000 and not big.exact
    assert abs(big.quantile(0.5) - interpolate(exact, 0.5)) <= RELATIVE_ERROR * interpolate(exact, 0.5)


def test_empty_zero_and_nan_samples() -> None:
    d = Distribution()
    assert d.summary() == {"p50": None, "p90": None, "p95": None, "p99": None, "mean": None, "n": 0}
    assert d.cdf() == []
    d.extend([0.0, float("nan"), -1.0, 2.0])  # NaN and negatives cannot be durations: they count as 0
    assert d.quantile(0.5) == 0.0 and d.n == 4 and d.mean == 0.5
    folded = Distribution(cap=2)
    folded.extend([0.0, 0.0, 0.0, 1.0])
    assert folded.quantile(0.5) == 0.0


def test_cdf_points_run_from_the_minimum_to_the_maximum() -> None:
    d = Distribution()
    d.extend([0.1 * i for i in range(1, 11)])
    points = d.cdf(11)
    assert points[0] == [pytest.approx(0.1), 0.0] and points[-1] == [pytest.approx(1.0), 1.0]
    assert [p[0] for p in points] == sorted(p[0] for p in points)
