"""Which targets a command probes: the config file, the g4f flags and the model, declared once and
shared by `run` and `watch` (so both take exactly the same target and filter options)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from .common import RunSettings, fit_to_open_files, human_console
from .params import DURATION, TEXT

# Config [defaults] keys and the option each one stands in for when that flag is not given.
FROM_DEFAULTS = ("timeout", "prompt", "concurrency", "repeat", "expect", "max_ttft", "max_total", "require", "min_ok",
                 "connect_timeout", "first_byte_timeout")
SELECTION_PARAMS = ("config_path", "no_config", "only", "providers", "exclude", "all_providers", "include_auth",
                    "include_extra", "model")


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The config, target and g4f selection options."""
    options = [
        click.option("-c", "--config", "config_path", metavar="FILE",
                     help="Config file (TOML) with [defaults] and [[target]] tables. Default: $ROLLCALL_CONFIG, "
                          "./rollcall.toml, or ~/.config/rollcall/rollcall.toml if present. A config whose "
                          "targets are none or all skipped is an error, not the g4f registry."),
        click.option("--no-config", is_flag=True, help="Ignore any default config file (probe the g4f registry)."),
        click.option("--target", "only", multiple=True, metavar="NAME", help="Only this config target (repeatable)."),
        click.option("-p", "--provider", "providers", multiple=True, metavar="NAME",
                     help="g4f provider to probe (repeatable, any case), or an import path "
                          "package.module:ClassName for a provider class outside g4f's registry. "
                          "Named providers are probed even if not working or needing auth."),
        click.option("-x", "--exclude", multiple=True, metavar="NAME", help="g4f provider to leave out (repeatable)."),
        click.option("--all-providers", is_flag=True, help="Include providers g4f marks as not working."),
        click.option("--include-auth", is_flag=True,
                     help="Include providers that need a key; keys come from the environment "
                          "(e.g. GROQ_API_KEY) or g4f's own auth config."),
        click.option("--include-extra", is_flag=True, help="Also load g4f's extra provider list."),
        click.option("-m", "--model", type=TEXT, default=None,
                     help="Model to ask every target for (default: each one's own)."),
        click.option("--connect-timeout", type=DURATION, default=10.0, show_default=True, metavar="DURATION",
                     help="HTTP targets: fail with timeout when the connection is not up in time."),
        click.option("--first-byte-timeout", type=DURATION, default=None, metavar="DURATION",
                     help="HTTP targets: fail with timeout when no response headers came in time "
                          "(default: only --timeout)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class Selection:
    """The targets to probe and the run settings, after the config file's defaults."""

    config: Any  # config.Config or None
    path: str | None
    plan: Any  # plan.Plan
    settings: RunSettings
    intro: str
    links: dict[str, str]


def resolve(ctx: click.Context, options: Mapping[str, Any]) -> Selection:
    """Load the config, apply its [defaults] to flags not given, build the targets (UsageError
    for anything wrong). `options` holds every parameter of the command."""
    from ..config import ConfigError, default_config_path, load_config
    from ..plan import G4FFlags, build_plan
    from ..targets.g4f import SelectionError

    options = dict(options)
    config = None
    path = options["config_path"] or (None if options["no_config"] else default_config_path())
    if path is not None:
        try:
            config = load_config(path)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
        for key in FROM_DEFAULTS:
            value = getattr(config.defaults, key)
            if value not in (None, ()) and ctx.get_parameter_source(key) is ParameterSource.DEFAULT:
                options[key] = value
    settings = RunSettings.from_options(options)
    settings.validate()
    fit_to_open_files(settings)

    chatter = human_console(stderr=True)
    flags = G4FFlags(options["providers"], options["exclude"], options["all_providers"], options["include_auth"],
                     options["include_extra"])
    try:
        with chatter.status("loading targets…", spinner="dots") if chatter.is_terminal else nullcontext():
            plan = build_plan(config, flags=flags, model=options["model"], only=options["only"],
                              concurrency=settings.concurrency, connect_timeout_s=options["connect_timeout"],
                              first_byte_timeout_s=options["first_byte_timeout"])
    except (SelectionError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    if not plan.targets:
        chatter.print("rollcall: nothing to probe (see `rollcall list`)", style="yellow", markup=False)
    settings.extra = {"model": options["model"], "providers": list(options["providers"]),
                      "exclude": list(options["exclude"]), "config": str(path) if path else None}
    left_out = ", ".join(f"{n} {why}" for why, n in plan.filtered.items())
    intro = f"Probing {len(plan.targets)} target(s)" + (f" ({left_out} left out)" if left_out else "")
    links = {t.name: t.provider.url for t in plan.targets if getattr(getattr(t, "provider", None), "url", None)}
    return Selection(config=config, path=str(path) if path else None, plan=plan, settings=settings, intro=intro,
                     links=links)
