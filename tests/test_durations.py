"""Durations: one parser (rollcall.durations) for every flag and config field that is one: plain
seconds or `30s`, `5m`, `1h`, `7d`; never NaN, infinity or past 100 years. The command line's
duration flags are exercised in test_inputs.py."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from rollcall.durations import MAX_DURATION_S, format_duration, parse_duration


@pytest.mark.parametrize("text, seconds", [
    (30, 30.0), (1.5, 1.5), ("30", 30.0), ("1.5", 1.5), (".5", 0.5), ("30s", 30.0), ("5m", 300.0),
    ("1h", 3600.0), ("7d", 604800.0), ("2w", 1209600.0), ("1h30m", 5400.0), (" 2M ", 120.0), ("1.5h", 5400.0),
    ("1e3", 1000.0), ("500ms", 0.5), ("1m30s", 90.0),
])
def test_durations_in_seconds_or_with_a_unit(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("value, words", [
    (math.nan, "finite"), (math.inf, "finite"), (-math.inf, "finite"), ("nan", "finite"), ("inf", "finite"),
    ("-Infinity", "finite"), ("1e400", "finite"), (0, "more than 0"), ("0s", "more than 0"), (-1, "more than 0"),
    ("-5", "more than 0"), (10**20, "longer than 100 years"), ("200000w", "longer than 100 years"), ("soon", "30s, 5m, 1h, 7d"),
    ("5 minutes", "30s, 5m"), ("", "30s, 5m"), (True, "30s, 5m"), ([5], "30s, 5m"), ("5x", "30s"),
])
def test_durations_refuse_what_no_deadline_can_be(value, words):
    with pytest.raises(ValueError, match=words) as info:
        parse_duration(value, "--timeout", allow_zero=False)
    assert str(info.value).startswith("--timeout: ")


def test_zero_only_where_allowed():
    assert parse_duration("0") == 0.0  # watch's `remind = "0"`: never
    with pytest.raises(ValueError, match="0 or more"):
        parse_duration(-0.5)
    with pytest.raises(ValueError, match="must be more than 0"):
        parse_duration("0s", allow_zero=False)


def test_the_short_spelling_back():
    assert [format_duration(s) for s in (300, 90, 0.25, 7200, 604800)] == ["5m", "90s", "0.25s", "2h", "1w"]


@given(st.one_of(st.floats(), st.integers(), st.text(max_size=12)))
def test_a_parsed_duration_is_always_a_usable_deadline(value):
    try:
        seconds = parse_duration(value, allow_zero=False)
    except ValueError:
        return
    assert math.isfinite(seconds) and 0 < seconds <= MAX_DURATION_S
