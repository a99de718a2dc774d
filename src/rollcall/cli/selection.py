"""Which targets a command probes (`run`, `watch`): the config file, the kinds' flags and the
settings, settled by the library (rollcall.plan.prepare); here only errors become UsageErrors."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import click

from ..settings import ProbeSettings, TargetSelection
from .common import fit_to_open_files, human_console
from .options import given, kind_flags_given

if TYPE_CHECKING:
    from ..plan import Prepared


def resolve(ctx: click.Context, *, defaults: Mapping[str, Any] | None = None) -> Prepared:
    """The command's config, settings and plan (UsageError for anything wrong)."""
    from ..config import ConfigError
    from ..plan import SelectionError, prepare

    selection = TargetSelection.resolve(given(ctx, TargetSelection))
    chatter = human_console(stderr=True)
    try:
        with chatter.status("loading targets…", spinner="dots") if chatter.is_terminal else nullcontext():
            prepared = prepare(selection, given=given(ctx, ProbeSettings), defaults=defaults,
                               flags=kind_flags_given(ctx), fit=fit_to_open_files)
    except (ConfigError, SelectionError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    if not prepared.plan.targets:
        chatter.print("rollcall: nothing to probe (see `rollcall list`)", style="yellow", markup=False)
    return prepared
