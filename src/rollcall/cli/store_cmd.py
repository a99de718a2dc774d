"""`rollcall runs`, `rollcall history`, `rollcall diff`: read the history store and render it.

Thin: parse, call rollcall.store, render to a rich Console. Machine output (--json) goes to
stdout, notes to stderr. Exit codes: 0 fine, 1 `diff` found a newly failing target, 2 bad
usage, a bad run id, or a store that cannot be opened.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .params import DURATION_OR_ZERO, Count, Number

F = TypeVar("F", bound=Callable[..., Any])

STORE_HELP = (
    "History store: a SQLite file or a postgresql:// URL "
    "(default: $ROLLCALL_STORE, else $XDG_DATA_HOME/rollcall/history.sqlite3)."
)


class StoreProblem(click.ClickException):
    """The store cannot answer (cannot be opened, newer schema, unknown run): exit 2."""

    exit_code = 2


def store_option(func: F) -> F:
    return click.option("--store", "store_location", metavar="PATH|URL", help=STORE_HELP)(func)


def _note(message: str) -> None:
    from ..safetext import one_line

    click.echo(f"rollcall: {one_line(message)}", err=True)  # it may quote a stored name


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _open(location: str | None) -> Any:
    """The store, or None when the default store does not exist yet (nothing recorded)."""
    from pathlib import Path

    from ..store import StoreError, open_store, redact_location, resolve_location
    from ..store.location import is_explicit

    where = resolve_location(location)
    if "://" not in where and not Path(where).expanduser().exists():
        if is_explicit(location):
            raise StoreProblem(f"no history store at {where} (`rollcall run --store {where}` records one)")
        _note(f"no runs stored yet ({redact_location(where)}; every `rollcall run` is recorded there)")
        return None
    try:
        return open_store(location, create=False)
    except StoreError as exc:
        raise StoreProblem(str(exc)) from None


def _echo_json(doc: dict[str, Any]) -> None:
    from ..safetext import json_text

    click.echo(json_text(doc, indent=2))


@click.command("runs", short_help="Recent stored runs: when, where, ok/failed, complete or not.")
@click.option("-n", "--limit", type=Count(1), default=20, show_default=True, metavar="N",
              help="How many of the most recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema rollcall.runs/1) instead of a table.")
@store_option
def runs(limit: int, as_json: bool, store_location: str | None) -> int:
    """Recent runs: id, time, site, targets, ok/failed, wall time, complete or not."""
    from ..store import StoreError

    store = _open(store_location)
    if store is None:
        if as_json:
            _echo_json({"schema": "rollcall.runs/1", "runs": []})
        return 0
    try:
        with store:
            records = store.list_runs(limit)
    except StoreError as exc:
        raise StoreProblem(str(exc)) from None
    if as_json:
        _echo_json({"schema": "rollcall.runs/1", "store": store.location, "runs": [r.to_dict() for r in records]})
        return 0
    if not records:
        _note(f"no runs stored yet in {store.location}")
        return 0
    from ..store.render import runs_table

    _console().print(runs_table(records))
    return 0


@click.command("history", short_help="Uptime, latency and streaks per target over time.")
@click.argument("targets", nargs=-1, metavar="[TARGET]...")
@click.option("--since", default="7d", show_default=True, metavar="WHEN",
              help="How far back: 30s, 30m, 12h, 7d, 2w, an ISO date/time (UTC), or 'all'.")
@click.option("--site", metavar="NAME", help="Only runs recorded from this site (see `rollcall run --site`).")
@click.option("--by-site", is_flag=True, help="One row per target x model x site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema rollcall.history/1) instead of a table.")
@store_option
def history(
    targets: tuple[str, ...], since: str, site: str | None, by_site: bool, as_json: bool, store_location: str | None
) -> int:
    """Per target x model: uptime, runs, p50/p95 TTFT and total, last success, current streak,
    most common error, and recent outcomes (oldest to newest; █ ok, ▁ failed).

    TARGET names match in any case; none means every target. Probes the run itself cancelled
    (an interrupted run) are not counted against a provider.
    """
    from ..store import StoreError
    from ..store.queries import history as compute, parse_since

    try:
        since_at = parse_since(since)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    store = _open(store_location)
    if store is None:
        if as_json:
            _echo_json({"schema": "rollcall.history/1", "since": since_at, "rows": []})
        return 0
    try:
        with store:
            if targets:
                _check_targets(targets, store.target_names())
            outcomes = store.outcomes(since=since_at, targets=targets, site=site)
            location = store.location
    except StoreError as exc:
        raise StoreProblem(str(exc)) from None
    rows = compute(outcomes, by_site=by_site)
    if as_json:
        _echo_json({"schema": "rollcall.history/1", "store": location, "since": since_at, "site": site,
                    "by_site": by_site, "rows": [r.to_dict() for r in rows]})
        return 0
    window = "all time" if since_at is None else f"since {since_at[:19].replace('T', ' ')} UTC"
    if not rows:
        _note(f"no results {window}{f' from site {site!r}' if site else ''} in {location}")
        return 0
    from ..store.render import history_table

    runs_seen = len({o.run_id for o in outcomes})
    title = f"History, {window} ({sum(r.probes for r in rows)} results from {runs_seen} runs)"
    _console().print(history_table(rows, now=_dt.datetime.now(_dt.timezone.utc), title=title, by_site=by_site))
    return 0


def _check_targets(asked: tuple[str, ...], known: list[str]) -> None:
    """Unknown names: an error when none is known (a typo), else a note."""
    import difflib

    lowered = {k.lower() for k in known}
    unknown = [t for t in asked if t.lower() not in lowered]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), sorted(lowered), n=1)
        match = next((k for k in known if close and k.lower() == close[0]), None)
        hints.append(f"{name!r}" + (f" (did you mean {match!r}?)" if match else ""))
    message = f"no history for {', '.join(hints)}"
    if len(unknown) == len(asked):
        raise click.UsageError(message + "; see `rollcall history` for every target")
    _note(message)


@click.command("diff", short_help="What changed between two runs (exit 1 if something newly failed).")
@click.argument("a", required=False, metavar="[A]")
@click.argument("b", required=False, metavar="[B]")
@click.option("--threshold", type=Number(minimum=1), default=1.5, show_default=True, metavar="RATIO",
              help="Slower/faster means at least this ratio (on median TTFT or total) ...")
@click.option("--min-delta", type=DURATION_OR_ZERO, default=0.5, show_default=True, metavar="DURATION",
              help="... and at least this much change in seconds (or 2m, 1h).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema rollcall.diff/1) instead of a report.")
@store_option
def diff(a: str | None, b: str | None, threshold: float, min_delta: float, as_json: bool,
         store_location: str | None) -> int:
    """What changed between run A and run B: newly failing, recovered, much slower or faster,
    new and vanished targets.

    \b
    No runs given: the last two complete runs. Only A: A against the latest complete run.
    Runs are ids or unique id prefixes (see `rollcall runs`).
    Exit codes: 1 when a target that answered in A fails in B (for nightly alerts), else 0;
    2 for bad run ids.
    """
    from ..store import StoreError
    from ..store.queries import diff_runs

    store = _open(store_location)
    if store is None:
        return _nothing_to_compare(as_json, threshold, min_delta)
    try:
        with store:
            pair = _pick_runs(store, a, b)
            if pair is None:
                return _nothing_to_compare(as_json, threshold, min_delta)
            before, after = pair
            result = diff_runs(before, store.run_results(before.id), after, store.run_results(after.id),
                               threshold=threshold, min_delta_s=min_delta)
    except StoreError as exc:
        raise StoreProblem(str(exc)) from None
    if as_json:
        _echo_json(result.to_dict())
    else:
        from ..store.render import diff_report

        _console().print(diff_report(result))
    return 1 if result.has_new_failures else 0


def _nothing_to_compare(as_json: bool, threshold: float, min_delta: float) -> int:
    if as_json:  # scripts get a document either way
        _echo_json({"schema": "rollcall.diff/1", "a": None, "b": None, "threshold": threshold,
                    "min_delta_s": min_delta, "newly_failing": [], "recovered": [], "slower": [], "faster": [],
                    "new": [], "vanished": [], "still_failing": 0, "steady": 0})
    return 0


def _pick_runs(store: Any, a: str | None, b: str | None) -> tuple[Any, Any] | None:
    if a is None:
        latest = store.list_runs(2, complete_only=True)
        if len(latest) < 2:
            _note(f"nothing to compare yet: {len(latest)} complete run(s) in {store.location}")
            return None
        return latest[1], latest[0]
    before = store.get_run(a)
    if b is None:
        newest = store.list_runs(1, complete_only=True)
        if not newest or newest[0].id == before.id:
            raise click.UsageError(f"run {before.id} is the latest complete run; name a second run to compare with")
        return before, newest[0]
    after = store.get_run(b)
    if after.id == before.id:
        raise click.UsageError(f"A and B are the same run ({before.id})")
    return before, after


COMMANDS: list[click.Command] = [runs, history, diff]
