"""`rollcall run`: probe targets (the config's, or the implicit kind's: g4f providers), show them
live, report, exit code. No kind is named here: their flags come from the registry."""

from __future__ import annotations

from typing import Any

import click

from ..settings import OutputSettings, ProbeSettings, TargetSelection
from .common import run_targets
from .options import WithKindFlags, given, options
from .selection import resolve


@click.command("run", cls=WithKindFlags)
@options(TargetSelection, ProbeSettings, OutputSettings)
@click.pass_context
def run(ctx: click.Context, **_: Any) -> int:
    """Probe providers at once and report who answered, how fast, and why the rest failed.

    \b
    Examples:
      rollcall run                          every working no-key g4f provider
      rollcall run -p Yqcloud -p PollinationsAI --timeout 10
      rollcall run -c rollcall.toml -o junit:results.xml -o html:report.html
      rollcall run --require Yqcloud --json results.json   (CI: exit 1 if Yqcloud is down)
    """
    prepared = resolve(ctx)
    plan = prepared.plan
    out = OutputSettings.resolve(given(ctx, OutputSettings))
    return run_targets(plan.targets, prepared.settings, out, intro=plan.intro, skipped=plan.skipped,
                       described=plan.described)
