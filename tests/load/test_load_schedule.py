"""Arrival schedules: Poisson and gamma statistics over many seeded draws, determinism, and shards
that together send exactly the one-process schedule."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcall.load.schedule import arrivals, proportional, shard_arrivals, split, stage_seed


def gaps(rate: float, burstiness: float, n: int, seed: int = 7) -> list[float]:
    times = list(itertools.islice(arrivals(rate, burstiness, seed), n + 1))
    return [b - a for a, b in itertools.pairwise(times)]


def test_the_first_request_goes_at_the_stage_start() -> None:
    assert next(arrivals(10.0, 1.0, 1)) == 0.0


def test_poisson_arrivals_have_exponential_gaps() -> None:
    rate = 20.0
    g = gaps(rate, 1.0, 40_000)
    mean = statistics.fmean(g)
    assert mean == pytest.approx(1 / rate, rel=0.02)
    assert statistics.pstdev(g) / mean == pytest.approx(1.0, rel=0.03)  # CV of an exponential is 1
    # P(gap <= mean) = 1 - 1/e for an exponential; and memorylessness: P(gap > 2m | gap > m) = P(gap > m).
    below = sum(x <= mean for x in g) / len(g)
    assert below == pytest.approx(1 - math.exp(-1), abs=0.01)
    over_m = [x for x in g if x > mean]
    assert sum(x > 2 * mean for x in over_m) / len(over_m) == pytest.approx(math.exp(-1), abs=0.015)


def test_poisson_counts_per_window_have_variance_equal_to_mean() -> None:
    rate = 50.0
    times = list(itertools.takewhile(lambda t: t < 400.0, arrivals(rate, 1.0, 11)))
    counts = [0] * 400
    for t in times:
        counts[int(t)] += 1
    assert statistics.fmean(counts) == pytest.approx(rate, rel=0.02)
    assert statistics.pvariance(counts) / statistics.fmean(counts) == pytest.approx(1.0, abs=0.15)


@pytest.mark.parametrize("burstiness", [0.25, 4.0, 100.0])
def test_gamma_arrivals_keep_the_rate_and_set_the_spread(burstiness: float) -> None:
    rate = 8.0
    g = gaps(rate, burstiness, 60_000, seed=3)
    mean = statistics.fmean(g)
    assert mean == pytest.approx(1 / rate, rel=0.03)
    assert statistics.pstdev(g) / mean == pytest.approx(1 / math.sqrt(burstiness), rel=0.06)


def test_a_seed_fixes_the_schedule_and_another_seed_changes_it() -> None:
    first = list(itertools.islice(arrivals(5.0, 1.0, 42), 100))
    assert first == list(itertools.islice(arrivals(5.0, 1.0, 42), 100))
    assert first != list(itertools.islice(arrivals(5.0, 1.0, 43), 100))
    assert stage_seed(0, 1) != stage_seed(0, 2) and stage_seed(0, 1) == stage_seed(0, 1)


@pytest.mark.parametrize("shards", [1, 2, 3, 7])
def test_shards_together_send_exactly_the_whole_schedule(shards: int) -> None:
    whole = list(itertools.islice(enumerate(arrivals(30.0, 2.0, 9)), 500))
    parts = [list(itertools.islice(shard_arrivals(30.0, 2.0, 9, s, shards), 500)) for s in range(shards)]
    merged = sorted(itertools.chain.from_iterable(parts))[:500]
    assert merged == whole
    assert all(n % shards == s for s, part in enumerate(parts) for n, _ in part)


@pytest.mark.parametrize(("total", "shards"), [(0, 3), (1, 3), (10, 3), (128, 7), (5, 5)])
def test_split_is_even_and_sums_to_the_total(total: int, shards: int) -> None:
    shares = [split(total, shards, s) for s in range(shards)]
    assert sum(shares) == total and max(shares) - min(shares) <= 1


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError):
        next(arrivals(0.0, 1.0, 1))
    with pytest.raises(ValueError):
        split(3, 2, 2)


@given(st.integers(0, 10_000), st.lists(st.integers(1, 50), min_size=1, max_size=16))
def test_proportional_shares_add_up_and_follow_the_weights(total: int, weights: list[int]) -> None:
    shares = [proportional(total, weights, k) for k in range(len(weights))]
    assert sum(shares) == total and all(s >= 0 for s in shares)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / sum(weights)) < 1.0 + 1e-9
