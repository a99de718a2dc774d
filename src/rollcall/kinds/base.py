"""What a kind is made of: its config fields, how one config entry becomes targets, how its
models are listed. Plain data and callables; nothing here imports a target implementation."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..settings import TEXTS, ProbeSettings, ValueType, after_field

if TYPE_CHECKING:  # results are not needed to declare kinds: `run --help` reads them all
    from ..models import Skipped

class SelectionError(ValueError):
    """A target, provider name or import path the user gave cannot be used (exit code 2)."""


# Fields every [[target]] has, whatever its kind (config.py reads them; watch owns every/slo).
COMMON_FIELDS = ("name", "kind", "optional", "model", "models", "every", "slo")


@dataclass(frozen=True, slots=True)
class Field:
    """One config field of a kind (`name = value` in its [[target]] tables).

    `secret`: the value is scrubbed from every output (a string always; in a table, the values
    that came from the environment). `flag`: a `run`/`watch` flag that sets the field for every
    entry of the kind (`-x/--exclude`); with `extend` its values are added to the entry's list
    instead of replacing it; with `selects` the flag names what to probe, so giving it probes
    the kind even when the config has no entry of it (`-p NAME`)."""

    name: str
    type: ValueType
    default: Any = None
    help: str = ""
    required: bool = False
    secret: bool = False
    flag: str | None = None
    extend: bool = False
    selects: bool = False
    metavar: str | None = None
    envvar: str | None = None
    show_default: bool | None = False

    @property
    def flags(self) -> list[str]:
        return self.flag.split("/") if self.flag else []

    def parse(self, value: Any) -> Any:
        """The value through the field's parser; ValueError `field 'x' must be ...`."""
        try:
            return self.type.parse(value)
        except ValueError as exc:
            raise ValueError(f"field {self.name!r}{after_field(str(exc))}") from None


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One [[target]] entry, checked: the common fields, and `values` holding every field the
    kind declares (parsed, environment variables expanded, defaults filled in). `models` empty
    means the kind's default (g4f: each provider's own, HTTP kinds: the server's)."""

    name: str
    kind: str
    models: tuple[str, ...] = ()
    optional: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class BuildContext:
    """What building a run's targets shares: the run's settings (deadlines, pool size, --model)
    and one HTTP client for every HTTP target of the run (made on first use)."""

    settings: ProbeSettings = field(default_factory=ProbeSettings)
    _http: Any = None

    def http_client(self) -> Any:
        if self._http is None:
            from ..http import HttpClient

            s = self.settings
            self._http = HttpClient(limit=s.concurrency, connect_timeout_s=s.connect_timeout_s,
                                    first_byte_timeout_s=s.first_byte_timeout_s)
        return self._http


@dataclass
class Built:
    """What one entry became: targets to probe, those that could not be prepared (and why), and
    how many were left out by a filter, by reason (shown as "12 not working left out")."""

    targets: list[Any] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)


@dataclass
class ListContext:
    """For `rollcall list`: the kind's list flags (defaults filled in), the deadline per listing
    call, and a BuildContext to build an entry's targets with."""

    flags: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 10.0
    build: BuildContext = field(default_factory=BuildContext)


@dataclass
class Listing:
    """One kind's part of `rollcall list`: `rows` go into the JSON under `section`, `cells`
    (one tuple of strings per row, for `columns` = (header, justify) pairs) into a table."""

    kind: str
    section: str
    title: str
    columns: tuple[tuple[str, str], ...] = ()
    rows: list[dict[str, Any]] = field(default_factory=list)
    cells: list[tuple[str, ...]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


Builder = Callable[[TargetConfig, BuildContext], Built]
Lister = Callable[[Sequence[TargetConfig], ListContext], Awaitable[Listing]]


@dataclass(frozen=True)
class Kind:
    """A kind of target. `build` turns one config entry into targets; `list_models` serves
    `rollcall list` (its rows under `list_section`, taking `list_flags`); `protocol` names the
    simulator protocol (rollcall.sim.protocols) an HTTP kind is tested on; `implicit`: with no
    config file at all, one entry of this kind is probed (g4f: the public registry)."""

    name: str
    summary: str
    build: Builder
    fields: tuple[Field, ...] = ()
    list_models: Lister | None = None
    list_section: str = "endpoints"
    list_flags: tuple[Field, ...] = ()
    protocol: str | None = None
    implicit: bool = False

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def flagged(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.flag)

    def entry(self, name: str, *, models: Sequence[str] = (), **values: Any) -> TargetConfig:
        """An entry made in code (a default entry, a bare URL for `rollcall load`): `values`
        through their fields' parsers (ValueError naming the field), defaults for the rest."""
        checked = {}
        for key, value in values.items():
            declared = self.field(key)
            if declared is None:
                raise ValueError(f"kind {self.name!r} has no field {key!r}")
            checked[key] = declared.parse(value)
        missing = [f.name for f in self.fields if f.required and f.name not in checked]
        if missing:
            raise ValueError(f"field {missing[0]!r} is required")
        return TargetConfig(name, self.name, tuple(TEXTS.parse(list(models))),
                            values={**{f.name: f.default for f in self.fields}, **checked})

    def with_flags(self, entry: TargetConfig, flags: Mapping[str, Any]) -> TargetConfig:
        """`entry` with the values of this kind's flags that were given (by field name)."""
        values = dict(entry.values)
        for declared in self.flagged:
            if declared.name not in flags:
                continue
            given = flags[declared.name]
            if declared.extend:
                values[declared.name] = (*values.get(declared.name, ()), *given)
            elif given not in ((), None):
                values[declared.name] = tuple(given) if isinstance(given, list | tuple) else given
        return dataclasses.replace(entry, values=values)
