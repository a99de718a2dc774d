"""From config and flags to the list of targets one run probes. Flags win over the config file.

- No config file: the g4f registry, filtered by the g4f flags (the `rollcall` default).
- A config file without targets, or whose targets were all skipped: an error (SelectionError),
  unless `--provider` names g4f providers to probe.
- Config targets: each becomes targets (an openai target per entry, a g4f entry one target per
  provider). g4f flags override the matching fields of every g4f entry; `--provider` names with no
  g4f entry in the config add one. `--target NAME` keeps only the named config entries.
- `--model` replaces every target's models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .config import Config, TargetConfig
from .models import Skipped
from .targets.base import Target
from .targets.g4f import SelectionError


@dataclass(frozen=True, slots=True)
class G4FFlags:
    """g4f selection flags as given on the command line (empty/False = not given)."""

    providers: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    all_providers: bool = False
    include_auth: bool = False
    include_extra: bool = False


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)
    # Target name -> the config entry it came from (a g4f entry gives one target per provider),
    # so per-entry settings (watch's `every`, `slo`) reach its targets.
    origins: dict[str, str] = field(default_factory=dict)


def _g4f_entry(entry: TargetConfig, flags: G4FFlags) -> TargetConfig:
    return TargetConfig(
        name=entry.name, kind="g4f",
        providers=flags.providers or entry.providers,
        exclude=(*entry.exclude, *flags.exclude),
        all_providers=flags.all_providers or entry.all_providers,
        include_auth=flags.include_auth or entry.include_auth,
        include_extra=flags.include_extra or entry.include_extra,
        model=entry.model,
    )


def _no_targets(config: Config) -> str:
    if config.skipped:
        shown = "; ".join(f"{s.name}: {s.reason.removesuffix(' (optional target)')}" for s in config.skipped[:3])
        more = f"; {len(config.skipped) - 3} more" if len(config.skipped) > 3 else ""
        return f"{config.path}: no targets to probe ({len(config.skipped)} skipped: {shown}{more})"
    return (f"{config.path}: no targets to probe: the config has no [[target]] tables "
            '(add one; `kind = "g4f"` probes the g4f registry, as does --no-config)')


def _entries(config: Config | None, flags: G4FFlags, only: Sequence[str]) -> list[TargetConfig]:
    # Only the absence of any config means "the g4f registry": a config whose targets are all
    # skipped (optional, key unset) or that has none must not quietly probe every public provider.
    if config is not None and not config.targets and not flags.providers:
        raise SelectionError(_no_targets(config))
    entries = list(config.targets) if config else []
    if only:
        names = {e.name.lower(): e for e in entries}
        unknown = [n for n in only if n.lower() not in names]
        if unknown:
            known = ", ".join(e.name for e in entries) or "none"
            raise SelectionError(f"unknown target {unknown[0]!r} (config targets: {known})")
        entries = [names[n.lower()] for n in dict.fromkeys(only)]
    if not entries or (flags.providers and not any(e.kind == "g4f" for e in entries)):
        entries.append(TargetConfig(name="g4f", kind="g4f"))
    return [_g4f_entry(e, flags) if e.kind == "g4f" else e for e in entries]


def build_plan(
    config: Config | None,
    *,
    flags: G4FFlags = G4FFlags(),
    model: str | None = None,
    only: Sequence[str] = (),
    concurrency: int = 64,
    connect_timeout_s: float | None = 10.0,
    first_byte_timeout_s: float | None = None,
) -> Plan:
    """Targets for one run. Raises SelectionError (unknown names) or ValueError (bad target values)."""
    plan = Plan(skipped=list(config.skipped) if config else [])
    client = None
    for entry in _entries(config, flags, only):
        if entry.kind == "openai":
            from .http import HttpClient
            from .targets.openai import OpenAITarget

            if client is None:
                client = HttpClient(limit=concurrency, connect_timeout_s=connect_timeout_s,
                                    first_byte_timeout_s=first_byte_timeout_s)
            kwargs = {}
            if entry.extra_body:
                kwargs["extra_body"] = dict(entry.extra_body)
            plan.targets.append(OpenAITarget(
                entry.name, entry.base_url, models=(model,) if model is not None else entry.models,
                api_key=entry.api_key, headers=entry.headers, stream=entry.stream, client=client, **kwargs,
            ))
            plan.origins[entry.name] = entry.name
            continue
        from .targets.g4f import select_providers, targets_for

        selection = select_providers(
            entry.providers, exclude=entry.exclude, all_providers=entry.all_providers,
            include_auth=entry.include_auth, include_extra=entry.include_extra,
        )
        built = targets_for(selection, model=model if model is not None else entry.model,
                            include_auth=entry.include_auth)
        plan.targets.extend(built)
        plan.origins.update((t.name, entry.name) for t in built)
        plan.skipped.extend(selection.skipped)
        for why, count in selection.filtered.items():
            plan.filtered[why] = plan.filtered.get(why, 0) + count
    names = [t.name.lower() for t in plan.targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SelectionError(f"two targets are both named {duplicates[0]!r}; give config targets unique names")
    return plan
