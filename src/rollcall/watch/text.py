"""Outside text (provider errors, names) made safe to show in one line.

A stand-in until the project's safe-text helper (issue 8) lands on main: then `one_line` here
should become that helper's. Controls (ESC, C1, bidi overrides) are shown as escapes, so no
provider text can move a cursor, recolour a terminal or reorder a notification.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str | None, limit: int | None = None) -> str:
    """`text` on one line: controls escaped, whitespace runs as one space, cut to `limit` with …"""
    if text is None:
        return ""
    flat = " ".join(_UNSAFE.sub(_escape, str(text).replace("\r\n", "\n")).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: max(0, limit - 1)] + "…"
    return flat
