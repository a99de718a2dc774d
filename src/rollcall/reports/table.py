"""The terminal view: a line per finished probe, the final table, failures by kind, the summary.

Renderables only; the caller owns the rich Console (tests render to a StringIO console).
Outside text (names, model ids, answers, errors, reasons) goes in only through rollcall.safetext:
as a rich Text, never as a string rich would parse as markup, with its controls shown visibly.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from ..models import ProbeResult, RunResult
from ..safetext import line, one_line


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


ANSWER_CHARS, ERROR_CHARS, NAME_CHARS = 60, 200, 80


def model_label(model: str) -> str:
    return one_line(model, NAME_CHARS) or "default"


def result_line(result: ProbeResult) -> Text:
    """What the live view prints as each probe finishes."""
    text = Text()
    if result.ok:
        text.append(f"{'ok':<12} ", style="bold green")
    else:
        text.append(f"{result.error_kind or 'error':<12} ", style="bold red")
    text.append(one_line(result.target, NAME_CHARS), style="bold")
    if result.model != result.target:
        text.append(f" [{model_label(result.model)}]", style="dim")
    if result.attempt > 1:
        text.append(f" #{result.attempt}", style="dim")
    text.append(f"  ttft {fmt_s(result.ttft_s)}  total {fmt_s(result.total_s)}")
    if result.tokens_per_s is not None:
        text.append(f"  {result.tokens_per_s:.1f} tok/s")
    text.append("  ")
    if result.ok:
        text.append(one_line(result.text, ANSWER_CHARS), style="italic")
    else:
        text.append(one_line(result.error, 100), style="red")
    if result.server_timings is not None and result.server_timings.summary():
        text.append(f"  (server: {result.server_timings.summary()})", style="dim")
    return text


def _sort_key(r: ProbeResult) -> tuple[float, float]:
    return (r.total_s if r.total_s is not None else float("inf"), r.ttft_s or 0.0)


class AnswersTable:
    """The answers table fitted to the terminal: the answer column gets the width the other columns
    leave (rich would squeeze the model and the times instead, splitting `swift` as `swif`/`t`)."""

    MIN_ANSWER, MAX_ANSWER = 12, 48

    def __init__(self, run: RunResult) -> None:
        self.run = run

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.measure import Measurement

        others = Measurement.get(console, options.update(width=10**4), results_table(self.run, 1)).maximum - 1
        room = options.max_width - others
        yield results_table(self.run, max(self.MIN_ANSWER, min(self.MAX_ANSWER, room)))


def results_table(run: RunResult, answer_width: int = AnswersTable.MAX_ANSWER) -> Table:
    """Successful probes, fastest first."""
    table = Table(title="Answers (fastest first)", title_justify="left", expand=False)
    table.add_column("provider", style="bold", no_wrap=True)
    table.add_column("model", overflow="fold", min_width=min(12, max(len(r.model or "") for r in run.results)))
    table.add_column("ttft", justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("tok/s", justify="right", no_wrap=True)
    answered = sorted((r for r in run.results if r.ok), key=_sort_key)
    # The server's own timings (Ollama's) get a column only when some answer has them.
    server = any(r.server_timings is not None for r in answered)
    if server:
        table.add_column("server load/eval", justify="right", no_wrap=True)
    table.add_column("answer", overflow="ellipsis", no_wrap=True, max_width=answer_width)
    for r in answered:
        tokens = fmt_rate(r.tokens_per_s) + ("~" if r.output_tokens_estimated and r.tokens_per_s else "")
        cells = [line(r.target, limit=NAME_CHARS), Text(model_label(r.model)), fmt_s(r.ttft_s), fmt_s(r.total_s), tokens]
        if server:
            t = r.server_timings
            cells.append("-" if t is None else f"{fmt_s(t.load_s)} / {fmt_s(t.eval_s)}")
        table.add_row(*cells, line(r.text, limit=ANSWER_CHARS))
    return table


def repeat_table(run: RunResult) -> Table:
    """Per target success rate and median/p90 latency (shown when --repeat > 1)."""
    table = Table(title="Per target", title_justify="left")
    for name, justify in (("provider", "left"), ("model", "left"), ("ok", "right"), ("ttft p50", "right"),
                          ("ttft p90", "right"), ("total p50", "right"), ("total p90", "right"), ("last error", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    stats = sorted(run.stats(), key=lambda s: (-s.success_rate, s.total_p50_s or float("inf")))
    for s in stats:
        table.add_row(
            line(s.target, limit=NAME_CHARS), Text(model_label(s.model)), f"{s.ok}/{s.runs} ({s.success_rate:.0%})",
            fmt_s(s.ttft_p50_s), fmt_s(s.ttft_p90_s), fmt_s(s.total_p50_s), fmt_s(s.total_p90_s),
            line(s.last_error_kind),
        )
    return table


def failures(run: RunResult, per_kind: int = 50) -> RenderableType:
    """Failures grouped by error kind, most common kind first."""
    parts: list[RenderableType] = []
    for kind, results in run.failures_by_kind().items():
        parts.append(Text(f"{one_line(kind)} ({len(results)})", style="bold red"))
        for r in results[:per_kind]:
            entry = Text("  ", no_wrap=True, overflow="ellipsis")
            entry.append(one_line(r.target, NAME_CHARS), style="bold")
            entry.append(f": {one_line(r.error, ERROR_CHARS)}")
            parts.append(entry)
        if len(results) > per_kind:
            parts.append(Text(f"  … and {len(results) - per_kind} more", style="dim"))
    return Group(*parts)


def summary(run: RunResult) -> Text:
    text = Text(run.summary_line(), style="bold")
    if not run.complete:
        text.append("  (interrupted: unfinished probes are marked cancelled)", style="yellow")
    if run.skipped:
        text.append(f"  {len(run.skipped)} provider(s) could not be loaded", style="yellow")
    if not run.measurements_reliable:
        text.append(
            f"  timings unreliable: rollcall's event loop fell {run.loop_lag_max_s:.2f} s behind, "
            "so times may read that much late", style="yellow"
        )
    return text


def full_report(run: RunResult) -> RenderableType:
    parts: list[RenderableType] = []
    if any(r.ok for r in run.results):
        parts.append(AnswersTable(run))
    if run.settings.repeat > 1:
        parts.append(repeat_table(run))
    if run.failed_count:
        parts.append(Text(""))
        parts.append(failures(run))
    if run.skipped:
        parts.append(Text(""))
        parts.append(Text("Not loaded", style="bold yellow"))
        for s in run.skipped:
            parts.append(Text(f"  {one_line(s.name, NAME_CHARS)}: {one_line(s.reason, ERROR_CHARS)}",
                              no_wrap=True, overflow="ellipsis"))
    parts.append(Text(""))
    parts.append(summary(run))
    return Group(*parts)
