"""The `g4f` kind: GPT4Free providers, from g4f's registry (filtered as `rollcall run` does by
default: working, no key) or named, by registry name or import path. The providers and their
isolation live in rollcall.targets.g4f, imported when an entry is built (g4f is heavy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..settings import SWITCH, TEXTS
from .base import Built, BuildContext, Field, Kind, ListContext, Listing, TargetConfig

if TYPE_CHECKING:
    from ..models import Skipped

FIELDS = (
    Field("providers", TEXTS, (), flag="-p/--provider", selects=True, metavar="NAME",
          help="g4f provider to probe (repeatable, any case), or an import path package.module:ClassName for a "
               "provider class outside g4f's registry. Named providers are probed even if not working or needing "
               "auth. None (or \"*\"): the registry, filtered."),
    Field("exclude", TEXTS, (), flag="-x/--exclude", extend=True, metavar="NAME",
          help="g4f provider to leave out (repeatable)."),
    Field("all_providers", SWITCH, False, flag="--all-providers", help="Include providers g4f marks as not working."),
    Field("include_auth", SWITCH, False, flag="--include-auth",
          help="Include providers that need a key; keys come from the environment (e.g. GROQ_API_KEY) or g4f's own "
               "auth config."),
    Field("include_extra", SWITCH, False, flag="--include-extra", help="Also load g4f's extra provider list."),
)

LIST_FLAGS = (
    Field("providers", TEXTS, (), flag="-p/--provider", metavar="NAME", help="Only these g4f providers (repeatable)."),
    Field("working_only", SWITCH, False, flag="--working/--all", help="Only providers g4f marks as working."),
    Field("no_auth", SWITCH, False, flag="--no-auth", help="Only providers that need no key."),
    Field("include_extra", SWITCH, False, flag="--include-extra", help="Also load g4f's extra provider list."),
)


def build(entry: TargetConfig, ctx: BuildContext) -> Built:
    from ..targets.g4f import select_providers, targets_for

    values = entry.values
    selection = select_providers(values["providers"], exclude=values["exclude"],
                                 all_providers=values["all_providers"], include_auth=values["include_auth"],
                                 include_extra=values["include_extra"])
    targets = targets_for(selection, models=entry.models, include_auth=values["include_auth"])
    return Built(list(targets), list(selection.skipped), dict(selection.filtered))


async def list_models(entries: Sequence[TargetConfig], ctx: ListContext) -> Listing:
    """The registry (or the providers named with -p) as read without calling them."""
    import asyncio

    from ..targets.g4f import ProviderInfo, select_providers

    flags = ctx.flags
    # Off the loop: loading providers takes seconds, and other kinds list their models meanwhile.
    selection = await asyncio.to_thread(
        select_providers, flags["providers"], all_providers=not flags["working_only"],
        include_auth=not flags["no_auth"], include_extra=flags["include_extra"])
    infos = sorted((ProviderInfo.of(p) for p in selection.providers), key=lambda i: i.name.lower())
    return listing(infos, selection.skipped)


def listing(infos: Sequence[Any], skipped: Sequence[Skipped] = ()) -> Listing:
    """The providers table of `rollcall list` (ProviderInfo rows)."""
    import dataclasses

    def yes(flag: bool) -> str:
        return "yes" if flag else "-"

    return Listing(
        kind="g4f", section="providers", title=f"g4f providers ({len(infos)})",
        columns=(("provider", "left"), ("working", "center"), ("needs auth", "center"), ("stream", "center"),
                 ("models", "right"), ("default model", "left")),
        rows=[dataclasses.asdict(i) for i in infos],
        cells=[(i.name, yes(i.working), yes(i.needs_auth), yes(i.supports_stream),
                "?" if i.models is None else str(i.models), i.default_model) for i in infos],
        skipped=list(skipped),
    )


KIND = Kind(
    name="g4f",
    summary="GPT4Free providers: g4f's registry (working, no key, by default) or named providers and import paths",
    build=build,
    fields=FIELDS,
    list_models=list_models,
    list_section="providers",
    list_flags=LIST_FLAGS,
    implicit=True,
)
