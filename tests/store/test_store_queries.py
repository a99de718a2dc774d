"""History and diff computations (pure functions over stored rows) and --since parsing."""

from __future__ import annotations

import datetime as dt

import pytest

from rollcall.models import ErrorKind, ProbeResult
from rollcall.store import Outcome, RunRecord
from rollcall.store.queries import diff_runs, history, parse_since

NOW = dt.datetime(2024, 5, 10, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", "2024-05-10T11:30:00.000Z"),
    ("12h", "2024-05-10T00:00:00.000Z"),
    ("7d", "2024-05-03T12:00:00.000Z"),
    (" 2W ", "2024-04-26T12:00:00.000Z"),
    ("2024-05-01", "2024-05-01T00:00:00.000Z"),
    ("2024-05-01T08:30", "2024-05-01T08:30:00.000Z"),
    ("2024-05-01T08:30:00+02:00", "2024-05-01T06:30:00.000Z"),
    ("2024-05-01T08:30:00Z", "2024-05-01T08:30:00.000Z"),
    ("all", None),
])
def test_since_accepts_durations_dates_and_all(text: str, expected: str | None) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize(("text", "why"), [
    ("yesterday", "is not a duration"),
    ("7", "is not a duration"),
    ("7y", "is not a duration"),
    ("-3d", "is not a duration"),
    ("0h", "must be more than 0"),
    ("2024-13-01", "is not a duration"),
    ("99999999w", "longer than 100 years"),
])
def test_since_rejects_anything_else_with_a_sentence(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        parse_since(text, now=NOW)
    assert "--since" in str(caught.value)


def outcome(target: str, ok: bool, at: int, *, model: str = "", site: str = "eu", run: str | None = None,
            kind: str | None = None, ttft: float | None = None, total: float | None = None) -> Outcome:
    return Outcome(target=target, model=model, site=site, run_id=run or f"run{at}", ok=ok,
                   started_at=f"2024-05-01T{at:02d}:00:00.000Z",
                   error_kind=None if ok else (kind or "timeout"),
                   ttft_s=ttft if ttft is not None else (0.1 * at if ok else None),
                   total_s=total if total is not None else (1.0 * at if ok else None))


def test_history_uptime_latency_streak_and_top_error() -> None:
    rows = history([
        outcome("A", True, 1), outcome("A", False, 2, kind="rate_limit"), outcome("A", True, 3),
        outcome("A", False, 4, kind="timeout"), outcome("A", False, 5, kind="rate_limit"),
        outcome("A", False, 6, kind="timeout"),
        outcome("B", True, 1), outcome("B", True, 2),
    ])
    a, b = rows
    assert (a.target, a.probes, a.runs, a.ok) == ("A", 6, 6, 2)
    assert a.uptime == pytest.approx(2 / 6)
    assert (a.ttft_p50_s, a.total_p50_s) == (pytest.approx(0.2), pytest.approx(2.0))
    assert a.total_p95_s == pytest.approx(2.9)  # linear between the two answers (1 s and 3 s)
    assert a.last_ok_at == "2024-05-01T03:00:00.000Z" and a.last_at == "2024-05-01T06:00:00.000Z"
    assert a.streak_label == "3 failed"
    # rate_limit and timeout tie (2 each): the one seen last wins.
    assert (a.top_error_kind, a.top_error_count) == ("timeout", 2)
    assert a.recent == (True, False, True, False, False, False)
    assert (b.uptime, b.streak_label, b.top_error_kind, b.last_ok_at) == (1.0, "2 ok", None, "2024-05-01T02:00:00.000Z")
    doc = a.to_dict()
    assert doc["streak"] == {"count": 3, "ok": False, "label": "3 failed"}
    assert doc["recent"] == ["ok", "failed", "ok", "failed", "failed", "failed"]


def test_history_groups_by_model_and_optionally_by_site_and_keeps_recent_short() -> None:
    outcomes = [outcome("A", True, h, site="eu" if h % 2 else "us", model="m1") for h in range(1, 24)]
    outcomes.append(outcome("A", False, 23, model="m2"))
    rows = history(outcomes, recent=5)
    assert [(r.target, r.model, r.site, r.probes) for r in rows] == [("A", "m1", None, 23), ("A", "m2", None, 1)]
    assert len(rows[0].recent) == 5
    by_site = history(outcomes, by_site=True)
    assert [(r.model, r.site, r.probes) for r in by_site] == [("m1", "eu", 12), ("m1", "us", 11), ("m2", "eu", 1)]


def test_history_counts_repeats_as_probes_and_ignores_cancelled() -> None:
    rows = history([
        outcome("A", True, 1, run="r1"), outcome("A", False, 1, run="r1"),
        outcome("A", False, 2, run="r2", kind="cancelled"),
    ])
    (row,) = rows
    assert (row.runs, row.probes, row.ok, row.streak_label) == (1, 2, 1, "1 failed")
    assert history([outcome("A", False, 1, kind="cancelled")]) == []


def result(target: str, ok: bool = True, *, model: str = "", ttft: float | None = 0.3, total: float | None = 1.0,
           kind: ErrorKind = ErrorKind.TIMEOUT) -> ProbeResult:
    return ProbeResult(target=target, kind="fake", model=model, ok=ok, ttft_s=ttft if ok else None,
                       total_s=total if ok else None, error_kind=None if ok else kind,
                       error=None if ok else f"{kind}: it broke", started_at="2024-05-01T00:00:00.000Z")


A = RunRecord(id="aaaa", started_at="2024-05-01T00:00:00.000Z", complete=True)
B = RunRecord(id="bbbb", started_at="2024-05-02T00:00:00.000Z", complete=True)


def test_diff_sorts_every_target_into_what_changed() -> None:
    before = [result("Steady"), result("Breaks"), result("Heals", False), result("Dead", False),
              result("Slows", total=1.0), result("Quickens", ttft=2.0, total=3.0), result("Gone")]
    after = [result("Steady", total=1.2), result("Breaks", False, kind=ErrorKind.AUTH), result("Heals"),
             result("Dead", False), result("Slows", total=2.0), result("Quickens", ttft=0.5, total=2.8),
             result("Fresh"), result("FreshBroken", False)]
    d = diff_runs(A, before, B, after)
    names = lambda changes: [c.target for c in changes]  # noqa: E731
    assert names(d.newly_failing) == ["Breaks"] and d.has_new_failures
    assert d.newly_failing[0].after.error_kind == "auth" and d.newly_failing[0].before.total_s == 1.0
    assert names(d.recovered) == ["Heals"]
    assert names(d.slower) == ["Slows"]
    assert [(m.metric, m.before_s, m.after_s, m.ratio) for m in d.slower[0].metrics] == [("total_s", 1.0, 2.0, 2.0)]
    assert names(d.faster) == ["Quickens"]
    assert [m.metric for m in d.faster[0].metrics] == ["ttft_s"]  # total moved 0.2 s only
    assert names(d.new) == ["Fresh", "FreshBroken"] and names(d.vanished) == ["Gone"]
    assert (d.steady, d.still_failing) == (1, 1)
    doc = d.to_dict()
    assert doc["schema"] == "rollcall.diff/1" and doc["a"]["id"] == "aaaa"
    assert doc["slower"][0]["changes"] == [{"metric": "total_s", "before_s": 1.0, "after_s": 2.0, "ratio": 2.0}]


def test_slower_needs_both_the_ratio_and_the_absolute_change() -> None:
    fast_doubling = diff_runs(A, [result("X", total=0.2)], B, [result("X", total=0.6)])
    assert not fast_doubling.slower and fast_doubling.steady == 1  # 3x, but only 0.4 s
    slow_creep = diff_runs(A, [result("X", total=10.0)], B, [result("X", total=12.0)])
    assert not slow_creep.slower  # 2 s, but only 1.2x
    both = diff_runs(A, [result("X", total=1.0)], B, [result("X", total=1.6)], threshold=1.5, min_delta_s=0.5)
    assert [c.target for c in both.slower] == ["X"]
    tuned = diff_runs(A, [result("X", total=1.0)], B, [result("X", total=1.6)], threshold=2.0)
    assert not tuned.slower


def test_diff_treats_repeats_as_up_when_any_answered_and_skips_cancelled() -> None:
    before = [result("R", False), result("R"), result("C")]
    after = [result("R", False), result("R", False), result("C", False, kind=ErrorKind.CANCELLED)]
    d = diff_runs(A, before, B, after)
    assert [c.target for c in d.newly_failing] == ["R"]
    assert [c.target for c in d.vanished] == ["C"]  # only cancelled in B: not measured, not failing


def test_diff_rejects_nonsense_thresholds() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        diff_runs(A, [], B, [], threshold=0.5)
    with pytest.raises(ValueError, match="0 or more"):
        diff_runs(A, [], B, [], min_delta_s=-1)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            diff_runs(A, [], B, [], threshold=bad)
        with pytest.raises(ValueError, match="finite"):
            diff_runs(A, [], B, [], min_delta_s=bad)


def test_since_takes_seconds_and_compound_durations() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_since("30s", now) == "2024-05-01T11:59:30.000Z"
    assert parse_since("1h30m", now) == "2024-05-01T10:30:00.000Z"
    assert parse_since("20240501", now) == "2024-05-01T00:00:00.000Z"  # a unit is required: this is a date
