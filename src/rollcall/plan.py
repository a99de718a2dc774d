"""From config and flags to the list of targets one run probes. Flags win over the config file.
Every kind is reached through the registry (rollcall.kinds): nothing here names one.

- No config file: one entry of the implicit kind (g4f: its registry, filtered by the g4f flags;
  the `rollcall` default).
- A config file without targets, or whose targets were all skipped: an error (SelectionError),
  unless a flag that names what to probe (`-p NAME`) was given.
- Config targets: each entry becomes targets through its kind's `build` (an openai entry is one
  target, a g4f entry one target per provider). A kind's flags override the matching fields of
  every entry of that kind; a naming flag given for a kind with no entry in the config adds one.
  `--target NAME` keeps only the named config entries.
- `--model` replaces every target's models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .config import Config, TargetConfig
from .kinds import BuildContext, Kind, Listing, ListContext, registry
from .kinds.base import SelectionError
from .models import Skipped, TargetInfo
from .settings import ProbeSettings, TargetSelection
from .targets.base import Target

__all__ = ["Plan", "Prepared", "SelectionError", "TargetSelection", "build_plan", "kind_flags", "list_models",
           "load_selected", "prepare"]


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)
    # Target name -> the config entry it came from (a g4f entry gives one target per provider),
    # so per-entry settings (watch's `every`, `slo`) reach its targets.
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def described(self) -> list[TargetInfo]:
        return [TargetInfo.of(t) for t in self.targets]

    @property
    def intro(self) -> str:
        left_out = ", ".join(f"{n} {why}" for why, n in self.filtered.items())
        return f"Probing {len(self.targets)} target(s)" + (f" ({left_out} left out)" if left_out else "")


def kind_flags(kind: Kind, flags: Mapping[str, Any]) -> dict[str, Any]:
    """The flags given for `kind`, by field name."""
    return {f.name: flags[f.name] for f in kind.flagged if f.name in flags}


def _selects(kind: Kind, flags: Mapping[str, Any]) -> bool:
    return any(f.selects and flags.get(f.name) for f in kind.flagged)


def _no_targets(config: Config, skipped: Sequence[Skipped] = (), filtered: Mapping[str, int] | None = None) -> str:
    """`rollcall.toml: no targets to probe (...)`, saying why: what was skipped, what filtered."""
    skipped = list(skipped) or list(config.skipped)
    reasons = []
    if skipped:
        shown = "; ".join(f"{s.name}: {s.reason.removesuffix(' (optional target)')}" for s in skipped[:3])
        more = f"; {len(skipped) - 3} more" if len(skipped) > 3 else ""
        reasons.append(f"{len(skipped)} skipped: {shown}{more}")
    if filtered:
        reasons.append(", ".join(f"{n} {why}" for why, n in filtered.items()) + " left out")
    if reasons:
        return f"{config.path}: no targets to probe ({'; '.join(reasons)})"
    if config.targets:
        return f"{config.path}: no targets to probe: its [[target]] tables gave none"
    implicit = registry().implicit()
    hint = f' (add one; `kind = "{implicit.name}"` probes what --no-config probes)' if implicit else " (add one)"
    return f"{config.path}: no targets to probe: the config has no [[target]] tables{hint}"


def _entries(config: Config | None, flags: Mapping[str, Any], only: Sequence[str]) -> list[TargetConfig]:
    kinds = registry()
    selecting = [k for k in kinds if _selects(k, flags)]
    # Only the absence of any config means "the implicit kind": a config whose targets are all
    # skipped (optional, key unset) or that has none must not quietly probe every public provider.
    if config is not None and not config.targets and not selecting:
        raise SelectionError(_no_targets(config))
    entries = list(config.targets) if config else []
    if only:
        names = {e.name.lower(): e for e in entries}
        unknown = [n for n in only if n.lower() not in names]
        if unknown:
            known = ", ".join(e.name for e in entries) or "none"
            raise SelectionError(f"unknown target {unknown[0]!r} (config targets: {known})")
        entries = [names[n.lower()] for n in dict.fromkeys(only)]
    implicit = kinds.implicit()
    if not entries and implicit is not None and implicit not in selecting:
        selecting.insert(0, implicit)
    for kind in selecting:
        if not any(e.kind == kind.name for e in entries):
            entries.append(kind.entry(kind.name))
    return entries


def build_plan(
    config: Config | None,
    *,
    settings: ProbeSettings | None = None,
    flags: Mapping[str, Any] | None = None,
    only: Sequence[str] = (),
    http: Any = None,
) -> Plan:
    """Targets for one run: `settings` (the run's: --model, the HTTP client's pool and deadlines),
    `flags` the kinds' flags given, by field name (`{"providers": ("Yqcloud",)}`), `http` the
    HttpClient the HTTP targets share (default: one built from `settings`, aiohttp's). Raises
    SelectionError (unknown names, a kind that cannot be used) or ValueError (bad target values)."""
    from .kinds import KindError

    settings = settings if settings is not None else ProbeSettings()
    flags = flags or {}
    plan = Plan(skipped=list(config.skipped) if config else [])
    ctx = BuildContext(settings, _http=http)
    try:
        entries = _entries(config, flags, only)
        for entry in entries:
            kind = registry().get(entry.kind)
            entry = kind.with_flags(entry, kind_flags(kind, flags))
            if settings.model is not None:
                entry = replace(entry, models=(settings.model,))
            built = kind.build(entry, ctx)
            plan.targets.extend(built.targets)
            plan.origins.update((t.name, entry.name) for t in built.targets)
            plan.skipped.extend(built.skipped)
            for why, count in built.filtered.items():
                plan.filtered[why] = plan.filtered.get(why, 0) + count
    except KindError as exc:
        raise SelectionError(str(exc)) from None
    if config is not None and not plan.targets:
        # A config whose entries all came to nothing (a kind's extra missing, every provider
        # filtered out) is as much a mistake as one with no entries: say why, exit 2.
        raise SelectionError(_no_targets(config, plan.skipped, plan.filtered))
    names = [t.name.lower() for t in plan.targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SelectionError(f"two targets are both named {duplicates[0]!r}; give config targets unique names")
    return plan


def load_selected(selection: TargetSelection) -> Config | None:
    """The config file the selection names (or the default one), or None. ConfigError."""
    from .config import load_config

    path = selection.path
    return load_config(path) if path is not None else None


def recorded_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    """What a run records of the kinds' flags: each one's value, given or not (lists as lists)."""
    out: dict[str, Any] = {}
    for kind in registry():
        for f in kind.flagged:
            value = flags.get(f.name, f.default)
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass
class Prepared:
    """A run ready to go: its config file (or None), settings and plan."""

    config: Config | None
    settings: ProbeSettings
    plan: Plan


def prepare(selection: TargetSelection, *, given: Mapping[str, Any] | None = None,
            defaults: Mapping[str, Any] | None = None, flags: Mapping[str, Any] | None = None,
            fit: Any = None) -> Prepared:
    """Load the config, settle the settings (flag given > config [defaults] > the command's
    defaults > declared), let `fit` adjust them before targets are built (the open-file limit
    caps concurrency, and so every pool), build the plan. ConfigError, SelectionError."""
    config = load_selected(selection)
    settings = ProbeSettings.resolve(given, config.defaults if config else None, defaults)
    if fit is not None:
        settings = fit(settings)
    flags = dict(flags or {})
    plan = build_plan(config, settings=settings, flags=flags, only=selection.only)
    settings = settings.with_extra(**recorded_flags(flags), config=config.path if config else None)
    return Prepared(config, settings, plan)


async def list_models(config: Config | None, flags: Mapping[str, Any], *, timeout_s: float = 10.0) -> list[Listing]:
    """`rollcall list`: what each kind lists, the implicit kind first (it lists without a
    config), then every kind the config has entries of, in the config's order. `flags` holds
    the kinds' list flags given, by field name. Listings run at once."""
    import asyncio

    kinds = registry()
    by_kind: dict[str, list[TargetConfig]] = {}
    implicit = kinds.implicit()
    if implicit is not None and implicit.list_models is not None:
        by_kind[implicit.name] = []
    for entry in config.targets if config else ():
        by_kind.setdefault(entry.kind, []).append(entry)
    calls = []
    for name, entries in by_kind.items():
        kind = kinds.get(name)
        if kind.list_models is None:
            continue
        given = {f.name: flags.get(f.name, f.default) for f in kind.list_flags}
        calls.append(kind.list_models(entries, ListContext(given, timeout_s)))
    return list(await asyncio.gather(*calls))
