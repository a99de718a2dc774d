"""Markdown: a status table for a README or a pull request, like the one GPT4Free keeps.

One row per result (per target and model with --repeat, showing "2/3" and medians), answers
first and fastest first, then failures grouped by kind. Provider names and errors are
untrusted text: `cell` shows their controls visibly (rollcall.safetext) and escapes what
GitHub-flavoured Markdown would turn into table breaks, formatting, links or raw HTML.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from ..models import ErrorKind, ProbeResult, RunResult
from ..safetext import one_line

# One emoji per failure kind keeps the table scannable; the kind's name follows it.
EMOJI: dict[ErrorKind | None, str] = {
    None: "✅",
    ErrorKind.TIMEOUT: "⌛",
    ErrorKind.AUTH: "🔑",
    ErrorKind.RATE_LIMIT: "🚦",
    ErrorKind.MISSING_DEPENDENCY: "🧩",
    ErrorKind.CANCELLED: "⏹️",
}
FAILED_EMOJI = "❌"
PARTIAL_EMOJI = "⚠️"
MAX_ERROR_CHARS = 120

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def cell(text: str | None, limit: int | None = None) -> str:
    """`text` made safe for one table cell: one line, no controls, no table breaks, no markup, no HTML."""
    flat = one_line(text, limit)
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def _link(name: str, url: str | None) -> str:
    label = cell(name)
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return label
    # Percent-encode what could end the link or break the table: spaces, ()[]<>|, quotes.
    return f"[{label}]({quote(url, safe=':/?#@!$&*+,;=%~-._')})"


def badge_cell(base: str | None, target: str, model: str) -> str:
    """A live state badge from `rollcall serve` at `base`, linking to the target's page there."""
    if not base:
        return ""
    root = quote(base.rstrip("/"), safe=":/?#@!$&*+,;=%~-._")
    key = f"{quote(target, safe='')}/{quote(model, safe='')}"
    return f"[![{cell(target)} status]({root}/badge/{key}.svg)]({root}/targets/{key})"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _rate(value: float | None, estimated: bool = False) -> str:
    return "–" if value is None else f"{value:.1f}" + ("~" if estimated else "")


def status(result: ProbeResult) -> str:
    if result.ok:
        return "✅ ok"
    return f"{EMOJI.get(result.error_kind, FAILED_EMOJI)} {cell(str(result.error_kind or 'error'))}"


def _sort_key(r: ProbeResult) -> tuple[int, float, float, str, str]:
    inf = float("inf")
    return (
        0 if r.ok else 1,
        r.total_s if r.ok and r.total_s is not None else inf,
        r.ttft_s if r.ok and r.ttft_s is not None else inf,
        str(r.error_kind or ""),
        r.target.lower(),
    )


def _per_result(run: RunResult, links: Mapping[str, str], badges: str | None = None) -> list[str]:
    live = " Live |" if badges else ""
    lines = [
        f"| Provider | Model | Status |{live} TTFT | Total | tok/s | Error |",
        f"|---|---|---|{'---|' if badges else ''}--:|--:|--:|---|",
    ]
    for r in sorted(run.results, key=_sort_key):
        badge = f" {badge_cell(badges, r.target, r.model)} |" if badges else ""
        lines.append(
            f"| {_link(r.target, links.get(r.target))} | {cell(r.model or 'default')} | {status(r)} |{badge}"
            f" {_seconds(r.ttft_s)} | {_seconds(r.total_s)} "
            f"| {_rate(r.tokens_per_s, r.output_tokens_estimated)} | {cell(r.error, MAX_ERROR_CHARS)} |"
        )
    return lines


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _per_target(run: RunResult, links: Mapping[str, str], badges: str | None = None) -> list[str]:
    live = " Live |" if badges else ""
    lines = [
        f"| Provider | Model | Status |{live} OK | TTFT p50 | Total p50 | tok/s p50 | Last error |",
        f"|---|---|---|{'---|' if badges else ''}--:|--:|--:|--:|---|",
    ]
    groups: dict[tuple[str, str], list[ProbeResult]] = {}
    for r in run.results:
        groups.setdefault(r.key, []).append(r)
    stats = {(s.target, s.model): s for s in run.stats()}

    def key(item: tuple[tuple[str, str], list[ProbeResult]]) -> tuple[float, float, str]:
        s = stats[item[0]]
        return (-s.success_rate, s.total_p50_s if s.total_p50_s is not None else float("inf"), s.target.lower())

    for (target, model), rs in sorted(groups.items(), key=key):
        s = stats[(target, model)]
        failed = [r for r in rs if not r.ok]
        if not failed:
            mark = "✅ ok"
        elif s.ok:
            mark = f"{PARTIAL_EMOJI} flaky"
        else:
            mark = status(failed[-1])
        rates = [r.tokens_per_s for r in rs if r.ok and r.tokens_per_s is not None]
        last = failed[-1] if failed else None
        last_error = f"{last.error_kind}: {last.error or ''}" if last else ""
        badge = f" {badge_cell(badges, target, model)} |" if badges else ""
        lines.append(
            f"| {_link(target, links.get(target))} | {cell(model or 'default')} | {mark} |{badge} {s.ok}/{s.runs} "
            f"| {_seconds(s.ttft_p50_s)} | {_seconds(s.total_p50_s)} | {_rate(_median(rates))} "
            f"| {cell(last_error, MAX_ERROR_CHARS)} |"
        )
    return lines


def dumps(run: RunResult, badges: str | None = None) -> str:
    """The run as a Markdown section: a summary line and the status table. Target names link to
    the homepage their kind gave (run.targets, e.g. a g4f provider's `url`); only http(s) links
    are used. `badges` is where `rollcall serve` runs (https://status.example): each row then gets
    a live state badge linking to its page there.
    """
    links = {t.name: t.link for t in run.targets if t.link}
    repeat = run.settings.repeat
    head = f"**{run.ok_count} ok, {run.failed_count} failed** in {run.wall_s:.2f} s"
    if repeat > 1:
        head += f" · {repeat} attempts per target"
    if not run.complete:
        head += " · interrupted"
    if run.started_at:
        head += f" · {cell(run.started_at)}"
    lines = [head, ""]
    lines += _per_target(run, links, badges) if repeat > 1 else _per_result(run, links, badges)
    if run.skipped:
        lines += ["", f"Not loaded: {', '.join(cell(s.name) for s in run.skipped)}"]
    return "\n".join(lines) + "\n"
