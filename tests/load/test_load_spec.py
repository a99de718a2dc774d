"""Load settings are validated where they enter: lists, rates, durations, SLOs, prompt sizes."""

from __future__ import annotations

import pytest

from rollcall.load.spec import (
    LoadSpec,
    SpecError,
    parse_burstiness,
    parse_concurrency_list,
    parse_duration,
    parse_input_tokens,
    parse_rate_list,
    parse_slo,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30", 30.0), ("30s", 30.0), ("500ms", 0.5), ("5m", 300.0), ("1h", 3600.0), ("7d", 604800.0), ("1.5s", 1.5),
    (" 2 M ", 120.0), (".25", 0.25), ("1h30m", 5400.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "--duration") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "0", "0s", "-1s", "nan", "inf", "1e9999", "5 minutes", "1y", "s", "1,5", "5m5"])
def test_bad_durations_name_the_flag(text: str) -> None:
    with pytest.raises(SpecError, match=r"^--duration: "):
        parse_duration(text, "--duration")


def test_concurrency_lists() -> None:
    assert parse_concurrency_list("1,8,32,128") == [1, 8, 32, 128]
    assert parse_concurrency_list(" 64 , 1 ") == [64, 1]  # the order given is the order run


@pytest.mark.parametrize("text", ["", ",", "1,,2", "0", "-1", "1.5", "x", "1,1", "100001", "nan"])
def test_bad_concurrency_lists(text: str) -> None:
    with pytest.raises(SpecError, match=r"^--concurrency: "):
        parse_concurrency_list(text)


def test_rate_lists() -> None:
    assert parse_rate_list("0.5,5,20") == [0.5, 5.0, 20.0]


@pytest.mark.parametrize("text", ["0", "-2", "nan", "inf", "1e7", "fast", "5,5.0", "1;2"])
def test_bad_rate_lists(text: str) -> None:
    with pytest.raises(SpecError, match=r"^--rate: "):
        parse_rate_list(text)


def test_slo_specs() -> None:
    assert parse_slo("ttft=0.5,tpot=50ms,e2e=2s") == {"ttft": 0.5, "tpot": 0.05, "e2e": 2.0}
    assert parse_slo("TTFO=1, itl=200ms") == {"ttfo": 1.0, "itl": 0.2}


@pytest.mark.parametrize(("text", "why"), [
    ("ttft", "expected NAME=SECONDS"), ("latency=1", "unknown SLO 'latency'"), ("ttft=1,ttft=2", "given twice"),
    ("ttft=0", "longer than 0"), ("ttft=nan", "must be a finite duration"), ("ttft=fast", "not a duration"),
    ("", "comma-separated"),
])
def test_bad_slo_specs(text: str, why: str) -> None:
    with pytest.raises(SpecError, match=r"^--slo") as info:
        parse_slo(text)
    assert why in str(info.value)


def test_input_tokens() -> None:
    assert parse_input_tokens("512") == (512, 0)
    assert parse_input_tokens("512:64") == (512, 64)
    for bad in ("0", "x", "512:512", "512:-1", "512:", "1:1", "-5"):
        with pytest.raises(SpecError, match=r"^--input-tokens: "):
            parse_input_tokens(bad)


def test_burstiness() -> None:
    assert parse_burstiness(0.5) == 0.5
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(SpecError, match=r"^--burstiness: "):
            parse_burstiness(bad)


@pytest.mark.parametrize(("kwargs", "flag"), [
    (dict(requests=None, duration_s=None), "--requests/--duration"),
    (dict(requests=10, duration_s=5.0), "--requests/--duration"),
    (dict(requests=0), "--requests"),
    (dict(warmup=-1), "--warmup"),
    (dict(timeout_s=float("nan")), "--timeout"),
    (dict(max_tokens=0), "--max-tokens"),
    (dict(max_concurrency=4), "--max-concurrency"),  # a concurrency run
    (dict(values=()), "--concurrency"),
])
def test_load_spec_checks_itself(kwargs: dict, flag: str) -> None:
    values = dict(mode="concurrency", values=(1, 2))
    values.update(kwargs)
    with pytest.raises(SpecError, match=f"^{flag}"):
        LoadSpec(**values)


def test_connection_pool_covers_every_request_in_flight() -> None:
    assert LoadSpec(mode="concurrency", values=(1, 64, 8)).max_in_flight == 64
    assert LoadSpec(mode="rate", values=(5.0,), max_concurrency=32).max_in_flight == 32
