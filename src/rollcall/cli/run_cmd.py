"""`rollcall run`: probe targets (g4f providers, config targets), show them live, report, exit code."""

from __future__ import annotations

from typing import Any

import click

from .common import probe_options, run_targets
from .selection import resolve, target_options


@click.command("run")
@target_options
@probe_options(default_timeout=30.0)
@click.pass_context
def run(ctx: click.Context, **options: Any) -> int:
    """Probe providers at once and report who answered, how fast, and why the rest failed.

    \b
    Examples:
      rollcall run                          every working no-key g4f provider
      rollcall run -p Yqcloud -p PollinationsAI --timeout 10
      rollcall run -c rollcall.toml -o junit:results.xml -o html:report.html
      rollcall run --require Yqcloud --json results.json   (CI: exit 1 if Yqcloud is down)
    """
    selection = resolve(ctx, options)
    plan = selection.plan
    return run_targets(plan.targets, selection.settings, intro=selection.intro, skipped=plan.skipped,
                       links=selection.links)
