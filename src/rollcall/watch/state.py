"""The watch state machine, per (target, model, site): pure, fed one verdict per round.

A round's results for one key give one verdict: GOOD (answered within the SLO), SLOW (answered,
over the SLO) or FAILED (no answer; `rate_limit` is a failure like any other, its kind kept).
Getting worse takes `fail_after` consecutive rounds at least that bad; getting better takes
`recover_after` consecutive rounds at least that good (Gatus' failure/success thresholds), so
one odd round never flips a state and a flapping provider does not spam:

    unknown -> up        the first GOOD round (nothing was known before it)
    any     -> down      fail_after consecutive FAILED rounds
    unknown, up -> degraded   fail_after consecutive rounds that were not GOOD (slow or failed)
    down    -> degraded  recover_after consecutive answered rounds, not all GOOD
    degraded, down -> up recover_after consecutive GOOD rounds

Nothing else changes a state. Probes the watcher itself cancelled give no verdict.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..models import ErrorKind, ProbeResult
from .options import DEFAULT_FAIL_AFTER, DEFAULT_RECOVER_AFTER



class State(enum.StrEnum):
    """A key's state; the strings are a stable contract (store, alerts, metrics)."""

    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class Verdict(enum.IntEnum):
    """One round for one key, ordered from best to worst."""

    GOOD = 0
    SLOW = 1
    FAILED = 2


@dataclass(frozen=True, slots=True)
class Thresholds:
    fail_after: int = DEFAULT_FAIL_AFTER
    recover_after: int = DEFAULT_RECOVER_AFTER

    def __post_init__(self) -> None:
        for name in ("fail_after", "recover_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of rounds, at least 1; got {value!r}")


@dataclass(frozen=True, slots=True)
class Slo:
    """Answers slower than this are SLOW (the key turns `degraded`). None: no bound."""

    ttft_s: float | None = None
    total_s: float | None = None

    def breach(self, ttft_s: float | None, total_s: float | None) -> str | None:
        """Why an answer with these timings is over the SLO, or None when it is within it."""
        if self.ttft_s is not None and ttft_s is not None and ttft_s > self.ttft_s:
            return f"time to first token {ttft_s:.2f} s over the SLO of {self.ttft_s:g} s"
        if self.total_s is not None and total_s is not None and total_s > self.total_s:
            return f"total time {total_s:.2f} s over the SLO of {self.total_s:g} s"
        return None


@dataclass(frozen=True, slots=True)
class Observation:
    """One key's round, judged: the verdict, and what the round showed (for incidents, alerts)."""

    verdict: Verdict
    error_kind: str | None = None  # the last failure's kind (FAILED); None for GOOD and SLOW
    error: str | None = None  # the failure's one-line text, or why the answer was SLOW
    ttft_s: float | None = None
    total_s: float | None = None


def judge(results: Sequence[ProbeResult], slo: Slo = Slo()) -> Observation | None:
    """The verdict of one round's results for one key (several with --repeat); None when the
    round says nothing about the provider (every probe was cancelled by us).

    FAILED when no probe answered; otherwise the median answer is held against the SLO.
    """
    counted = [r for r in results if r.error_kind is not ErrorKind.CANCELLED]
    if not counted:
        return None
    oks = [r for r in counted if r.ok]
    if not oks:
        last = counted[-1]
        return Observation(Verdict.FAILED, str(last.error_kind) if last.error_kind else None, last.error,
                           last.ttft_s, last.total_s)
    ttft = _median([r.ttft_s for r in oks])
    total = _median([r.total_s for r in oks])
    why = slo.breach(ttft, total)
    return Observation(Verdict.SLOW if why else Verdict.GOOD, None, why, ttft, total)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


@dataclass(frozen=True, slots=True)
class KeyState:
    """Where one key stands: its state, since when, and the streaks that move it."""

    state: State = State.UNKNOWN
    since: str | None = None  # when the current state was entered (None while unknown)
    failed: int = 0  # consecutive FAILED rounds
    bad: int = 0  # consecutive rounds that were not GOOD
    good: int = 0  # consecutive GOOD rounds
    answered: int = 0  # consecutive rounds that were not FAILED
    rounds: int = 0  # rounds with a verdict, ever
    # The first not-GOOD round of the current bad streak: what an incident opened by it began with.
    streak_error_kind: str | None = None
    streak_error: str | None = None
    streak_failed: int = 0  # FAILED rounds in the current bad streak


@dataclass(frozen=True, slots=True)
class Transition:
    previous: State
    current: State
    at: str


def step(
    current: KeyState, observation: Observation, at: str, thresholds: Thresholds = Thresholds()
) -> tuple[KeyState, Transition | None]:
    """The key after one more judged round at `at`, and the transition it made (or None)."""
    verdict = observation.verdict
    failed = current.failed + 1 if verdict is Verdict.FAILED else 0
    bad = current.bad + 1 if verdict is not Verdict.GOOD else 0
    good = current.good + 1 if verdict is Verdict.GOOD else 0
    answered = current.answered + 1 if verdict is not Verdict.FAILED else 0
    state = current.state
    if failed >= thresholds.fail_after:
        new = State.DOWN
    elif state in (State.UNKNOWN, State.UP) and bad >= thresholds.fail_after:
        new = State.DEGRADED
    elif state is State.UNKNOWN and verdict is Verdict.GOOD:
        new = State.UP
    elif state in (State.DEGRADED, State.DOWN) and good >= thresholds.recover_after:
        new = State.UP
    elif state is State.DOWN and answered >= thresholds.recover_after:
        new = State.DEGRADED
    else:
        new = state
    if bad == 1:  # a bad streak begins: remember how
        streak_kind, streak_error, streak_failed = observation.error_kind, observation.error, 0
    elif bad == 0:
        streak_kind = streak_error = None
        streak_failed = 0
    else:
        streak_kind, streak_error, streak_failed = current.streak_error_kind, current.streak_error, current.streak_failed
    if verdict is Verdict.FAILED:
        streak_failed += 1
    after = replace(
        current, failed=failed, bad=bad, good=good, answered=answered, rounds=current.rounds + 1,
        streak_error_kind=streak_kind, streak_error=streak_error, streak_failed=streak_failed,
    )
    if new is state:
        return after, None
    return replace(after, state=new, since=at), Transition(state, new, at)
