"""The registry of kinds, read from the `rollcall.kinds` entry points once, when first needed.

rollcall's own kinds load first, then the others by name. A plug-in that cannot be used (it
raises, is not a Kind, is registered under another name, takes a name or a flag already taken)
is kept as a Problem with the reason: `rollcall kinds` shows it, a config that uses that name
gets the reason as its error, and every other kind still works.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .base import COMMON_FIELDS, Kind

GROUP = "rollcall.kinds"
_OWN = "rollcall"  # this distribution: its kinds load first and keep their names


class KindError(ValueError):
    """An unknown kind (the message names the choices) or one that cannot be loaded."""


@dataclass(frozen=True, slots=True)
class Problem:
    """An entry point that gave no usable kind, and why."""

    name: str
    source: str  # "distribution (module:attr)"
    error: str


@dataclass
class Registry:
    kinds: dict[str, Kind] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # name -> "distribution (module:attr)"
    problems: list[Problem] = field(default_factory=list)

    @property
    def broken(self) -> dict[str, str]:
        """Names only plug-ins that cannot be used answer to, and why."""
        return {p.name: p.error for p in self.problems if p.name not in self.kinds}

    def __iter__(self) -> Iterator[Kind]:
        return iter(self.kinds.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    def get(self, name: str) -> Kind:
        """The kind called `name`; KindError with the choices (and the closest) otherwise."""
        kind = self.kinds.get(name)
        if kind is not None:
            return kind
        if name in self.broken:
            raise KindError(f"kind {name!r} is installed but cannot be used: {self.broken[name]}")
        if not self.kinds:
            raise KindError("no target kinds are registered: rollcall's entry points are missing "
                            "(reinstall it, e.g. pip install -e .)")
        close = difflib.get_close_matches(str(name), list(self.kinds), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KindError(f"must be one of {', '.join(sorted(self.kinds))}, got {name!r}{hint}")

    def implicit(self) -> Kind | None:
        """The kind probed when there is no config file at all."""
        return next((k for k in self if k.implicit), None)

    def add(self, kind: Any, *, name: str, source: str) -> None:
        """Register `kind` under `name` if it is a usable Kind; else record why it is not."""
        problem = self._problem(kind, name)
        if problem:
            self.problems.append(Problem(name, source, problem))
            return
        self.kinds[name] = kind
        self.sources[name] = source

    def _problem(self, kind: Any, name: str) -> str | None:
        if not isinstance(kind, Kind):
            return f"the entry point gives a {type(kind).__name__!r} object, not a rollcall.kinds.Kind"
        if kind.name != name:
            return f"registered as {name!r} but the Kind is named {kind.name!r}"
        if name in self.kinds:
            return f"the name is already taken by {self.sources[name]}"
        names = [f.name for f in kind.fields]
        clash = next((n for n in names if n in COMMON_FIELDS or names.count(n) > 1), None)
        if clash:
            return f"field {clash!r} is declared twice or is a common field ({', '.join(COMMON_FIELDS)})"
        if kind.implicit and self.implicit() is not None:
            return f"only one kind is probed without a config, and that is {self.implicit().name!r}"
        taken = {flag: other.name for other in self for f in (*other.fields, *other.list_flags) for flag in f.flags}
        taken.update({f.name: other.name for other in self for f in (*other.flagged, *other.list_flags)})
        for f in (*kind.flagged, *kind.list_flags):
            for flag in (*f.flags, f.name):
                if flag in taken:
                    return f"its flag {flag} is taken by kind {taken[flag]!r}"
        return None


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    found = list(entry_points(group=GROUP))
    return sorted(found, key=lambda ep: (_dist(ep) != _OWN, ep.name))


# Distribution name by distribution object (kept alive with it, so an id is never reused):
# a name is read from the distribution's METADATA file, parsed whole each time it is asked
# (rollcall's holds its README), and every kind of a distribution asks.
_dist_names: dict[int, tuple[Any, str]] = {}


def _dist(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    known = _dist_names.get(id(dist))
    if known is not None and known[0] is dist:
        return known[1]
    name = getattr(dist, "name", None) or "?"
    _dist_names[id(dist)] = (dist, name)
    return name


PLUGIN_IMPORT_S = 10.0  # how long a plug-in's module may take to import before it is given up


def load(entry_points: Iterable[Any], *, import_timeout_s: float = PLUGIN_IMPORT_S) -> Registry:
    """A registry of these entry points (each loaded with its failure captured)."""
    registry = Registry()
    for ep in entry_points:
        dist = _dist(ep)
        source = f"{dist} ({ep.value})"
        try:
            kind = ep.load() if dist == _OWN else _load_bounded(ep, import_timeout_s)
        except BaseException as exc:  # noqa: BLE001 - a broken plug-in must not take the others down
            if isinstance(exc, KeyboardInterrupt):
                raise
            from ..classification import describe

            registry.problems.append(Problem(ep.name, source, f"{ep.value} cannot be loaded: {describe(exc)}"))
            continue
        registry.add(kind, name=ep.name, source=source)
    return registry


def _load_bounded(ep: Any, timeout_s: float) -> Any:
    """Import a plug-in's module on a daemon thread: one that hangs (or sleeps, or waits on the
    network) at import costs every command `timeout_s` once, not forever. Anything it raises,
    SystemExit included, is raised here to be reported as its problem."""
    import threading

    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, ep.load()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name=f"rollcall-kind-{ep.name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not outcome:
        raise TimeoutError(f"its module did not finish importing within {timeout_s:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


_registry: Registry | None = None


def registry() -> Registry:
    """The installed kinds (read once)."""
    global _registry
    if _registry is None:
        _registry = load(_entry_points())
    return _registry


def get(name: str) -> Kind:
    return registry().get(name)


def names() -> tuple[str, ...]:
    return registry().names()
