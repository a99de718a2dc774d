"""What `rollcall run` and `rollcall demo` share: the probing/output options and the run's tail
(live view, reports, history store, requirements, exit code)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from .. import inputs
from ..stdio import say
from ..targets.base import DEFAULT_PROMPT
from .params import DURATION, TEXT, Count

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def probe_options(default_timeout: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Options for how to probe and where results go, identical for `run` and `demo`."""
    options = [
        click.option("--prompt", type=TEXT, default=DEFAULT_PROMPT, show_default=True, help="The question to ask."),
        click.option("-t", "--timeout", type=DURATION, default=default_timeout, show_default=True,
                     metavar="DURATION", help="Deadline per probe, connect to last token (seconds, or 30s, 2m)."),
        click.option("-j", "--concurrency", type=Count(1, inputs.MAX_CONCURRENCY), default=64, show_default=True,
                     metavar="N", help="How many probes run at once."),
        click.option("-n", "--repeat", type=Count(1, inputs.MAX_REPEAT), default=1, show_default=True, metavar="N",
                     help="Probe each target N times (one after another) and report success rate and "
                          "median/p90 latency."),
        click.option("--expect", type=TEXT, metavar="REGEX",
                     help="Answers must match this regular expression (case-insensitive; else check_failed), "
                          "within what is left of the probe's deadline."),
        click.option("--max-total", type=DURATION, metavar="DURATION",
                     help="Answers slower than this in total fail with check_failed."),
        click.option("--max-ttft", type=DURATION, metavar="DURATION",
                     help="Answers whose first token came later than this fail with check_failed."),
        click.option("--require", type=TEXT, multiple=True, metavar="NAME", help="Exit 1 unless this target answered (repeatable)."),
        click.option("--min-ok", type=Count(0), default=0, metavar="N", help="Exit 1 unless at least N probes answered."),
        click.option("--json", "json_path", metavar="PATH|-",
                     help="Write the run as JSON (schema rollcall.run/1); - for stdout. Same as -o json:PATH."),
        click.option("-o", "--output", "outputs", multiple=True, metavar="FORMAT:PATH",
                     help="Write a report (repeatable): json, jsonl, csv, junit, markdown, html; PATH - is stdout "
                          "(jsonl streams each result as it finishes). Files are replaced atomically; a FIFO, "
                          "device or >(process substitution) is written in place."),
        click.option("-q", "--quiet", is_flag=True, help="Print only the summary line."),
        click.option("--store", "store_location", metavar="PATH|URL", envvar="ROLLCALL_STORE", show_envvar=True,
                     help="History database: a SQLite path or postgresql://... "
                          "[default: ~/.local/share/rollcall/history.sqlite3]"),
        click.option("--no-store", is_flag=True, help="Do not record this run in the history."),
        click.option("--site", type=TEXT, metavar="NAME", help="Where this run probes from, recorded in the history [default: hostname]."),
    ]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@dataclass
class RunSettings:
    """The probe options after defaults from the config file were applied (flags win)."""

    prompt: str = DEFAULT_PROMPT
    timeout: float = 30.0
    concurrency: int = 64
    repeat: int = 1
    expect: str | None = None
    max_total: float | None = None
    max_ttft: float | None = None
    require: tuple[str, ...] = ()
    min_ok: int = 0
    json_path: str | None = None
    outputs: tuple[str, ...] = ()
    quiet: bool = False
    store_location: str | None = None
    no_store: bool = False
    site: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RunSettings:
        known = set(cls.__dataclass_fields__) - {"extra"}
        settings = cls(**{k: v for k, v in options.items() if k in known})
        settings.require = tuple(settings.require)
        settings.outputs = tuple(settings.outputs)
        return settings

    def validate(self) -> None:
        if not self.prompt.strip():
            raise click.BadParameter("must not be empty", param_hint="--prompt")
        if self.min_ok < 0:
            raise click.BadParameter("must be 0 or more", param_hint="--min-ok")

    @property
    def report_specs(self) -> list[str]:
        return ([f"json:{self.json_path}"] if self.json_path else []) + list(self.outputs)


def fit_to_open_files(settings: RunSettings) -> None:
    """Raise the open-file limit; if still short for --concurrency, cap it and say so once.
    Called before targets are built, so their connection pools get the capped size too."""
    from ..fdlimit import fit_concurrency

    budget = fit_concurrency(settings.concurrency)
    if budget.warning:
        say(f"rollcall: warning: {budget.warning}")
    settings.concurrency = budget.concurrency


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


def _checks(settings: RunSettings) -> list[Any]:
    from .. import checks

    try:
        return checks.combine([
            checks.expect_regex(settings.expect) if settings.expect else None,
            checks.max_total(settings.max_total) if settings.max_total else None,
            checks.max_ttft(settings.max_ttft) if settings.max_ttft else None,
        ])
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def run_targets(
    targets: Sequence[Any],
    settings: RunSettings,
    *,
    intro: str,
    skipped: Sequence[Any] = (),
    links: Mapping[str, str] | None = None,
) -> int:
    """Probe `targets` with the live view, reports and history; return the exit code."""
    from .. import checks
    from ..app import execute
    from ..live import LiveView
    from ..reports import outputs
    from ..runner import Runner
    from ..safetext import line, one_line

    settings.validate()
    answer_checks = _checks(settings)
    specs = settings.report_specs
    try:
        report_sinks = outputs.make_sinks(specs, links=links)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = human_console(stderr=outputs.uses_stdout(specs))
    chatter = human_console(stderr=True)

    store = None
    if not settings.no_store:
        from ..store import StoreError, open_store_for_run

        try:
            store, warning = open_store_for_run(settings.store_location)
        except StoreError as exc:
            raise click.UsageError(str(exc)) from None
        if warning:
            chatter.print(line(f"rollcall: warning: {warning}", style="yellow"))

    if not settings.quiet:
        chatter.print(line(f"{intro}, {settings.timeout:g} s deadline each…", style="dim"))
    runner = Runner(
        targets, prompt=settings.prompt, timeout_s=settings.timeout, concurrency=settings.concurrency,
        repeat=settings.repeat, skipped=skipped, checks=answer_checks, settings=settings.extra,
    )
    sinks: list[Any] = [LiveView(console, quiet=settings.quiet), *report_sinks]
    if store is not None:
        from ..store import StoreSink

        sinks.insert(0, StoreSink(store, site=settings.site, prompt=settings.prompt, settings=runner.settings))
    execution = None
    try:
        execution = execute(runner, sinks)
    finally:
        # Abandoned, the store's writer may still hold it (a server gone silent): leave it to exit.
        if store is not None and (execution is None or not execution.abandoned):
            store.close()
    if execution.abandoned:
        # Labels quote the paths the user gave: shown, never run.
        say(one_line(f"rollcall: stopped before finishing; not written: {', '.join(execution.abandoned)}"))
    if execution.interrupted:
        return execution.exit_status or EXIT_INTERRUPTED
    run = execution.run
    unmet = checks.Requirements(settings.require, settings.min_ok).unmet(run)
    # A report or the history that was asked for and could not be written fails the run (exit 1);
    # Fanout has already printed each error once.
    unmet += [f"an output could not be written ({error})" for error in execution.sink_errors]
    for problem in unmet:
        say(f"rollcall: requirement failed: {one_line(problem)}")
    return EXIT_FAILED if unmet else EXIT_OK
