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

`${VAR}` in any string is replaced from the environment; an unset variable is an error naming it,
or skips the target when the target says `optional = true`. Values read this way for `api_key`
and `headers` are registered as secrets, so they are scrubbed from every output.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import inputs
from .durations import parse_duration
from .models import Skipped
from .redact import register_secret
from .urls import check_base_url

CONFIG_ENV = "ROLLCALL_CONFIG"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Settings that other modules own and validate (rollcall.watch.settings): admitted here and kept
# as written in Config.extensions, so this module need not know what they mean.
EXTENSION_SECTIONS = ("watch", "alert", "push")
EXTENSION_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "defaults": {"slo": (dict,)},
    "target": {"every": (str, int, float), "slo": (dict,)},
}


class ConfigError(ValueError):
    """A config problem, worded for the user: `file: target 'x': field: what is wrong`."""


@dataclass(frozen=True, slots=True)
class Defaults:
    timeout: float | None = None
    prompt: str | None = None
    concurrency: int | None = None
    repeat: int | None = None
    expect: str | None = None
    max_ttft: float | None = None
    max_total: float | None = None
    require: tuple[str, ...] = ()
    min_ok: int | None = None
    connect_timeout: float | None = None
    first_byte_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class TargetConfig:
    name: str
    kind: str
    # openai
    base_url: str = ""
    api_key: str | None = None
    models: tuple[str, ...] = ("",)
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool = True
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    # g4f
    providers: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    all_providers: bool = False
    include_auth: bool = False
    include_extra: bool = False
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    defaults: Defaults = field(default_factory=Defaults)
    targets: tuple[TargetConfig, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    # As written (variables not yet expanded): {"watch": {...}, "alert": [...], "push": [...],
    # "defaults": {"slo": ...}, "targets": {name: {"every": ..., "slo": ...}}}.
    extensions: Mapping[str, Any] = field(default_factory=dict)


# Durations and counts are checked by their parsers (rollcall.durations, rollcall.inputs), which
# name the forms they accept: seconds or "30s", "5m", "1h".
_DURATIONS = ("timeout", "max_ttft", "max_total", "connect_timeout", "first_byte_timeout")
_COUNTS = {"concurrency": (1, inputs.MAX_CONCURRENCY), "repeat": (1, inputs.MAX_REPEAT), "min_ok": (0, inputs.MAX_COUNT)}
_ANY = (int, float, str, bool, list, dict)
_DEFAULT_TYPES: dict[str, tuple[type, ...]] = {
    "prompt": (str,), "expect": (str,), "require": (list,),
    **{key: _ANY for key in (*_DURATIONS, *_COUNTS)}, **EXTENSION_FIELDS["defaults"],
}
MAX_CONFIG_BYTES = 4 << 20  # a config is a page or two; this bounds what `-c /dev/zero` costs
MAX_DEPTH = 32  # tables and arrays inside each other; TOML's own parser recurses per level
_COMMON = {"name": (str,), "kind": (str,), "optional": (bool,), **EXTENSION_FIELDS["target"]}
_KIND_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "openai": {**_COMMON, "base_url": (str,), "api_key": (str,), "models": (list,), "model": (str,),
               "headers": (dict,), "stream": (bool,), "extra_body": (dict,)},
    "g4f": {**_COMMON, "providers": (list,), "exclude": (list,), "all_providers": (bool,),
            "include_auth": (bool,), "include_extra": (bool,), "model": (str,)},
}


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


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_SECRET_FIELDS = frozenset({"api_key", "headers"})


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _check_types(where: str, table: Mapping[str, Any], allowed: dict[str, tuple[type, ...]]) -> None:
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(f"{where}: unknown field {key!r}{_suggest(key, list(allowed))}; "
                              f"known fields: {', '.join(sorted(allowed))}")
        types = allowed[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            # A key or header given with the wrong type is still a secret: name its type only.
            got = f"a {type(value).__name__}" if key in _SECRET_FIELDS else repr(value)
            raise ConfigError(f"{where}: field {key!r} must be {_type_name(types)}, got {got}")


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


def _str_list(where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: field {key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def _parse_defaults(where: str, table: Any) -> Defaults:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [defaults] must be a table")
    here = f"{where}: [defaults]"
    _check_types(here, table, _DEFAULT_TYPES)
    if "prompt" in table and not table["prompt"].strip():
        raise ConfigError(f"{here}: field 'prompt' must not be empty")
    values = {k: v for k, v in table.items() if k not in EXTENSION_FIELDS["defaults"]}
    if "require" in values:
        values["require"] = _str_list(here, "require", values["require"])
    for key in _DURATIONS:
        if key in values:
            try:
                values[key] = parse_duration(values[key], None, allow_zero=False)
            except ValueError as exc:
                raise ConfigError(f"{here}: field {key!r}: {exc}") from None
    for key, (low, high) in _COUNTS.items():
        if key in values:
            try:
                values[key] = inputs.parse_count(values[key], minimum=low, maximum=high)
            except ValueError as exc:
                raise ConfigError(f"{here}: field {key!r} {exc}") from None
    return Defaults(**values)


def _parse_target(where: str, index: int, raw: Any) -> TargetConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [[target]] #{index} must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: [[target]] #{index}: field 'name' is required (a non-empty string)")
    here = f"{where}: target {name!r}"
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _KIND_FIELDS:
        raise ConfigError(f"{here}: field 'kind' must be one of {', '.join(sorted(_KIND_FIELDS))}, got {kind!r}")
    _check_types(here, raw, _KIND_FIELDS[kind])
    try:
        values = _expand(raw)  # may raise _MissingVar
    except ConfigError as exc:
        raise ConfigError(f"{here}: {exc}") from None
    if kind == "openai":
        base_url = values.get("base_url", "")
        try:
            check_base_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"{here}: field 'base_url' {exc}") from None
        if "models" in values and "model" in values:
            raise ConfigError(f"{here}: give either 'model' or 'models', not both")
        models = _str_list(here, "models", values["models"]) if "models" in values else (values.get("model", ""),)
        if not models:
            raise ConfigError(f"{here}: field 'models' must not be empty (use [\"\"] for the server's default)")
        headers = values.get("headers", {})
        if not all(isinstance(v, str) for v in headers.values()):
            raise ConfigError(f"{here}: field 'headers' must map header names to strings")
        api_key = values.get("api_key") or None
        register_secret(api_key)
        for header, value in headers.items():
            if raw.get("headers", {}).get(header) != value or "auth" in header.lower() or "key" in header.lower():
                register_secret(value)  # came from the environment, or names a credential
        return TargetConfig(name=name, kind=kind, base_url=base_url, api_key=api_key, models=models,
                            headers=dict(headers), stream=values.get("stream", True),
                            extra_body=dict(values.get("extra_body", {})))
    providers = _str_list(here, "providers", values.get("providers", []))
    return TargetConfig(
        name=name, kind=kind, providers=tuple(p for p in providers if p != "*"),
        exclude=_str_list(here, "exclude", values.get("exclude", [])),
        all_providers=values.get("all_providers", False), include_auth=values.get("include_auth", False),
        include_extra=values.get("include_extra", False), model=values.get("model"),
    )


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
        raise ConfigError(f"{path}: unknown section {key!r}{_suggest(key, sections)}; "
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
