"""Numbers and text as people give them in flags and config files: counts, ratios, nesting.
(Durations have their own module, rollcall.durations.)

Each kind of value is parsed here once. A parser raises ValueError with a sentence that says
what is wrong but not where; the caller (a click ParamType in cli/params.py, a config field)
puts the flag or field name in front, so the user reads `'--repeat': must be ...` or
`rollcall.toml: [defaults]: field 'repeat' must be ...`, never a library's parameter name.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Counts (concurrency, repeats, limits): sizes no run means, and that keep every stored
# integer (SQLite INTEGER, PostgreSQL INTEGER = 32 bits) in range.
MAX_CONCURRENCY = 100_000
MAX_REPEAT = 100_000
MAX_COUNT = 2**31 - 1
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?", re.IGNORECASE)  # what float() reads, less nan/inf


def describe(value: object) -> str:
    """A value quoted for an error sentence, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parse_count(value: object, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """A whole number in minimum..maximum (an int, or text of one)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
        number = int(value)
    if number is None:
        raise ValueError(f"must be a whole number, got {describe(value)}")
    if not minimum <= number <= maximum:
        raise ValueError(f"must be between {minimum:,} and {maximum:,}, got {describe(value)}")
    return number


def parse_number(value: object, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """A finite number (an int or float, or text of one), optionally within [minimum, maximum]."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    elif isinstance(value, str):
        text = value.strip()
        if _PLAIN.fullmatch(text) or text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            number = float(text)
    if number is None:
        raise ValueError(f"must be a number, got {describe(value)}")
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {describe(value)}")
    if minimum is not None and number < minimum:
        raise ValueError(f"must be at least {minimum:g}, got {describe(value)}")
    if maximum is not None and number > maximum:
        raise ValueError(f"must be at most {maximum:g}, got {describe(value)}")
    return number


def is_finite_positive(value: object) -> bool:
    """For library entry points that take seconds: a real number above 0 and below infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:  # an int beyond any float
        return False


def is_unicode(text: str) -> bool:
    """False when `text` holds lone surrogates: bytes that were not UTF-8 (argv, environment)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def too_deep(doc: object, limit: int) -> str | None:
    """Where `doc` (parsed TOML or JSON) nests tables/arrays more than `limit` levels, or None.

    Walked without recursion: the point is to refuse what would make later recursive code
    (renderers, json.dumps) hit Python's recursion limit. Paths are linked (key, parent) pairs,
    spelled out only for the answer, so a large document costs no string per value.
    """
    stack: list[tuple[object, int, Any]] = [(doc, 0, None)]
    while stack:
        value, depth, node = stack.pop()
        if depth > limit:
            keys: list[object] = []
            while node is not None:
                keys.append(node[0])
                node = node[1]
            where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in reversed(keys)).lstrip(".")
            return where if len(where) <= 60 else where[:59] + "…"
        if isinstance(value, dict):
            stack.extend((v, depth + 1, (k, node)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, (i, node)) for i, v in enumerate(value))
    return None
