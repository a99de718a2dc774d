"""Stage statistics from hand-made records: SLO pass rates and goodput, warm-up left out, the
window that rates are measured over, the client-bound rule, the timeline's bound, the knee."""

from __future__ import annotations

import pytest
from load_helpers import record

from rollcall.load.document import find_knee
from rollcall.load.spec import StageSpec
from rollcall.load.stage import ShardSummary, StageStats, Timeline, client_bound_reasons, meets

STAGE = StageSpec(index=0, mode="concurrency", value=4)


def stats(records, slo=None, shards=(ShardSummary(0, 0, 0.001, 0.5, 4, 4),)) -> dict:
    s = StageStats(STAGE, slo or {}, started_at=1_700_000_000.0)
    for r in records:
        s.add(r)
    for summary in shards:
        s.add_shard(summary)
    return s.result()


def test_slo_pass_rates_and_goodput() -> None:
    records = [
        record(number=0, ttft_s=0.2, tpot_s=0.01, sent_s=0.0, e2e_s=1.0),   # meets both
        record(number=1, ttft_s=0.8, tpot_s=0.01, sent_s=0.5, e2e_s=1.0),   # ttft too slow
        record(number=2, ttft_s=0.3, tpot_s=0.09, sent_s=1.0, e2e_s=1.0),   # tpot too slow
        record(number=3, ttft_s=0.1, tpot_s=None, output_tokens=1, sent_s=1.5, e2e_s=0.5),  # one token: no TPOT
        record(number=4, ok=False, ttft_s=None, tpot_s=None, sent_s=2.0, e2e_s=2.0),  # failed: meets nothing
    ]
    out = stats(records, slo={"ttft": 0.5, "tpot": 0.05})
    assert out["slo_pass"] == {"ttft": 3 / 5, "tpot": 3 / 5}
    assert out["duration_s"] == 4.0  # first due at 0.0, last end at 4.0
    assert out["goodput_per_s"] == pytest.approx(2 / 4.0)  # requests 0 and 3
    assert out["requests_per_s"] == pytest.approx(4 / 4.0) and out["ok"] == 4 and out["failed"] == 1
    assert out["errors"] == {"timeout": 1}
    assert out["output_tokens_per_s"] == pytest.approx((10 * 3 + 1) / 4.0)


def test_meets_reads_the_named_field() -> None:
    r = record(itl_s=[0.01, 0.3], e2e_s=2.0, ttfo_s=0.4)
    assert meets(r, "itl", 0.5) and not meets(r, "itl", 0.2)  # itl bounds the largest gap
    assert meets(r, "e2e", 2.0) and not meets(r, "e2e", 1.9)
    assert not meets(r, "ttfo", 0.3)


def test_without_slos_goodput_is_every_answer() -> None:
    out = stats([record(number=i, sent_s=float(i)) for i in range(3)])
    assert out["slo_pass"] == {} and out["goodput_per_s"] == out["requests_per_s"]


def test_warmup_records_are_left_out_whenever_they_finish() -> None:
    straggler = record(number=0, warmup=True, sent_s=0.0, e2e_s=30.0, ttft_s=9.0)  # ends inside the stage
    measured = [record(number=i, sent_s=1.0 + i, scheduled_s=1.0 + i, ttft_s=0.1) for i in range(1, 4)]
    out = stats([straggler, *measured])
    assert out["warmup"] == 1 and out["requests"] == 3
    assert out["ttft_s"]["p99"] == pytest.approx(0.1)
    assert out["duration_s"] == pytest.approx(4.0 + 1.0 - 2.0)  # window from the first measured send


def test_latency_summaries_pool_itl_and_keep_percentile_shape() -> None:
    out = stats([record(number=0, itl_s=[0.01, 0.02]), record(number=1, itl_s=[0.03])])
    assert out["itl_s"]["n"] == 3 and out["itl_s"]["p50"] == pytest.approx(0.02)
    for key in ("ttft_s", "ttfo_s", "tpot_s", "itl_s", "e2e_s", "send_lateness_s", "queue_s"):
        assert set(out[key]) == {"p50", "p90", "p95", "p99", "mean", "n"}


@pytest.mark.parametrize(("lateness", "lag", "reasons"), [
    (0.002, 0.01, 0), (0.010, 0.050, 0), (0.011, 0.01, 1), (0.001, 0.051, 1), (0.5, 0.5, 2), (None, None, 0),
])
def test_client_bound_rule(lateness, lag, reasons) -> None:
    assert len(client_bound_reasons(lateness, lag)) == reasons


def test_a_late_stage_is_flagged_client_bound() -> None:
    late = [record(number=i, lateness_s=0.002 if i < 95 else 0.2) for i in range(100)]
    out = stats(late)
    assert out["client_bound"] and "late at p99" in out["client_bound_reasons"][0]
    easy = stats([record(number=i, lateness_s=0.001) for i in range(100)])
    assert not easy["client_bound"] and easy["client_bound_reasons"] == []
    laggy = stats([record(number=i) for i in range(3)], shards=[ShardSummary(0, 0, 0.2, 0.1, 3, 3)])
    assert laggy["client_bound"] and "event loop lagged 200 ms" in laggy["client_bound_reasons"][0]


def test_shard_summaries_merge() -> None:
    shards = [ShardSummary(0, 0, 0.01, 1.0, 10, 9, cancelled=1, partial=True), ShardSummary(0, 1, 0.03, 2.0, 10, 10)]
    out = stats([record(number=i) for i in range(19)], shards=shards)
    assert out["loop_lag_max_s"] == 0.03 and out["client_cpu_s"] == 3.0 and out["shards"] == 2
    assert out["cancelled"] == 1 and out["partial"]
    assert out["client_cpu_per_request_ms"] == pytest.approx(3.0 / 20 * 1000)


def test_timeline_bins_stay_bounded_for_a_long_run() -> None:
    t = Timeline(origin=1000.0, bin_s=1.0, max_bins=100)
    for i in range(10_000):  # one request a second for almost three hours
        t.add(record(number=i, sent_at=1000.0 + i, e2e_s=0.5, ok=i % 10 != 0))
    doc = t.to_dict()
    assert len(doc["bins"]) <= 100 and doc["bin_s"] == 128.0
    assert sum(b["sent"] for b in doc["bins"]) == 10_000
    assert sum(b["ok"] for b in doc["bins"]) == 9_000 and sum(b["errors"].get("timeout", 0) for b in doc["bins"]) == 1_000


def _stage(index: int, value: int, rps: float, ttft: float) -> dict:
    return {"index": index, "concurrency": value, "partial": False, "ok": 10, "requests_per_s": rps,
            "output_tokens_per_s": rps * 20, "ttft_s": {"p50": ttft}}


def test_the_knee_is_where_throughput_stops_rising_while_ttft_climbs() -> None:
    stages = [_stage(0, 1, 5, 0.1), _stage(1, 8, 38, 0.11), _stage(2, 32, 120, 0.15), _stage(3, 128, 130, 0.9)]
    knee = find_knee(stages, "concurrency")
    assert knee is not None and knee["index"] == 2 and knee["concurrency"] == 32 and knee["next_index"] == 3
    assert "TTFT p50 rose 500%" in knee["reason"] and knee["throughput_unit"] == "output tokens/s"
    # Given in another order, the same knee: stages are taken by load.
    assert find_knee(list(reversed(stages)), "concurrency")["index"] == 2


def test_no_knee_while_throughput_scales_or_ttft_holds() -> None:
    scaling = [_stage(0, 1, 5, 0.1), _stage(1, 8, 39, 0.3), _stage(2, 32, 150, 0.6)]
    assert find_knee(scaling, "concurrency") is None
    flat_ttft = [_stage(0, 1, 5, 0.1), _stage(1, 8, 5.5, 0.1)]  # throughput stuck, but TTFT did not rise
    assert find_knee(flat_ttft, "concurrency") is None
    assert find_knee([_stage(0, 1, 5, 0.1)], "concurrency") is None


def test_the_closed_loop_ramp_up_is_reported_apart_from_lateness() -> None:
    # 64 users' first requests all fall due at the stage start; the last went out 30 ms after it.
    ramp = [record(number=i, ramp=True, lateness_s=i * 0.0005) for i in range(64)]
    resend = [record(number=64 + i, lateness_s=0.0001) for i in range(64)]
    out = stats(ramp + resend)
    assert out["ramp_up_s"] == pytest.approx(63 * 0.0005)
    assert out["send_lateness_s"]["n"] == 64 and not out["client_bound"]
