"""The state machine: thresholds hold for any sequence of rounds, and nothing moves without them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from rollcall.models import ErrorKind, ProbeResult
from rollcall.watch.state import (
    KeyState, Observation, Slo, State, Thresholds, Verdict, judge, step,
)

G, S, F = Verdict.GOOD, Verdict.SLOW, Verdict.FAILED


def run(verdicts, thresholds=Thresholds()):
    """Feed verdicts; return the states after each round and the transitions (index, transition)."""
    key, states, transitions = KeyState(), [], []
    for i, verdict in enumerate(verdicts):
        key, transition = step(key, Observation(verdict), f"t{i}", thresholds)
        states.append(key.state)
        if transition:
            transitions.append((i, transition))
    return states, transitions


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([G], [State.UP]),
        ([F, F, F], [State.UNKNOWN, State.UNKNOWN, State.DOWN]),  # failing from its first round
        ([G, F, F, F, G, G], [State.UP, State.UP, State.UP, State.DOWN, State.DOWN, State.UP]),
        ([G, S, S, S, G, G], [State.UP, State.UP, State.UP, State.DEGRADED, State.DEGRADED, State.UP]),
        ([G, F, F, S], [State.UP, State.UP, State.UP, State.DEGRADED]),  # unhealthy 3 rounds, not all failed
        ([G, F, F, F, S, S], [State.UP, State.UP, State.UP, State.DOWN, State.DOWN, State.DEGRADED]),
        ([G, S, S, S, F, F, F], [State.UP] * 3 + [State.DEGRADED] * 3 + [State.DOWN]),
        ([G, F, G, F, G, F, G], [State.UP] * 7),  # flapping never crosses a threshold
    ],
)
def test_examples(verdicts, expected):
    assert run(verdicts)[0] == expected


def test_since_and_streak_error_are_kept():
    key = KeyState()
    key, _ = step(key, Observation(G), "t0")
    key, _ = step(key, Observation(F, "rate_limit", "HTTP 429 slow down"), "t1")
    key, _ = step(key, Observation(F, "timeout", "no answer"), "t2")
    key, transition = step(key, Observation(F, "timeout", "no answer"), "t3")
    assert transition is not None and (transition.previous, transition.current) == (State.UP, State.DOWN)
    assert key.since == "t3" and key.streak_error_kind == "rate_limit" and key.streak_error == "HTTP 429 slow down"
    key, _ = step(key, Observation(G), "t4")
    assert key.streak_error_kind is None and key.state is State.DOWN


def test_thresholds_are_validated():
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="fail_after"):
            Thresholds(fail_after=bad)
    with pytest.raises(ValueError, match="recover_after"):
        Thresholds(recover_after=0)


def _r(ok=True, kind=None, ttft=0.1, total=0.5):
    return ProbeResult(target="t", kind="openai", model="m", ok=ok, error_kind=kind, error="boom" if kind else None,
                       ttft_s=ttft if ok else None, total_s=total)


def test_judge():
    slo = Slo(ttft_s=1.0, total_s=5.0)
    assert judge([], slo) is None
    assert judge([_r(ok=False, kind=ErrorKind.CANCELLED)], slo) is None
    assert judge([_r()], slo).verdict is G
    slow = judge([_r(ttft=2.5)], slo)
    assert slow.verdict is S and "first token 2.50 s over the SLO of 1 s" in slow.error
    assert judge([_r(total=9.0)], slo).verdict is S
    limited = judge([_r(ok=False, kind=ErrorKind.RATE_LIMIT)], slo)
    assert limited.verdict is F and limited.error_kind == "rate_limit"  # a failure, told apart by its kind
    # Repeats: any answer counts as answered; the median answer meets the SLO or not.
    assert judge([_r(ok=False, kind=ErrorKind.TIMEOUT), _r(), _r()], slo).verdict is G
    assert judge([_r(ttft=3), _r(ttft=3), _r(ttft=0.1)], slo).verdict is S
    assert judge([_r(ttft=30)], Slo()).verdict is G  # no SLO: never slow


verdict_lists = st.lists(st.sampled_from([G, S, F]), max_size=60)
limits = st.integers(min_value=1, max_value=5)


@settings(max_examples=400, deadline=None)
@given(verdict_lists, limits, limits)
def test_every_transition_is_a_threshold_crossing(verdicts, fail_after, recover_after):
    thresholds = Thresholds(fail_after, recover_after)
    states, transitions = run(verdicts, thresholds)
    for i, transition in transitions:
        last_fa, last_ra = verdicts[max(0, i - fail_after + 1): i + 1], verdicts[max(0, i - recover_after + 1): i + 1]
        before, after = transition.previous, transition.current
        assert after is not State.UNKNOWN and before is not after
        if after is State.DOWN:
            assert len(last_fa) == fail_after and all(v is F for v in last_fa)
        elif after is State.DEGRADED and before in (State.UNKNOWN, State.UP):
            assert len(last_fa) == fail_after and all(v is not G for v in last_fa)
            assert not all(v is F for v in last_fa)
        elif after is State.DEGRADED:
            assert before is State.DOWN
            assert len(last_ra) == recover_after and all(v is not F for v in last_ra)
            assert not all(v is G for v in last_ra)
        elif before is State.UNKNOWN:
            assert after is State.UP and verdicts[i] is G
        else:
            assert after is State.UP and len(last_ra) == recover_after and all(v is G for v in last_ra)
    # Between transitions the state holds still.
    changed_at = {i for i, _ in transitions}
    for i in range(1, len(states)):
        assert (states[i] != states[i - 1]) == (i in changed_at)
    if states:
        assert (states[0] is not State.UNKNOWN) == (0 in changed_at)


@settings(max_examples=400, deadline=None)
@given(verdict_lists, limits, limits)
def test_thresholds_always_take_effect(verdicts, fail_after, recover_after):
    states, _ = run(verdicts, Thresholds(fail_after, recover_after))
    for i in range(len(verdicts)):
        last_fa = verdicts[max(0, i - fail_after + 1): i + 1]
        last_ra = verdicts[max(0, i - recover_after + 1): i + 1]
        if len(last_fa) == fail_after and all(v is F for v in last_fa):
            assert states[i] is State.DOWN
        elif len(last_fa) == fail_after and all(v is not G for v in last_fa):
            assert states[i] in (State.DEGRADED, State.DOWN)
        if len(last_ra) == recover_after and all(v is G for v in last_ra):
            assert states[i] is State.UP
        if all(v is not G for v in verdicts[: i + 1]):
            assert states[i] is not State.UP  # up only after a good round
