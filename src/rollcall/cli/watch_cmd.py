"""`rollcall watch` (keep probing, track states, open incidents, alert) and `rollcall incidents`.

Thin: `watch` takes every target, filter and output option `run` takes (the same declarations)
plus its own (rollcall.watch.settings.WatchOptions), and hands a WatchJob to rollcall.watch.app.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..serve.options import ListenOptions
from ..settings import OutputSettings, ProbeSettings, TargetSelection
from ..watch.options import WatchOptions
from .common import EXIT_FAILED, EXIT_OK, human_console
from .options import WithKindFlags, given, options
from .selection import resolve


@click.command("watch", cls=WithKindFlags, short_help="Keep probing: track each target's state, open incidents, alert.")
@options(TargetSelection, ProbeSettings, OutputSettings, WatchOptions, ListenOptions)
@click.pass_context
def watch(ctx: click.Context, **_: Any) -> int:
    """Probe the targets every few minutes, forever: know when each one goes down or gets slow,
    and when it comes back, and say so once.

    \b
    A target is down after --fail-after failed rounds in a row, degraded after as many answers
    over its SLO ([defaults] slo = { ttft = 2.0, total = 10.0 }), and up again after
    --recover-after good rounds. Each change opens or resolves an incident
    (`rollcall incidents`) and alerts every channel once; reminders follow at most every
    --remind. Every round is recorded in the history like a run. SIGTERM or Ctrl-C stops.
    Each option of [watch] (every, fail_after, recover_after, remind, keep) is its flag's default.
    \b
    Examples:
      rollcall watch -c rollcall.toml                       every 5 minutes, forever
      rollcall watch -c rollcall.toml --every 1m --notify 'discord://ID/TOKEN'
      rollcall watch --every 10m -p Yqcloud -p PollinationsAI --webhook https://hooks.example/rc
    \b
    Exit codes: 0 stopped by SIGTERM, or --rounds done with every requirement met; 1 a
    requirement failed in the last round; 2 bad usage or config; 130 Ctrl-C; 129 SIGHUP.
    """
    from ..config import ConfigError
    from ..watch.settings import settle
    from .serve_cmd import serve_options

    out = OutputSettings.resolve(given(ctx, OutputSettings))
    # Checked first: a --listen that would expose the history stops before targets load or anything binds.
    serving = serve_options(ListenOptions.resolve(given(ctx, ListenOptions)), out.site)
    prepared = resolve(ctx)
    try:
        settings, watch_options = settle(prepared.config, given(ctx, WatchOptions))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    plan = prepared.plan
    return watch_targets(plan.targets, prepared.settings, out, settings, watch_options, origins=plan.origins,
                         skipped=plan.skipped, serving=serving)


def watch_targets(
    targets: Any, probe: ProbeSettings, out: OutputSettings, settings: Any, options: WatchOptions, *,
    origins: dict[str, str] | None = None, skipped: Any = (), on_round: Any = None, serving: Any = None,
) -> int:
    """Watch `targets` (shared by `watch` and `demo --watch`); returns the exit code. `serving`
    (ServeOptions) also serves the history from this process while it watches."""
    from .. import checks
    from ..reports import outputs
    from ..store import StoreError, default_site, open_store, open_store_for_run
    from ..stop import exit_status, signal_name
    from ..watch.app import WatchJob, run_watch

    specs = out.report_specs
    try:
        outputs.parse_specs(specs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = human_console(stderr=outputs.uses_stdout(specs))
    if serving is not None and out.no_store:
        raise click.UsageError("--listen serves the history this watch records: drop --no-store")
    store = None
    if not out.no_store:
        try:
            store, warning = open_store_for_run(out.store_location)
        except StoreError as exc:
            raise click.UsageError(str(exc)) from None
        if warning:
            console.print(f"rollcall: warning: {warning}", style="yellow", highlight=False)
    location = out.store_location
    job = WatchJob(
        targets=targets, settings=settings, site=out.site or default_site(), probe=probe, skipped=tuple(skipped),
        origins=dict(origins or {}), store=store, reopen=(lambda: open_store(location)) if store is not None else None,
        outputs=specs, rounds=options.rounds, seed=options.jitter_seed, verbose=options.verbose, quiet=out.quiet,
        on_round=on_round,
    )
    try:
        with _serving(serving, job, location):
            end = run_watch(job, console)
    except (StoreError, ValueError) as exc:  # the store, or a channel that cannot be used (Apprise
        if store is not None:                # missing, a URL it rejects), before any round ran
            store.close()
        raise click.UsageError(str(exc)) from None
    summary = end.summary
    how = f" ({signal_name(end.signal)})" if end.signal is not None else ""
    if not out.quiet or end.signal is not None:
        console.print(
            f"rollcall: watch stopped{how} after {summary.rounds} round(s): {summary.opened} incident(s) opened, "
            f"{summary.resolved} resolved, {summary.alerts} alert(s) raised", style="dim", highlight=False,
        )
    if end.signal == signal.SIGTERM or (end.signal is None and summary.last_run is None):
        return EXIT_OK  # what service managers expect of a service they stop
    if end.signal is not None:
        return exit_status(end.signal)  # 130 Ctrl-C, 129 SIGHUP
    unmet = checks.Requirements.of(probe).unmet(summary.last_run)
    for problem in unmet:
        print(f"rollcall: requirement failed in the last round: {problem}", file=sys.stderr)
    return EXIT_FAILED if unmet else EXIT_OK


@contextmanager
def _serving(serving: Any, job: Any, location: str | None) -> Iterator[None]:
    """With --listen: a server on its own thread for the watch's duration, reading the store
    through its own connections, told after each stored round, probing (/probe) on the watch's
    loop with the watch's targets and settings."""
    if serving is None:
        yield
        return
    from ..serve.app import serve_in_thread
    from ..serve.prober import Prober
    from ..serve.source import StoreUnavailable
    from ..store import open_store
    from .serve_cmd import say_serving

    prober = Prober(job.targets, job.probe)

    def on_start(loop: Any) -> None:
        prober.loop = loop

    try:
        server_cm = serve_in_thread(serving, lambda: open_store(location, create=False), prober=prober)
        server = server_cm.__enter__()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {serving.listen}: {exc.strerror or exc}") from None
    except StoreUnavailable as exc:
        raise click.UsageError(str(exc)) from None
    say_serving(server.url, serving)
    job.on_start, job.on_stored = on_start, server.notify
    try:
        yield
    finally:
        server_cm.__exit__(None, None, None)


@click.command("incidents", short_help="Incidents: what is or was down or degraded, since when, why.")
@click.option("--open", "open_only", is_flag=True, help="Only incidents still open.")
@click.option("--since", default="7d", show_default=True, metavar="WHEN",
              help="Incidents open at any time since then: 30m, 12h, 7d, 2w, an ISO date/time (UTC), or 'all'.")
@click.option("--site", metavar="NAME", help="Only incidents seen from this site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema rollcall.incidents/1) instead of a table.")
@click.option("--store", "store_location", metavar="PATH|URL", envvar="ROLLCALL_STORE",
              help="History store: a SQLite file or a postgresql:// URL (default: $ROLLCALL_STORE, else "
                   "$XDG_DATA_HOME/rollcall/history.sqlite3).")
def incidents(open_only: bool, since: str, site: str | None, as_json: bool, store_location: str | None) -> int:
    """Incidents recorded by `rollcall watch`, newest first: target, model, site, state, when it
    opened and resolved, how many rounds failed, the first and the latest error."""
    from ..store import StoreError, watchdb
    from ..store.queries import parse_since
    from .store_cmd import StoreProblem, _open

    try:
        since_at = parse_since(since)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    store = _open(store_location)
    found: list[Any] = []
    location = None
    if store is not None:
        try:
            with store:
                location = store.location
                found = watchdb.list_incidents(watchdb.require_schema(store), open_only=open_only,
                                               since=since_at, site=site)
        except StoreError as exc:
            raise StoreProblem(str(exc)) from None
    if as_json:
        from ..safetext import json_text

        click.echo(json_text({"schema": "rollcall.incidents/1", "store": location, "since": since_at,
                              "open_only": open_only, "incidents": [i.to_dict() for i in found]}, indent=2))
        return EXIT_OK
    if not found:
        what = "open incidents" if open_only else "incidents"
        window = "" if since_at is None else f" since {since_at[:16].replace('T', ' ')} UTC"
        click.echo(f"rollcall: no {what}{window}" + (f" in {location}" if location else ""), err=True)
        return EXIT_OK
    from rich.console import Console

    from ..watch.render import incidents_table

    Console(highlight=False).print(incidents_table(found))
    return EXIT_OK


COMMANDS: list[click.Command] = [watch, incidents]
