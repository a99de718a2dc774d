"""The live terminal view: one line per probe as it finishes, a progress bar while others run,
and the full report at the end."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .models import ProbeResult, RunInfo, RunResult
from .reports.table import full_report, result_line, summary


class LiveView:
    """A Sink that renders to a rich Console. `quiet` shows only the summary line."""

    def __init__(self, console: Console, *, quiet: bool = False, lines: bool = True) -> None:
        self.console = console
        self.quiet = quiet
        self.lines = lines and not quiet
        self.progress: Progress | None = None
        self.task = None

    def start(self, info: RunInfo) -> None:
        if self.quiet or not self.console.is_terminal:
            return
        self.progress = Progress(
            SpinnerColumn(), TextColumn("probing"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=True,
        )
        self.task = self.progress.add_task("probing", total=info.planned)
        self.progress.start()

    def result(self, result: ProbeResult) -> None:
        if self.lines:
            self.console.print(result_line(result), overflow="ellipsis", no_wrap=True, crop=True)
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def finish(self, run: RunResult) -> None:
        self.stop()
        self.console.print()
        self.console.print(summary(run) if self.quiet else full_report(run))
