"""Durations as people write them: `30s`, `5m`, `1h`, `7d`, `2w`, `1h30m`, `500ms`, or a bare number
of seconds. The one parser for every duration a user gives: run's deadlines and checks (flags
through cli/params.Duration, config fields), `history --since`, `diff --min-delta`, watch
intervals, load stages, deadlines and SLOs.

Always finite: NaN and infinity are refused (a deadline of NaN fails every probe; one of
infinity is no deadline), and so is anything past 100 years (timer and datetime arithmetic
must never overflow). Errors are one sentence about the value; `what` (a flag or field) is put
in front when given.
"""

from __future__ import annotations

import math
import re

MAX_DURATION_S = 100 * 365 * 86400
EXAMPLES = "30s, 5m, 1h, 7d"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = r"(?:ms|[smhdw])"
_WHOLE = re.compile(rf"(?:{_NUMBER}\s*{_UNIT}\s*)+", re.IGNORECASE)
_PART = re.compile(rf"({_NUMBER})\s*({_UNIT})", re.IGNORECASE)
_PLAIN = re.compile(rf"[+-]?{_NUMBER}(?:e[+-]?\d+)?", re.IGNORECASE)
_NOT_FINITE = ("nan", "inf", "infinity")


def parse_duration(value: object, what: str | None = "duration", *, allow_zero: bool = True) -> float:
    """Seconds in `value` (a number, or text like "90", "1.5", "30s", "1h30m"); ValueError with
    `what: ` in front of the sentence (no prefix when `what` is None). Zero is a duration unless
    `allow_zero` is False (a deadline of 0 can never be met)."""
    try:
        return _checked(value, allow_zero=allow_zero)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}" if what else str(exc)) from None


def _checked(value: object, *, allow_zero: bool) -> float:
    seconds = _seconds(value)
    shown = _shown(value)
    if math.isnan(seconds) or (math.isinf(seconds) and not isinstance(value, int)):
        raise ValueError(f"{shown} must be a finite duration (e.g. {EXAMPLES})")
    if seconds < 0:
        raise ValueError(f"{shown} must be a duration of 0 or more" if allow_zero else f"{shown} must be more than 0")
    if seconds == 0 and not allow_zero:
        raise ValueError(f"{shown} must be more than 0")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"{shown} is longer than 100 years")
    return seconds


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({EXAMPLES}), got {value!r}")
    if isinstance(value, int):
        return float(value) if abs(value) <= MAX_DURATION_S else (math.inf if value > 0 else -math.inf)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN.fullmatch(text) or text.lower().lstrip("+-") in _NOT_FINITE:
            return float(text)  # cannot fail: the patterns admit only what float() reads
        if _WHOLE.fullmatch(text):
            return sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))
        raise ValueError(f"{_shown(value)} is not a duration (use e.g. {EXAMPLES})")
    raise ValueError(f"expected a duration ({EXAMPLES}), got {_shown(value)}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def format_duration(seconds: float) -> str:
    """The short spelling back: 300 -> `5m`, 90 -> `90s`, 0.25 -> `0.25s`."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
