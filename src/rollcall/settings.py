"""One declaration per option: a dataclass field made with `setting()` names its flag, config key,
kind of value, default and help once, and everything else is derived from it: the command line's
options (cli/options.py), the checking of a config table (`[defaults]`, `[watch]`), the merge
"flag given > config file > the command's default > the declared default" (`resolve`), the
validation of values a library caller passes, and the record's JSON (a run's `settings`).

    @dataclass(frozen=True, slots=True)
    class ProbeSettings(Declared):
        timeout_s: float = setting(30.0, flag="-t/--timeout", config="timeout", type=DURATION, unit="s",
                                   help="Deadline per probe, connect to last token.")

Each kind of value has one parser (a ValueType over rollcall.durations and rollcall.inputs). A
parser raises ValueError with a sentence about the value; whoever knows where it came from puts
the flag or field in front (`Invalid value for '--repeat': must be ...`, `rollcall.toml:
[defaults]: field 'repeat' must be ...`).

Importing this module imports no click: the command line builds its options from the records.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from . import inputs
from .durations import parse_duration

_KEY = "rollcall.setting"
T = TypeVar("T", bound="Declared")


# -- kinds of values ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ValueType:
    """A kind of value and its one parser. `accepts` are the config file's types handed to
    `parse` (any other is refused by its type, so `timeout = true` says "must be a duration");
    `each` is the type of one item of a list (a repeatable flag); `switch` is true or false, a
    flag without a value on the command line."""

    name: str
    parse: Callable[[Any], Any]
    accepts: tuple[type, ...]
    metavar: str = "VALUE"
    each: ValueType | None = None
    switch: bool = False

    def described(self) -> str:
        """The types a config file may use, as words: "a string", "true or false"..."""
        names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
                 list: "a list", dict: "a table"}
        return " or ".join(dict.fromkeys(names[t] for t in self.accepts))


_ANY = (int, float, str, bool, list, dict)  # let the parser say what is wrong, in its words


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {type(value).__name__}")
    if not inputs.is_unicode(value):
        raise ValueError("is not valid UTF-8 text (check the encoding of the terminal or script)")
    return value


def _nonempty(value: Any) -> str:
    text = _text(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"must be a list of strings, got {inputs.describe(value)}")
    return tuple(_text(v) for v in value)


def _switch(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {inputs.describe(value)}")
    return value


def _regex(value: Any) -> str:
    from .checks import expect_regex

    return expect_regex(_text(value)).pattern  # compiles it: a bad pattern fails where it is given


def _table(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a table, got {inputs.describe(value)}")
    return dict(value)


def _text_table(value: Any) -> dict[str, str]:
    table = _table(value)
    if not all(isinstance(v, str) for v in table.values()):
        raise ValueError("must map names to strings")
    return table


def count(minimum: int = 1, maximum: int = inputs.MAX_COUNT) -> ValueType:
    """A whole number from `minimum` to `maximum`."""
    return ValueType("integer", lambda v: inputs.parse_count(v, minimum=minimum, maximum=maximum), _ANY, "N")


TEXT = ValueType("text", _text, (str,), "TEXT")
PROMPT = ValueType("text", _nonempty, (str,), "TEXT")
TEXTS = ValueType("texts", _texts, (list,), "NAME", each=TEXT)
SWITCH = ValueType("boolean", _switch, (bool,), "", switch=True)
REGEX = ValueType("regex", _regex, (str,), "REGEX")
TABLE = ValueType("table", _table, (dict,), "TABLE")
TEXT_TABLE = ValueType("table of strings", _text_table, (dict,), "TABLE")
DURATION = ValueType("duration", lambda v: parse_duration(v, None, allow_zero=False), _ANY, "DURATION")
DURATION_OR_ZERO = ValueType("duration", lambda v: parse_duration(v, None), _ANY, "DURATION")


def after_field(message: str) -> str:
    """How a parser's sentence follows a field or flag: one about the field reads on ("field
    'repeat' must be ...", "field 'base_url' has no host name"), one that starts with the value
    or another word comes after a colon ("field 'timeout': 'soon' is not a duration")."""
    return f" {message}" if message.split(" ", 1)[0] in ("must", "has", "is") else f": {message}"


def suggest(key: str, allowed: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `allowed`, or nothing."""
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- declarations ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Setting:
    """One option as declared; `name` is the field's (and the command line parameter's) name."""

    type: ValueType
    default: Any
    help: str
    flag: str | None = None  # "-t/--timeout"; "--working/--all" (two long names) is an on/off pair
    config: str | None = None  # the key in its config table; None: not in the config file
    unit: str | None = None  # "s": seconds (durations); shown by `rollcall kinds` and the docs
    metavar: str | None = None
    envvar: str | None = None
    recorded: bool = True  # part of the record's JSON (a run's settings in documents and history)
    show_default: bool | None = None  # None: shown unless it is "nothing" (None, (), False, 0)
    hidden: bool = False  # a flag left out of --help (for tests and demos)
    flag_value: str | None = None  # a flag whose value may be left out (`--ray` alone means this)
    name: str = ""  # filled in from the field, as is nullable (its annotation admits None)
    nullable: bool = False

    @property
    def flags(self) -> list[str]:
        return self.flag.split("/") if self.flag else []

    def check(self, value: Any) -> Any:
        """`value` through the parser (None passes where the default is None); ValueError names
        the field: `timeout_s: 0 must be more than 0`."""
        if value is None and self.nullable:
            return None
        try:
            return self.type.parse(value)
        except ValueError as exc:
            raise ValueError(f"{self.name}{after_field(str(exc))}") from None


def setting(default: Any, *, type: ValueType, help: str, flag: str | None = None, config: str | None = None,
            unit: str | None = None, metavar: str | None = None, envvar: str | None = None, recorded: bool = True,
            show_default: bool | None = None, hidden: bool = False, flag_value: str | None = None) -> Any:
    """A dataclass field declaring one option (see the module's docstring)."""
    declared = Setting(type=type, default=default, help=help, flag=flag, config=config, unit=unit, metavar=metavar,
                       envvar=envvar, recorded=recorded, show_default=show_default, hidden=hidden,
                       flag_value=flag_value)
    return field(default=default, metadata={_KEY: declared})


class Declared:
    """Base of records whose fields are all settings: their values are checked (and normalized,
    "30s" -> 30.0) when the record is made, so a record is always valid. `extra` (when the
    record has that field) keeps what is not declared: what a caller records beside the
    settings, and keys of a document this version does not know."""

    __slots__ = ()
    _declared: ClassVar[dict[type, tuple[Setting, ...]]] = {}

    @classmethod
    def settings(cls) -> tuple[Setting, ...]:
        found = Declared._declared.get(cls)
        if found is None:
            found = tuple(dataclasses.replace(f.metadata[_KEY], name=f.name, nullable="None" in str(f.type))
                          for f in dataclasses.fields(cls) if _KEY in f.metadata)  # type: ignore[arg-type]
            Declared._declared[cls] = found
        return found

    def __post_init__(self) -> None:
        for declared in self.settings():
            value = getattr(self, declared.name)
            checked = declared.check(value)
            if checked is not value:
                object.__setattr__(self, declared.name, checked)

    # -- merge ------------------------------------------------------------------------------
    @classmethod
    def resolve(cls: type[T], given: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None,
                defaults: Mapping[str, Any] | None = None, **fixed: Any) -> T:
        """The record from, in order of precedence: `fixed` values, options `given` on the
        command line, the config file's values (by field name, from `from_table`), the
        command's own `defaults`, the declared defaults. Keys that are no setting are ignored."""
        names = {s.name for s in cls.settings()}
        values: dict[str, Any] = {}
        for layer in (defaults or {}, config or {}, given or {}, fixed):
            values.update((k, v) for k, v in layer.items() if k in names or k == "extra")
        return cls(**values)

    # -- config tables -----------------------------------------------------------------------
    @classmethod
    def config_keys(cls) -> dict[str, Setting]:
        return {s.config: s for s in cls.settings() if s.config}

    @classmethod
    def from_table(cls, where: str, table: Mapping[str, Any], *,
                   others: Mapping[str, tuple[type, ...]] | None = None) -> dict[str, Any]:
        """A config table checked against the declarations: {field name: parsed value} for the
        keys it sets. `others` are keys another module owns (admitted by type, not returned).
        ConfigError-worthy ValueError: `where: unknown field 'timout' (did you mean 'timeout'?)`."""
        keys = cls.config_keys()
        others = others or {}
        allowed = [*keys, *others]
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key in others:
                check_type(where, key, value, others[key])
                continue
            declared = keys.get(key)
            if declared is None:
                raise ValueError(f"{where}: unknown field {key!r}{suggest(key, allowed)}; "
                                 f"known fields: {', '.join(sorted(allowed))}")
            check_type(where, key, value, declared.type.accepts)
            try:
                values[declared.name] = declared.type.parse(value)
            except ValueError as exc:
                raise ValueError(f"{where}: field {key!r}{after_field(str(exc))}") from None
        return values

    # -- JSON --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The recorded settings by field name (tuples as lists), then `extra`."""
        out: dict[str, Any] = {}
        for declared in self.settings():
            if declared.recorded:
                value = getattr(self, declared.name)
                out[declared.name] = list(value) if isinstance(value, tuple) else value
        out.update(getattr(self, "extra", None) or {})
        return out

    @classmethod
    def from_json(cls: type[T], data: Mapping[str, Any], where: str = "settings", **fixed: Any) -> T:
        """The record from its JSON object (a document's `run.settings`): declared keys checked
        (ValueError naming `where` and the key), the others kept in `extra`."""
        names = {s.name: s for s in cls.settings() if s.recorded}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in names:
                try:
                    values[key] = names[key].check(value)
                except ValueError as exc:
                    raise ValueError(f"{where}: {exc}") from None
            else:
                extra[key] = value
        if extra:
            if "extra" not in {f.name for f in dataclasses.fields(cls)}:  # type: ignore[arg-type]
                raise ValueError(f"{where}: unknown field {sorted(extra)[0]!r}")
            values["extra"] = extra
        return cls(**{**values, **fixed})


def check_type(where: str, key: str, value: Any, accepts: tuple[type, ...], *, secret: bool = False) -> None:
    """ValueError unless `value` is one of `accepts` (a bool is no number here); a secret's value
    is never quoted, only its type."""
    if isinstance(value, accepts) and not (isinstance(value, bool) and bool not in accepts):
        return
    got = f"a {type(value).__name__}" if secret else repr(value)
    wanted = ValueType("", lambda v: v, accepts).described()
    raise ValueError(f"{where}: field {key!r} must be {wanted}, got {got}")


# -- the records a run is made of ----------------------------------------------------------------
DEFAULT_PROMPT = "Hello, are you GPT 3.5?"


@dataclass(frozen=True, slots=True)
class ProbeSettings(Declared):
    """How a run probes: what `run`, `demo`, `watch` and library callers set, and what the run
    records (`RunResult.settings`; JSON `run.settings`, the history)."""

    prompt: str = setting(DEFAULT_PROMPT, flag="--prompt", config="prompt", type=PROMPT, recorded=False,
                          help="The question to ask.")  # recorded as the run's own `prompt`
    timeout_s: float = setting(30.0, flag="-t/--timeout", config="timeout", type=DURATION, unit="s",
                               help="Deadline per probe, connect to last token (seconds, or 30s, 2m).")
    concurrency: int = setting(64, flag="-j/--concurrency", config="concurrency",
                               type=count(1, inputs.MAX_CONCURRENCY), help="How many probes run at once.")
    repeat: int = setting(1, flag="-n/--repeat", config="repeat", type=count(1, inputs.MAX_REPEAT),
                          help="Probe each target N times (one after another) and report success rate and "
                               "median/p90 latency.")
    expect: str | None = setting(None, flag="--expect", config="expect", type=REGEX,
                                 help="Answers must match this regular expression (case-insensitive; else "
                                      "check_failed), within what is left of the probe's deadline.")
    max_total_s: float | None = setting(None, flag="--max-total", config="max_total", type=DURATION, unit="s",
                                        help="Answers slower than this in total fail with check_failed.")
    max_ttft_s: float | None = setting(None, flag="--max-ttft", config="max_ttft", type=DURATION, unit="s",
                                       help="Answers whose first token came later than this fail with "
                                            "check_failed.")
    require: tuple[str, ...] = setting((), flag="--require", config="require", type=TEXTS,
                                       help="Exit 1 unless this target answered (repeatable).")
    min_ok: int = setting(0, flag="--min-ok", config="min_ok", type=count(0),
                          help="Exit 1 unless at least N probes answered.")
    model: str | None = setting(None, flag="-m/--model", type=TEXT, metavar="TEXT",
                                help="Model to ask every target for (default: each one's own).")
    connect_timeout_s: float | None = setting(10.0, flag="--connect-timeout", config="connect_timeout",
                                              type=DURATION, unit="s",
                                              help="HTTP targets: fail with timeout when the connection is "
                                                   "not up in time.")
    first_byte_timeout_s: float | None = setting(None, flag="--first-byte-timeout", config="first_byte_timeout",
                                                 type=DURATION, unit="s",
                                                 help="HTTP targets: fail with timeout when no response headers "
                                                      "came in time (default: only --timeout).")
    # What the caller records beside the settings (the config file, the kind flags given, demo's
    # seed, a watch round) and keys of a document this version does not know.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_extra(self, **values: Any) -> ProbeSettings:
        return dataclasses.replace(self, extra={**self.extra, **values})


@dataclass(frozen=True, slots=True)
class OutputSettings(Declared):
    """Where a run's results go and how the history labels them (never recorded in the run)."""

    json_path: str | None = setting(None, flag="--json", type=TEXT, metavar="PATH|-",
                                    help="Write the run as JSON (schema rollcall.run/1); - for stdout. Same as "
                                         "-o json:PATH.")
    outputs: tuple[str, ...] = setting((), flag="-o/--output", type=TEXTS, metavar="FORMAT:PATH",
                                       help="Write a report (repeatable): json, jsonl, csv, junit, markdown, html; "
                                            "PATH - is stdout (jsonl streams each result as it finishes). Files "
                                            "are replaced atomically; a FIFO, device or >(process substitution) "
                                            "is written in place.")
    quiet: bool = setting(False, flag="-q/--quiet", type=SWITCH, help="Print only the summary line.")
    store_location: str | None = setting(None, flag="--store", type=TEXT, metavar="PATH|URL", envvar="ROLLCALL_STORE",
                                         help="History database: a SQLite path or postgresql://... "
                                              "[default: ~/.local/share/rollcall/history.sqlite3]")
    no_store: bool = setting(False, flag="--no-store", type=SWITCH, help="Do not record this run in the history.")
    site: str | None = setting(None, flag="--site", type=TEXT, metavar="NAME",
                               help="Where this run probes from, recorded in the history [default: hostname].")

    @property
    def report_specs(self) -> list[str]:
        return ([f"json:{self.json_path}"] if self.json_path else []) + list(self.outputs)


@dataclass(frozen=True, slots=True)
class TargetSelection(Declared):
    """Which config file, and which of its targets (run, watch; list and load take the first two)."""

    config_path: str | None = setting(None, flag="-c/--config", type=TEXT, metavar="FILE",
                                      help="Config file (TOML) with [defaults] and [[target]] tables. Default: "
                                           "$ROLLCALL_CONFIG, ./rollcall.toml, or ~/.config/rollcall/rollcall.toml "
                                           "if present. A config whose targets are none or all skipped is an "
                                           "error, not the g4f registry.")
    no_config: bool = setting(False, flag="--no-config", type=SWITCH,
                              help="Ignore any default config file (probe the g4f registry).")
    only: tuple[str, ...] = setting((), flag="--target", type=TEXTS, metavar="NAME",
                                    help="Only this config target (repeatable).")

    @property
    def path(self) -> str | None:
        from .config import default_config_path

        if self.config_path:
            return self.config_path
        found = None if self.no_config else default_config_path()
        return str(found) if found is not None else None
