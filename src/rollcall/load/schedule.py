"""When requests are sent: open-loop arrival schedules and how a stage's work is split into shards.

An open-loop stage at rate λ sends requests at times whose gaps are gamma-distributed with shape
B (`--burstiness`) and mean 1/λ: B = 1 is a Poisson process, B < 1 burstier, large B nearly
evenly spaced (the gaps' coefficient of variation is 1/sqrt(B)). A schedule is a pure function of
(rate, burstiness, seed), so every shard of a stage can draw the same schedule and take its own
share (every n-th arrival): n shards together send exactly what one process would have sent.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator


def stage_seed(seed: int, stage: int) -> int:
    """The seed of one stage's randomness (schedule, prompts), the same on every machine."""
    return (seed * 1_000_003 + stage * 7_919 + 1) & 0xFFFF_FFFF_FFFF


def arrivals(rate: float, burstiness: float, seed: int) -> Iterator[float]:
    """Send times in seconds from the stage start: 0, then gamma-distributed gaps of mean 1/rate."""
    if not rate > 0 or not burstiness > 0:
        raise ValueError("rate and burstiness must be greater than 0")
    rng = random.Random(seed)
    gamma = rng.gammavariate
    scale = 1.0 / (rate * burstiness)
    t = 0.0
    while True:
        yield t
        t += gamma(burstiness, scale)


def shard_arrivals(rate: float, burstiness: float, seed: int, shard: int, shards: int) -> Iterator[tuple[int, float]]:
    """(global arrival number, send time) of the arrivals that belong to `shard` of `shards`."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of {shards}")
    numbered = enumerate(arrivals(rate, burstiness, seed))
    return itertools.islice(numbered, shard, None, shards)


def split(total: int, shards: int, shard: int) -> int:
    """This shard's share of `total` (users, requests): as even as whole numbers allow."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of {shards}")
    return total // shards + (1 if shard < total % shards else 0)


def proportional(total: int, weights: list[int], shard: int) -> int:
    """This shard's share of `total` in proportion to `weights` (e.g. requests to users), in whole
    numbers that add up to `total`: the difference of the rounded running totals."""
    whole = sum(weights)
    if not 0 <= shard < len(weights) or whole <= 0:
        raise ValueError(f"shard {shard} is not one of {len(weights)}, or the weights are empty")
    before = sum(weights[:shard])

    def upto(weight: int) -> int:
        return (2 * total * weight + whole) // (2 * whole)  # total * weight / whole, rounded half up

    return upto(before + weights[shard]) - upto(before)
