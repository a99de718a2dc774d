"""What the probing commands share: the run's tail (live view, reports, history store,
requirements, exit code) and the human console. Their options are declared once, with the
records they fill (rollcall.settings, rollcall.plan.TargetSelection; see cli/options.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click

from ..settings import OutputSettings, ProbeSettings
from ..stdio import say

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def fit_to_open_files(settings: ProbeSettings) -> ProbeSettings:
    """Raise the open-file limit; if still short for --concurrency, cap it and say so once.
    Called before targets are built, so their connection pools get the capped size too."""
    from ..fdlimit import fit_concurrency

    budget = fit_concurrency(settings.concurrency)
    if budget.warning:
        say(f"rollcall: warning: {budget.warning}")
    return replace(settings, concurrency=budget.concurrency)


def human_console(*, stderr: bool) -> Any:
    """A rich Console for people. Piped into a file or a CI log, lines get 160 columns rather
    than rich's 80, so error messages are not cut short (COLUMNS still wins)."""
    import os

    from rich.console import Console

    from ..stdio import GuardedStream

    # Guarded: a reader that leaves (`| head -1`) or a terminal that hangs up silences the human
    # view; rich's own answer to a broken pipe is SystemExit(1), which would lose the run.
    stream = GuardedStream("stderr" if stderr else "stdout")
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(file=stream, highlight=False, width=160 if wide else None)


def run_targets(
    targets: Sequence[Any],
    settings: ProbeSettings,
    out: OutputSettings,
    *,
    intro: str,
    skipped: Sequence[Any] = (),
    described: Sequence[Any] | None = None,
) -> int:
    """Probe `targets` with the live view, reports and history; return the exit code."""
    from .. import checks
    from ..app import execute
    from ..live import LiveView
    from ..reports import outputs
    from ..runner import Runner
    from ..safetext import line, one_line

    specs = out.report_specs
    try:
        report_sinks = outputs.make_sinks(specs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = human_console(stderr=outputs.uses_stdout(specs))
    chatter = human_console(stderr=True)

    store = None
    if not out.no_store:
        from ..store import StoreError, open_store_for_run

        try:
            store, warning = open_store_for_run(out.store_location)
        except StoreError as exc:
            raise click.UsageError(str(exc)) from None
        if warning:
            chatter.print(line(f"rollcall: warning: {warning}", style="yellow"))

    if not out.quiet:
        chatter.print(line(f"{intro}, {settings.timeout_s:g} s deadline each…", style="dim"))
    sinks: list[Any] = [LiveView(console, quiet=out.quiet), *report_sinks]
    if store is not None:
        from ..store import StoreSink

        sinks.insert(0, StoreSink(store, site=out.site))
    runner = Runner(targets, settings=settings, sinks=sinks, skipped=skipped, described=described)
    execution = None
    try:
        execution = execute(runner)
    finally:
        # Abandoned, the store's writer may still hold it (a server gone silent): leave it to exit.
        if store is not None and (execution is None or not execution.abandoned):
            store.close()
    if execution.abandoned:
        # Labels quote the paths the user gave: shown, never run.
        say(one_line(f"rollcall: stopped before finishing; not written: {', '.join(execution.abandoned)}"))
    if execution.interrupted:
        return execution.exit_status or EXIT_INTERRUPTED
    unmet = checks.Requirements.of(settings).unmet(execution.run)
    # A report or the history that was asked for and could not be written fails the run (exit 1);
    # Fanout has already printed each error once.
    unmet += [f"an output could not be written ({error})" for error in execution.sink_errors]
    for problem in unmet:
        say(f"rollcall: requirement failed: {one_line(problem)}")
    return EXIT_FAILED if unmet else EXIT_OK
