"""README badges: a flat SVG like shields.io draws, and shields.io's endpoint JSON
(https://shields.io/badges/endpoint-badge) for the same label, message and colour.

What a badge says, for a target (all its models and sites) or one target x model (all sites):
`metric=state` (default) the state, or "N/M up" when they differ; `uptime30d` (also 24h, 7d)
the uptime over that window; `ttft` the median time to first token over 24 h. The label is the
name, which came from outside: it is made visible (controls escaped) and XML-escaped, and the
SVG holds no script, link or external reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ..safetext import one_line
from ..watch.state import State
from .snapshot import KeyRow

METRICS = ("state", "uptime24h", "uptime7d", "uptime30d", "ttft")
COLORS = {"green": "#4c1", "yellow": "#dfb317", "orange": "#fe7d37", "red": "#e05d44", "grey": "#9f9f9f",
          "blue": "#007ec6"}
STATE_COLOR = {State.UP: "green", State.DEGRADED: "yellow", State.DOWN: "red", State.UNKNOWN: "grey"}
MAX_LABEL = 40


@dataclass(frozen=True, slots=True)
class Badge:
    label: str
    message: str
    color: str  # a key of COLORS

    def endpoint_json(self) -> dict[str, object]:
        return {"schemaVersion": 1, "label": self.label, "message": self.message, "color": self.color,
                "cacheSeconds": 300}


def _uptime_color(value: float) -> str:
    if value >= 0.99:
        return "green"
    if value >= 0.95:
        return "yellow"
    if value >= 0.80:
        return "orange"
    return "red"


def make_badge(label: str, rows: Sequence[KeyRow], metric: str) -> Badge:
    """The badge for `rows` (one target's keys, or one target x model's). ValueError for a metric
    not in METRICS."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: use one of {', '.join(METRICS)}")
    label = one_line(label, MAX_LABEL)
    if not rows:
        return Badge(label, "not found", "grey")
    if metric == "state":
        states = [r.state for r in rows]
        if len(set(states)) == 1:
            return Badge(label, str(states[0]), STATE_COLOR[states[0]])
        up = sum(1 for s in states if s is State.UP)
        return Badge(label, f"{up}/{len(states)} up", "orange" if up else "red")
    if metric.startswith("uptime"):
        window = metric.removeprefix("uptime")
        ok = sum(r.windows[window].ok for r in rows if window in r.windows)
        failed = sum(r.windows[window].failed for r in rows if window in r.windows)
        if not ok + failed:
            return Badge(f"{label} {window}", "no data", "grey")
        value = ok / (ok + failed)
        shown = f"{value * 100:.2f}%" if value < 1 else "100%"
        return Badge(f"{label} {window}", shown, _uptime_color(value))
    # ttft: the median over 24 h of every key's answers (the hourly histograms, merged)
    p50 = [r.ttft.p50 for r in rows if r.ttft.p50 is not None]
    if not p50:
        return Badge(f"{label} ttft", "no data", "grey")
    value = p50[0] if len(p50) == 1 else sorted(p50)[len(p50) // 2]
    return Badge(f"{label} ttft", f"{value:.2f} s", "blue")


# Widths of Verdana 11px glyphs (what shields.io measures with), in pixels; others count as 7.
_NARROW = set("ijlI.,:;|!'`")
_WIDE = set("mwMW@%")


def _text_width(text: str) -> int:
    width = 0.0
    for ch in text:
        if ch in _NARROW:
            width += 3.5
        elif ch in _WIDE:
            width += 10.0
        elif ch.isupper() or ch.isdigit():
            width += 7.5
        elif ord(ch) > 0x2e80:  # CJK and other wide scripts
            width += 11.0
        else:
            width += 6.5
    return int(width + 0.5)


def svg(badge: Badge) -> str:
    """The badge as a standalone SVG document (flat style)."""
    label, message = badge.label, badge.message
    lw, mw = _text_width(label) + 10, _text_width(message) + 10
    total = lw + mw
    color = COLORS.get(badge.color, COLORS["grey"])
    title = escape(f"{label}: {message}")
    lx, mx = lw / 2, lw + mw / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label={quoteattr(f"{label}: {message}")}>'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{mw}" height="20" fill="{color}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lx:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(label)}</text>'
        f'<text x="{lx:.1f}" y="14">{escape(label)}</text>'
        f'<text x="{mx:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(message)}</text>'
        f'<text x="{mx:.1f}" y="14">{escape(message)}</text></g></svg>'
    )

