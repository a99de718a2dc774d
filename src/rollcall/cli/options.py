"""Command-line options made from declarations (rollcall.settings records, kinds' flag fields):
each option is declared once, where its record is, and a command lists the records it takes.

    @click.command("run")
    @options(ProbeSettings, OutputSettings)
    def run(ctx, **values): ... ProbeSettings.resolve(given(ctx, ProbeSettings), config.defaults)

`given()` returns only what the command line (or an option's environment variable) set, so a
config file's value can stand in for a flag that was not given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click
from click.core import ParameterSource

from .params import TEXT, Parsed

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def make_option(declared: Any, *, default: Any = None, help: str | None = None) -> click.Option:
    """The click Option for one declaration (a settings.Setting or a kinds.Field)."""
    kind = declared.type
    flags = list(declared.flags)
    value = declared.default if default is None else default
    show = declared.show_default if declared.show_default is not None else value not in (None, (), False, 0)
    common: dict[str, Any] = {"help": help or declared.help, "hidden": getattr(declared, "hidden", False)}
    if kind.switch:
        if len(flags) == 2 and all(f.startswith("--") for f in flags):  # "--working/--all": on and off
            flags = ["/".join(flags)]
        return click.Option([*flags, declared.name], is_flag=True, default=bool(value), **common)
    click_type = Parsed.of(kind.each) if kind.each is not None else Parsed.of(kind)
    if click_type.name == "text":
        click_type = TEXT
    if getattr(declared, "flag_value", None) is not None:  # `--ray` alone, or `--ray ADDRESS`
        common.update(is_flag=False, flag_value=declared.flag_value)
    return click.Option(
        [*flags, declared.name], type=click_type, multiple=kind.each is not None,
        default=tuple(value) if kind.each is not None else value, show_default=show,
        metavar=declared.metavar or kind.metavar, envvar=declared.envvar,
        show_envvar=declared.envvar is not None, **common,
    )


def options(*records: type, only: Iterable[str] | None = None, skip: Iterable[str] = (),
            defaults: Mapping[str, Any] | None = None, help: Mapping[str, str] | None = None) -> Decorator:
    """A decorator adding an option for every declared setting with a flag of `records`, in
    declaration order (`only`/`skip` by field name; `defaults` and `help` per command)."""
    wanted = set(only) if only is not None else None
    made = []
    for record in records:
        for s in record.settings():
            if s.flag and (wanted is None or s.name in wanted) and s.name not in set(skip):
                option = make_option(s, default=(defaults or {}).get(s.name), help=(help or {}).get(s.name))
                option.rollcall_record = record  # type: ignore[attr-defined] # what given() reads it for
                made.append(option)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        params = getattr(func, "__click_params__", [])
        params.extend(reversed(made))  # click reverses decorator-added params
        func.__click_params__ = params  # type: ignore[attr-defined]
        return func

    return decorate


def given(ctx: click.Context, *records: type) -> dict[str, Any]:
    """The values of `records`' options (made by options()) that the command line (or an
    option's environment variable) gave; two records may share a name (load's --concurrency)."""
    names = {p.name for p in ctx.command.params if getattr(p, "rollcall_record", None) in records}
    return {name: value for name, value in ctx.params.items()
            if name in names and ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT,
                                                                        ParameterSource.DEFAULT_MAP, None)}


class WithKindFlags(click.Command):
    """A command that also takes the registered kinds' flags (g4f's -p, -x ...; `list=True`: the
    kinds' `rollcall list` flags), placed after the option named `after`. The registry is read
    only when the command is parsed or its help shown, never for `rollcall --help`."""

    def __init__(self, *args: Any, list_flags: bool = False, after: str | None = "only", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._list_flags = list_flags
        self._after = after
        self._kind_params: list[click.Parameter] | None = None

    def _made(self, taken: set[str]) -> list[click.Parameter]:
        if self._kind_params is None:
            from ..kinds import registry
            from ..stdio import say

            self._kind_params = []
            for kind in registry():
                for declared in kind.list_flags if self._list_flags else kind.flagged:
                    option = make_option(declared)
                    clash = [o for o in (*option.opts, *option.secondary_opts, option.name) if o in taken]
                    if clash:  # the registry keeps kinds apart; this is a command's own option
                        say(f"rollcall: warning: kind {kind.name!r}: flag {clash[0]} is taken by this command; "
                            "ignored")
                        continue
                    taken.update((*option.opts, *option.secondary_opts, option.name or ""))
                    self._kind_params.append(option)
        return self._kind_params

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        taken = {o for p in params for o in (*p.opts, *p.secondary_opts, p.name or "")}
        made = self._made(taken)
        at = 0 if self._after is None else next((i + 1 for i, p in enumerate(params) if p.name == self._after),
                                                 len(params) - 1)
        return [*params[:at], *made, *params[at:]]


def kind_flags_given(ctx: click.Context, *, list_flags: bool = False) -> dict[str, Any]:
    """The kinds' flags the command line gave, by field name (what plan.build_plan takes)."""
    from ..kinds import registry

    names = {f.name for kind in registry() for f in (kind.list_flags if list_flags else kind.flagged)}
    return {name: value for name, value in ctx.params.items()
            if name in names and ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT,
                                                                        ParameterSource.DEFAULT_MAP, None)}
