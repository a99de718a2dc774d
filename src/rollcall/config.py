"""The config file (TOML): defaults and targets, validated with errors that name file, target and field.

    [defaults]
    timeout = 20
    prompt = "Hello, are you GPT 3.5?"

    [[target]]
    name = "openrouter"
    kind = "openai"
    base_url = "https://openrouter.ai/api/v1"
    api_key = "${OPENROUTER_API_KEY}"      # from the environment; never printed
    models = ["meta-llama/llama-3.3-70b-instruct:free"]

    [[target]]
    name = "g4f"
    kind = "g4f"
    providers = ["*"]
    exclude = ["Gemini"]

`[defaults]` is checked against rollcall.settings.ProbeSettings' declarations, a target's fields
against its kind's (rollcall.kinds): nothing here knows a kind. `${VAR}` in any string is replaced
from the environment; an unset variable is an error naming it, or skips the target when the target
says `optional = true`. A kind's secret fields are registered as secrets (a string always, the
values of a table that came from the environment), so they are scrubbed from every output.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import inputs
from .kinds.base import TargetConfig
from .models import Skipped
from .redact import register_secret
from .settings import TEXT, TEXTS, ProbeSettings, after_field, check_type, suggest

__all__ = ["CONFIG_ENV", "Config", "ConfigError", "TargetConfig", "default_config_path", "expand_env",
           "load_config", "parse_config"]

CONFIG_ENV = "ROLLCALL_CONFIG"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Settings that other modules own and validate (rollcall.watch.settings): admitted here and kept
# as written in Config.extensions, so this module need not know what they mean.
EXTENSION_SECTIONS = ("watch", "alert", "push")
EXTENSION_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "defaults": {"slo": (dict,)},
    "target": {"every": (str, int, float), "slo": (dict,)},
}
MAX_CONFIG_BYTES = 4 << 20  # a config is a page or two; this bounds what `-c /dev/zero` costs
MAX_DEPTH = 32  # tables and arrays inside each other; TOML's own parser recurses per level
# The fields of every [[target]], whatever its kind.
_COMMON: dict[str, tuple[type, ...]] = {"name": (str,), "kind": (str,), "optional": (bool,), "model": (str,),
                                        "models": (list,), **EXTENSION_FIELDS["target"]}


class ConfigError(ValueError):
    """A config problem, worded for the user: `file: target 'x': field: what is wrong`."""


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    # What [defaults] sets, as ProbeSettings values by field name ({"timeout_s": 20.0, ...}).
    defaults: Mapping[str, Any] = field(default_factory=dict)
    targets: tuple[TargetConfig, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    # As written (variables not yet expanded): {"watch": {...}, "alert": [...], "push": [...],
    # "defaults": {"slo": ...}, "targets": {name: {"every": ..., "slo": ...}}}.
    extensions: Mapping[str, Any] = field(default_factory=dict)


def default_config_path() -> Path | None:
    """$ROLLCALL_CONFIG, else ./rollcall.toml, else $XDG_CONFIG_HOME/rollcall/rollcall.toml, if it exists."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path("rollcall.toml"), config_home / "rollcall" / "rollcall.toml"):
        if candidate.is_file():
            return candidate
    return None


class _MissingVar(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise _MissingVar(name)
            text = os.environ[name]
            if not inputs.is_unicode(text):  # undecodable bytes: no header or body can carry them
                raise ConfigError(f"environment variable {name} is not valid UTF-8 text")
            return text

        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def expand_env(value: Any, where: str) -> Any:
    """`${VAR}` in every string of `value` replaced from the environment; ConfigError naming the
    variable (and `where`) when one is not set."""
    try:
        return _expand(value)
    except _MissingVar as missing:
        raise ConfigError(f"{where}: environment variable {missing.name} is not set") from None
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _parse_defaults(where: str, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [defaults] must be a table")
    try:
        return ProbeSettings.from_table(f"{where}: [defaults]", table, others=EXTENSION_FIELDS["defaults"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _register_secrets(raw: Any, value: Any) -> None:
    """A secret field's value: a string is a secret; in a table or list, what came from the
    environment is (a header `X-Title = "rollcall"` is no secret, `"${TOKEN}"` is)."""
    if isinstance(value, str):
        register_secret(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str) and (not isinstance(raw, Mapping) or raw.get(key) != item):
                register_secret(item)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if isinstance(item, str) and (not isinstance(raw, list) or i >= len(raw) or raw[i] != item):
                register_secret(item)


def _parse_target(where: str, index: int, raw: Any) -> TargetConfig:
    from .kinds import KindError, registry

    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [[target]] #{index} must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: [[target]] #{index}: field 'name' is required (a non-empty string)")
    here = f"{where}: target {name!r}"
    try:
        kind = registry().get(raw.get("kind"))  # type: ignore[arg-type]
    except KindError as exc:
        raise ConfigError(f"{here}: field 'kind'{after_field(str(exc))}") from None
    declared = {f.name: f for f in kind.fields}
    allowed = {**_COMMON, **{f.name: f.type.accepts for f in kind.fields}}
    for key, value in raw.items():
        if key not in allowed:
            raise ConfigError(f"{here}: unknown field {key!r}{suggest(key, list(allowed))}; "
                              f"known fields: {', '.join(sorted(allowed))}")
        try:
            check_type(here, key, value, allowed[key], secret=key in declared and declared[key].secret)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    try:
        values = _expand(raw)  # may raise _MissingVar
    except ConfigError as exc:
        raise ConfigError(f"{here}: {exc}") from None
    if "models" in values and "model" in values:
        raise ConfigError(f"{here}: give either 'model' or 'models', not both")
    try:
        models = TEXTS.parse(values["models"]) if "models" in values else (TEXT.parse(values["model"]),) \
            if "model" in values else ()
    except ValueError as exc:
        raise ConfigError(f"{here}: field {'models' if 'models' in values else 'model'!r}{after_field(str(exc))}") \
            from None
    if "models" in values and not models:
        raise ConfigError(f"{here}: field 'models' must not be empty (use [\"\"] for the server's default)")
    fields: dict[str, Any] = {}
    for f in kind.fields:
        if f.name not in values:
            if f.required:
                raise ConfigError(f"{here}: field {f.name!r} is required ({f.help.rstrip('.')})")
            fields[f.name] = f.default
            continue
        try:
            fields[f.name] = f.parse(values[f.name])
        except ValueError as exc:
            raise ConfigError(f"{here}: {exc}") from None
        if f.secret:
            _register_secrets(raw[f.name], fields[f.name])
    return TargetConfig(name=name, kind=kind.name, models=models, optional=values.get("optional", False),
                        values=fields)


def parse_config(text: str, path: str = "<config>") -> Config:
    text = text.removeprefix("\ufeff")  # a byte order mark, as some Windows editors write
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(f"{path}: not valid TOML: nested more than {MAX_DEPTH} levels deep") from None
    deep = inputs.too_deep(doc, MAX_DEPTH)
    if deep:
        raise ConfigError(f"{path}: {deep}: nested more than {MAX_DEPTH} levels deep")
    sections = ["defaults", "target", *EXTENSION_SECTIONS]
    unknown = set(doc) - set(sections)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"{path}: unknown section {key!r}{suggest(key, sections)}; "
                          "expected [defaults], [[target]], [watch], [[alert]] and [[push]] tables")
    defaults = _parse_defaults(path, doc.get("defaults", {}))
    raw_targets = doc.get("target", [])
    if not isinstance(raw_targets, list):
        raise ConfigError(f"{path}: 'target' must be written as [[target]] tables")
    targets: list[TargetConfig] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_targets, start=1):
        try:
            target = _parse_target(path, index, raw)
        except _MissingVar as missing:
            name = raw.get("name", f"#{index}")
            if raw.get("optional") is True:
                skipped.append(Skipped(name, f"environment variable {missing.name} is not set (optional target)"))
                continue
            raise ConfigError(f"{path}: target {name!r}: environment variable {missing.name} is not set "
                              "(set it, or mark the target `optional = true` to skip it)") from None
        if target.name.lower() in seen:
            raise ConfigError(f"{path}: target {target.name!r}: the name is used twice; names must be unique")
        seen.add(target.name.lower())
        targets.append(target)
    extensions: dict[str, Any] = {name: doc[name] for name in EXTENSION_SECTIONS if name in doc}
    raw_defaults = doc.get("defaults", {})
    extensions["defaults"] = {k: raw_defaults[k] for k in EXTENSION_FIELDS["defaults"] if k in raw_defaults}
    extensions["targets"] = {
        raw["name"]: {k: raw[k] for k in EXTENSION_FIELDS["target"] if k in raw}
        for raw in raw_targets if isinstance(raw, dict) and isinstance(raw.get("name"), str)
    }
    return Config(path=path, defaults=defaults, targets=tuple(targets), skipped=tuple(skipped),
                  extensions=extensions)


def load_config(path: str | Path) -> Config:
    """Read and parse a config file; reads at most MAX_CONFIG_BYTES (a device or FIFO too)."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the config file is larger than {MAX_CONFIG_BYTES >> 20} MiB; is it the right file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    if "\0" in text:
        raise ConfigError(f"{path}: the config file holds NUL bytes; it is not a TOML text file")
    return parse_config(text, str(path))
