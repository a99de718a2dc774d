"""When rounds run: targets grouped by their interval, each group one round at a time.

A group's first round starts at once; each next one `every` (± up to 10%, seeded, so many
watchers started together drift apart instead of firing in step) after the previous one
started. A round that outlasts the interval makes the next one late rather than overlapping it:
a target is never probed twice at the same time. Pure arithmetic; the watcher sleeps on it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

JITTER = 0.10


@dataclass
class Group:
    """Targets probed together every `every_s` seconds."""

    every_s: float
    targets: list[Any] = field(default_factory=list)
    rounds: int = 0  # rounds started
    late: bool = False  # whether the last round outlasted its interval
    next_at: float = 0.0  # monotonic time the next round is due
    rng: random.Random = field(default_factory=random.Random)

    def due_in(self, now: float) -> float:
        return max(0.0, self.next_at - now)

    def interval(self) -> float:
        """This round's interval: `every_s` ± JITTER."""
        return self.every_s * (1 + self.rng.uniform(-JITTER, JITTER))

    def schedule_next(self, started: float, ended: float) -> float:
        """Set the next round's time after a round that ran from `started` to `ended`; returns
        how late it will be (0 when the round fit in its interval)."""
        due = started + self.interval()
        self.next_at = max(due, ended)
        return max(0.0, ended - due)


def seed_for(site: str, every_s: float, seed: int | None = None) -> int:
    """A seed that differs per site and interval (and per explicit --seed), stable across restarts."""
    text = f"{seed}:{site}:{every_s!r}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def make_groups(
    targets: Sequence[Any], every_for: Any, *, site: str, start: float, seed: int | None = None,
) -> list[Group]:
    """One Group per distinct interval (`every_for(target) -> seconds`), in first-seen order,
    each due at `start`."""
    groups: dict[float, Group] = {}
    for target in targets:
        every = float(every_for(target))
        group = groups.get(every)
        if group is None:
            group = groups[every] = Group(every, next_at=start, rng=random.Random(seed_for(site, every, seed)))
        group.targets.append(target)
    return list(groups.values())
