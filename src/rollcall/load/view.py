"""The terminal view of a load run: a live line per stage while it runs, then a table per stage,
the knee, the client-bound warnings and the errors by kind.

Outside text (target names, model ids, error messages, a prompts file's name) goes through
rollcall.safetext and reaches rich only as Text: never parsed as markup, controls shown visibly.
Renderables only; the caller owns the Console.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..safetext import one_line
from .record import RequestRecord
from .sinks import BaseSink
from .stage import CLIENT_BOUND_ADVICE

LIVE_REFRESH_S = 0.5
RATE_WINDOW_S = 5.0


def fmt_dur(value: float | None) -> str:
    """Seconds for people: 0.0123 -> 12.3ms, 0.456 -> 456ms, 2.5 -> 2.50s."""
    if value is None:
        return "-"
    if value < 0.01:
        return f"{value * 1000:.1f}ms"
    if value < 1:
        return f"{value * 1000:.0f}ms"
    return f"{value:.2f}s"


def fmt_ms(value: float | None) -> str:
    """Seconds as milliseconds without the unit (the column header names it): 0.0123 -> 12.3."""
    if value is None:
        return "-"
    ms = value * 1000
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}"


def fmt_num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def stage_label(mode: str, value: float) -> str:
    return f"concurrency {value:g}" if mode == "concurrency" else f"rate {value:g}/s"


def _pair(summary: dict[str, Any]) -> str:
    return f"{fmt_dur(summary.get('p50'))}/{fmt_dur(summary.get('p99'))}"


def _ms_pair(summary: dict[str, Any]) -> str:
    return f"{fmt_ms(summary.get('p50'))}/{fmt_ms(summary.get('p99'))}"


def _errors_text(errors: dict[str, int]) -> str:
    return ", ".join(f"{kind} ×{count}" for kind, count in errors.items())


def stage_line(mode: str, stage: dict[str, Any]) -> Text:
    """One line summing up a finished stage."""
    line = Text()
    line.append(f"{stage_label(mode, stage[mode]):<18}", style="bold")
    line.append(f" {stage['ok']}/{stage['requests']} ok  {fmt_num(stage['requests_per_s'])} req/s"
                f"  {fmt_num(stage['output_tokens_per_s'])} tok/s  TTFT {_pair(stage['ttft_s'])}"
                f"  E2E {_pair(stage['e2e_s'])}")
    if stage["failed"]:
        line.append(f"  {_errors_text(stage['errors'])}", style="red")
    if stage["partial"]:
        line.append("  partial", style="yellow")
    if stage.get("shard_failures"):
        line.append(f"  {stage.get('lost', 0)} lost (a worker died)", style="bold red")
    if stage["client_bound"]:
        line.append("  client-bound: numbers unreliable", style="bold yellow")
    return line


def stages_table(doc: dict[str, Any]) -> Table:
    mode = doc["mode"]
    # One space between columns: thirteen of them fit in 100 columns.
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False, padding=(0, 1, 0, 0))
    table.add_column("conc." if mode == "concurrency" else "rate/s", justify="right", no_wrap=True)
    # Latencies in milliseconds, p50/p99 (the header says so once instead of every cell).
    for name in ("ok/req", "req/s", "tok/s", "good/s", "TTFT ms", "TPOT ms", "ITL p99", "E2E ms", "late", "lag"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("note", no_wrap=True)
    for stage in doc["stages"]:
        notes = Text()
        if stage["client_bound"]:
            notes.append("client-bound ", style="bold yellow")
        if stage["partial"]:
            notes.append("partial ", style="yellow")
        if stage.get("shard_failures"):
            notes.append(f"{stage.get('lost', 0)} lost ", style="bold red")
        if doc.get("knee") and doc["knee"]["index"] == stage["index"]:
            notes.append("knee", style="bold cyan")
        ok = Text(f"{stage['ok']}/{stage['requests']}", style="green" if stage["ok"] == stage["requests"] else "red")
        table.add_row(
            f"{stage[mode]:g}", ok, fmt_num(stage["requests_per_s"]),
            fmt_num(stage["output_tokens_per_s"]), fmt_num(stage["goodput_per_s"]) if stage["slo"] else "-",
            _ms_pair(stage["ttft_s"]), _ms_pair(stage["tpot_s"]), fmt_ms(stage["itl_s"].get("p99")),
            _ms_pair(stage["e2e_s"]), fmt_ms(stage["send_lateness_s"].get("p99")), fmt_ms(stage["loop_lag_max_s"]), notes,
        )
    return table


def report(doc: dict[str, Any]) -> RenderableType:
    """The final view: the table, then what a reader must know about it."""
    mode = doc["mode"]
    parts: list[RenderableType] = []
    head = Text()
    head.append("Load ", style="bold")
    head.append(one_line(doc["target"], 80), style="bold")
    head.append(f" [{one_line(doc['model'], 80) or 'default'}]", style="dim")
    head.append(f"  ({one_line(doc['kind'])}, {one_line(doc['settings'].get('prompts', ''), 120)})", style="dim")
    parts += [head, stages_table(doc),
              Text("latencies in ms, p50/p99; late = p99 of send lateness, lag = worst event-loop lag (ms)",
                   style="dim")]
    slos = doc["settings"].get("slo") or {}
    if slos:
        parts.append(Text("SLO: " + ", ".join(f"{k} <= {fmt_dur(v)}" for k, v in slos.items())
                          + "; good/s = answered requests/s meeting every SLO", style="dim"))
    knee = doc.get("knee")
    if knee:
        parts.append(Text(f"knee at {stage_label(mode, knee[mode])}: {knee['reason']}", style="cyan"))
    for stage in doc["stages"]:
        label = stage_label(mode, stage[mode])
        if stage["client_bound"]:
            line = Text(f"⚠ {label}: client-bound: numbers unreliable — ", style="bold yellow")
            line.append("; ".join(stage["client_bound_reasons"]) + f"; {CLIENT_BOUND_ADVICE}", style="yellow")
            parts.append(line)
        failures = stage.get("shard_failures") or []
        if failures:
            line = Text(f"⚠ {label}: {len(failures)} shard(s) ended early, {stage.get('lost', 0)} requests in flight "
                        "lost (not counted): ", style="bold red")
            line.append("; ".join(one_line(f, 160) for f in failures[:3]) + ("; ..." if len(failures) > 3 else ""),
                        style="red")
            parts.append(line)
        peak = stage.get("max_in_flight")
        if mode == "concurrency" and peak is not None and 0 < peak < stage[mode] and not stage["partial"]:
            parts.append(Text(f"{label}: at most {peak} requests were in flight at once (fewer requests than "
                              "users); give more --requests or a --duration", style="yellow"))
        if stage["failed"]:
            line = Text(f"{label}: {stage['failed']} failed: ", style="red")
            for i, (kind, count) in enumerate(stage["errors"].items()):
                line.append(("; " if i else "") + f"{kind} ×{count}", style="bold red")
                example = one_line(stage.get("error_examples", {}).get(kind), 120)
                if example:
                    line.append(f" ({example})")
            parts.append(line)
    parts.append(Text(summary_line(doc), style="bold"))
    return Group(*parts)


def summary_line(doc: dict[str, Any]) -> str:
    totals = doc["totals"]
    line = (f"{len(doc['stages'])} stage(s), {totals['requests']} requests, {totals['ok']} ok, "
            f"{totals['failed']} failed in {doc['wall_s']:.1f} s")
    if totals.get("lost"):
        line += f", {totals['lost']} lost"
    if doc.get("interrupted"):
        cut = [s["index"] for s in doc["stages"] if s["partial"]]
        line += f"; interrupted ({doc['interrupted']})" + (f", stage {cut[0] + 1} partial" if cut else "")
    return line


class LoadLiveView(BaseSink):
    """A live status line while a stage runs (on a terminal), a line per finished stage, and the
    final report."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.mode = ""
        self.live: Any = None
        self._label = ""
        self._ttft: deque[float] = deque(maxlen=2000)
        self._done: deque[tuple[float, int]] = deque()
        self._errors: Counter[str] = Counter()
        self._count = 0
        self._refreshed = 0.0

    def start(self, info: dict[str, Any]) -> None:
        self.mode = info["mode"]
        if self.quiet:
            return
        line = Text("Load ", style="dim")
        line.append(one_line(info["target"], 80))
        line.append(f" [{one_line(info['model'], 80) or 'default'}]: {len(info['stages'])} stage(s): "
                    f"{', '.join(info['stages'])}",
                    style="dim")
        self.console.print(line)

    def stage_started(self, stage: Any) -> None:
        self._label = stage.label
        self._ttft.clear()
        self._done.clear()
        self._errors.clear()
        self._count = 0
        if self.quiet or not self.console.is_terminal:
            return
        from rich.live import Live

        self.live = Live(self._status(), console=self.console, auto_refresh=False, transient=True)
        self.live.start()

    def records(self, batch: list[RequestRecord], stats: Any) -> None:
        now = time.monotonic()
        measured = [r for r in batch if not r.warmup]
        self._count += len(measured)
        self._done.append((now, len(measured)))
        while self._done and self._done[0][0] < now - RATE_WINDOW_S:
            self._done.popleft()
        for r in measured:
            if r.ok and r.ttft_s is not None:
                self._ttft.append(r.ttft_s)
            elif not r.ok:
                self._errors[r.error_kind or "unknown"] += 1
        if self.live is not None and now - self._refreshed >= LIVE_REFRESH_S:
            self._refreshed = now
            self.live.update(self._status(), refresh=True)

    def _status(self) -> Text:
        from .distribution import interpolate

        span = (self._done[-1][0] - self._done[0][0]) if len(self._done) > 1 else 0.0
        rate = sum(n for _, n in list(self._done)[1:]) / span if span > 0 else 0.0
        ttft = sorted(self._ttft)
        line = Text(f"{self._label}: ", style="bold")
        line.append(f"{self._count} done  {rate:.1f} req/s")
        if ttft:
            line.append(f"  TTFT p50 {fmt_dur(interpolate(ttft, 0.5))} p99 {fmt_dur(interpolate(ttft, 0.99))}")
        if self._errors:
            line.append(f"  errors: {_errors_text(dict(self._errors.most_common()))}", style="red")
        return line

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def stage_finished(self, stage: dict[str, Any]) -> None:
        self._stop_live()
        if not self.quiet:
            self.console.print(stage_line(self.mode, stage), overflow="fold")

    def finish(self, doc: dict[str, Any]) -> None:
        self._stop_live()
        self.console.print()
        self.console.print(Text(summary_line(doc), style="bold") if self.quiet else report(doc))
