"""Durations as people write them: `30s`, `5m`, `1h`, `7d`, `2w`, `1h30m`, `0.5s`, or a bare number
of seconds. The one parser for every duration a user gives (watch intervals, load stages and
deadlines); callers add their own lower bounds.
"""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EXAMPLES = "30s, 5m, 1h, 7d"


def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds in `value`; ValueError naming `what` when it is not a duration."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a duration ({EXAMPLES}), got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = list(_PART.finditer(text))
            if not parts or "".join(p.group(0) for p in parts).lower() != text.lower():
                raise ValueError(f"{what}: {value!r} is not a duration (use e.g. {EXAMPLES})") from None
            seconds = sum(float(p.group(1)) * _UNITS[p.group(2).lower()] for p in parts)
    else:
        raise ValueError(f"{what}: expected a duration ({EXAMPLES}), got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what}: {value!r} must be a duration of 0 or more (e.g. {EXAMPLES})")
    return seconds


def format_duration(seconds: float) -> str:
    """The short spelling back: 300 -> `5m`, 90 -> `90s`, 0.25 -> `0.25s`."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
