"""A fleet: the named simulated models a server offers, read from a TOML file.

File format: top-level `seed = N` (optional), then one table per model whose keys are the
Behaviour settings (short names as in the `sim:` model syntax, or full field names):

    seed = 7
    [swift]
    ttft = 0.05
    tps = 400
    [throttled]
    status = 429
    retry_after = 30

Model names with dots or slashes need quotes: `["meta-llama/llama-3"]`.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .behaviour import SPEC_PREFIX, Behaviour, BehaviourError, from_mapping, parse_spec

DEMO_FLEET = "fleets/demo.toml"


class FleetError(ValueError):
    """A fleet file that cannot be used; the message names the file, the model and the field."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """Named behaviours plus the seed that makes their randomness repeat."""

    models: Mapping[str, Behaviour] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        for name, behaviour in self.models.items():
            if not isinstance(name, str) or not name or name.startswith(SPEC_PREFIX):
                raise FleetError(f"model name {name!r} must be a non-empty string not starting with {SPEC_PREFIX!r}")
            if not isinstance(behaviour, Behaviour):
                raise FleetError(f"model {name!r}: expected a Behaviour, got {type(behaviour).__name__}")
        # Read-only and insertion-ordered, so the fleet cannot change under a running server.
        object.__setattr__(self, "models", MappingProxyType(dict(self.models)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.models)

    def behaviour_for(self, model: str) -> Behaviour | None:
        """The fleet's model, else a `sim:` spec (BehaviourError if malformed), else None."""
        found = self.models.get(model)
        if found is not None:
            return found
        if model.startswith(SPEC_PREFIX):
            return _cached_spec(model)
        return None


@functools.lru_cache(maxsize=4096)
def _cached_spec(model: str) -> Behaviour:
    # Benchmarks send the same `sim:` name thousands of times; parse it once (Behaviour is frozen).
    return parse_spec(model)


def parse_fleet(doc: Mapping[str, Any], source: str = "fleet") -> Fleet:
    """Build a Fleet from parsed TOML; errors read `<source>: [model] field: problem`."""
    seed: int = 0
    models: dict[str, Behaviour] = {}
    for key, value in doc.items():
        if isinstance(value, Mapping):
            if key.startswith(SPEC_PREFIX):
                raise FleetError(f"{source}: [{key}]: model names must not start with {SPEC_PREFIX!r}")
            try:
                models[key] = from_mapping(value, f"[{key}]")
            except BehaviourError as exc:
                raise FleetError(f"{source}: {exc}") from None
        elif key == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                raise FleetError(f"{source}: seed must be a whole number, got {value!r}")
            seed = value
        else:
            raise FleetError(
                f"{source}: unknown top-level setting {key!r} (only `seed`; each model is a [table])"
            )
    if not models:
        raise FleetError(f"{source}: no models (add one [table] per model)")
    return Fleet(models, seed=seed)


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet file; FleetError (a ValueError) with the file name when it cannot be used."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FleetError(f"{path}: cannot read the fleet file: {exc.strerror or exc}") from None
    return _parse_bytes(raw, str(path))


def demo_fleet() -> Fleet:
    """The packaged fleet `rollcall demo` serves: fast, slow, reasoning and every failure mode."""
    from importlib.resources import files

    resource = files("rollcall.sim").joinpath(DEMO_FLEET)
    return _parse_bytes(resource.read_bytes(), DEMO_FLEET)


def _parse_bytes(raw: bytes, source: str) -> Fleet:
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FleetError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"{source}: invalid TOML: {exc}") from None
    return parse_fleet(doc, source)
