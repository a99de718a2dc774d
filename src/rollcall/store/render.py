"""Terminal renderings of the history: the runs list, the history table, a diff report.

Renderables only; the caller owns the rich Console (tests render to a StringIO console).
Imported only by the commands that print, so rich never loads for `rollcall --help`.
Stored text (run ids, sites, targets, models, error kinds and messages) came from outside: it goes
in only through rollcall.safetext, as a rich Text that is never parsed as markup.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..safetext import line, one_line
from .base import RunRecord
from .queries import Change, HistoryRow, RunDiff

OK_BAR, FAIL_BAR = "█", "▁"


def _parse(stamp: str) -> _dt.datetime | None:
    try:
        moment = _dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def when(stamp: str | None) -> str:
    """A stored UTC stamp as `2024-05-01 12:00:00`."""
    moment = _parse(stamp or "")
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else (stamp or "-")


def ago(stamp: str | None, now: _dt.datetime) -> str:
    """How long before `now`: `just now`, `12m ago`, `5h ago`, `3d ago`."""
    moment = _parse(stamp or "")
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def model_label(model: str) -> str:
    return one_line(model, 80) or "default"


def sparkline(recent: Sequence[bool]) -> Text:
    text = Text(no_wrap=True)
    for ok in recent:
        text.append(OK_BAR if ok else FAIL_BAR, style="green" if ok else "red")
    return text


def runs_table(runs: Sequence[RunRecord]) -> Table:
    table = Table(title=f"Recent runs ({len(runs)})", title_justify="left")
    for name, justify in (("run", "left"), ("started (UTC)", "left"), ("site", "left"),
                          ("targets", "right"), ("ok", "right"), ("failed", "right"),
                          ("wall", "right"), ("state", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("run", "started (UTC)"))  # type: ignore[arg-type]
    for r in runs:
        state = Text("complete", style="green") if r.complete else Text("incomplete", style="yellow")
        table.add_row(line(r.id), line(when(r.started_at)), line(r.site), str(r.targets), str(r.ok),
                      Text(str(r.failed), style="red" if r.failed else ""), fmt_s(r.wall_s), state)
    return table


def _pair(p50: float | None, p95: float | None) -> str:
    if p50 is None:
        return "-"
    return f"{p50:.2f}/{p95:.2f}" if p95 is not None else f"{p50:.2f}"


def history_table(rows: Sequence[HistoryRow], *, now: _dt.datetime, title: str, by_site: bool = False) -> Table:
    """One line per row. Eleven facts per row is a lot for a terminal: a light box with
    one-space gaps, the model column only when some model is not the default, and the current
    streak beside the sparkline it summarizes."""
    show_model = any(r.model for r in rows)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=0)
    table.add_column("target", no_wrap=True, overflow="ellipsis")
    if show_model:
        table.add_column("model", no_wrap=True, overflow="ellipsis")
    if by_site:
        table.add_column("site", no_wrap=True, overflow="ellipsis")
    table.add_column("uptime", justify="right", no_wrap=True)
    table.add_column("runs", justify="right", no_wrap=True)
    table.add_column("ttft s\np50/p95", justify="right", no_wrap=True)
    table.add_column("total s\np50/p95", justify="right", no_wrap=True)
    table.add_column("last ok", no_wrap=True)
    table.add_column("top error", no_wrap=True)
    table.add_column("recent", no_wrap=True)
    for row in rows:
        uptime_style = "green" if row.uptime >= 0.99 else "yellow" if row.uptime >= 0.9 else "red"
        cells: list[str | Text] = [line(row.target)]
        if show_model:
            cells.append(Text(model_label(row.model)))
        if by_site:
            cells.append(line(row.site))
        recent = sparkline(row.recent)
        recent.append(f" {row.streak_label}", style="green" if row.streak_ok else "red")
        cells += [
            Text(f"{row.uptime:.1%}", style=uptime_style),
            str(row.runs) if row.runs == row.probes else f"{row.runs} ({row.probes} probes)",
            _pair(row.ttft_p50_s, row.ttft_p95_s),
            _pair(row.total_p50_s, row.total_p95_s),
            ago(row.last_ok_at, now),
            line(f"{row.top_error_kind} ×{row.top_error_count}" if row.top_error_kind else "-"),
            recent,
        ]
        table.add_row(*cells)
    return table


def _run_label(r: RunRecord) -> str:
    state = "" if r.complete else ", incomplete"
    return one_line(f"{r.id} ({when(r.started_at)} UTC, {r.site or 'unknown site'}{state})")


def _name(c: Change) -> Text:
    text = Text("  ")
    text.append(one_line(c.target, 80), style="bold")
    text.append(f" [{model_label(c.model)}]", style="dim")
    return text


def _metrics(c: Change) -> str:
    labels = {"ttft_s": "ttft", "total_s": "total"}
    return ", ".join(
        f"{labels[m.metric]} {m.before_s:.2f}s -> {m.after_s:.2f}s"
        + (f" ({m.ratio:.1f}x)" if m.ratio != float("inf") else "")
        for m in c.metrics
    )


def diff_report(d: RunDiff) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"before: {_run_label(d.a)}"),
        Text(f"after:  {_run_label(d.b)}"),
        Text(""),
    ]

    def section(title: str, style: str, changes: Sequence[Change], detail, note: str = "") -> None:  # type: ignore[no-untyped-def]
        if not changes:
            return
        heading = Text(f"{title} ({len(changes)})", style=f"bold {style}")
        if note:
            heading.append(f"  {note}", style="dim")
        parts.append(heading)
        for c in changes:
            entry = _name(c)
            entry.append(f"  {one_line(detail(c))}")
            parts.append(entry)

    section("Newly failing", "red", d.newly_failing, lambda c: (
        f"was ok ({fmt_s(c.before.total_s)}), now {c.after.error_kind}: {one_line(c.after.error, 120)}"))
    section("Recovered", "green", d.recovered, lambda c: (
        f"was {c.before.error_kind}, now ok ({fmt_s(c.after.total_s)})"))
    limits = f"by at least {d.threshold:g}x and {d.min_delta_s:g}s"
    section("Slower", "yellow", d.slower, _metrics, limits)
    section("Faster", "cyan", d.faster, _metrics, limits)
    section("New", "blue", d.new, lambda c: (
        f"ok ({fmt_s(c.after.total_s)})" if c.after.up else f"failing: {c.after.error_kind}"))
    section("Vanished", "magenta", d.vanished, lambda c: (
        f"was ok ({fmt_s(c.before.total_s)})" if c.before.up else f"was failing: {c.before.error_kind}"))
    if len(parts) > 3:
        parts.append(Text(""))
    summary = Text(
        f"{len(d.newly_failing)} newly failing, {len(d.recovered)} recovered, {len(d.slower)} slower, "
        f"{len(d.faster)} faster, {len(d.new)} new, {len(d.vanished)} vanished; "
        f"{d.steady} unchanged, {d.still_failing} still failing",
        style="bold red" if d.has_new_failures else "bold",
    )
    parts.append(summary)
    return Group(*parts)
