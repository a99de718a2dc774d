"""What `rollcall watch` is told: its options (WatchOptions, declared once: flags and [watch]
keys), [[alert]], [[push]], `slo` in [defaults] and per target, per-target `every` (all from
Config.extensions), with flags winning over the file. Errors are ConfigError sentences naming the
file, the table and the field.

    [watch]
    every = "5m"  fail_after = 3  recover_after = 2  remind = "1h"  keep = "30d"
    url = "https://status.example"     # where `rollcall serve` runs: alerts link there
    [[alert]]
    notify = "discord://ID/TOKEN"      # or webhook = "https://...", or alertmanager = "http://..."
    targets = ["groq", "g4f/*"]        # optional: only these (target, target/model, entry/target)
    on = ["down", "up"]                # optional: only these states (down, degraded, up)
    [[push]]
    gatus = "http://gatus:8080"  token = "${GATUS_TOKEN}"    # or uptime_kuma = "http://kuma/api/push/T"
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config import Config, ConfigError, expand_env
from ..durations import parse_duration
from ..redact import register_secret
from .options import DEFAULT_FAIL_AFTER, DEFAULT_RECOVER_AFTER, WatchOptions
from .state import Slo, State, Thresholds

ALERT_KINDS = ("notify", "webhook", "alertmanager")
PUSH_KINDS = ("gatus", "uptime_kuma")
ALERT_STATES = ("down", "degraded", "up")
_OPTIONS = WatchOptions()  # the declared defaults


@dataclass(frozen=True, slots=True)
class Selector:
    """Which targets and states a channel wants. Empty means all."""

    targets: tuple[str, ...] = ()
    on: frozenset[str] = frozenset()

    def wants(self, target: str, model: str, state: State, origin: str | None = None) -> bool:
        if self.on and str(state) not in self.on:
            return False
        if not self.targets:
            return True
        names = [target, f"{target}/{model}"] + ([f"{origin}/{target}", origin] if origin else [])
        return any(fnmatch.fnmatchcase(n.lower(), p.lower()) for p in self.targets for n in names)


@dataclass(frozen=True, slots=True)
class AlertSpec:
    kind: str  # one of ALERT_KINDS
    url: str
    select: Selector = Selector()


@dataclass(frozen=True, slots=True)
class PushSpec:
    kind: str  # one of PUSH_KINDS
    url: str
    token: str | None = None
    select: Selector = Selector()


@dataclass(frozen=True, slots=True)
class WatchSettings:
    every_s: float = _OPTIONS.every_s
    thresholds: Thresholds = Thresholds(DEFAULT_FAIL_AFTER, DEFAULT_RECOVER_AFTER)
    remind_s: float = _OPTIONS.remind_s
    keep_s: float = _OPTIONS.keep_s  # 0: keep every result
    url: str | None = None
    slo: Slo = Slo()
    target_every: Mapping[str, float] = field(default_factory=dict)  # by config entry name
    target_slo: Mapping[str, Slo] = field(default_factory=dict)
    alerts: tuple[AlertSpec, ...] = ()
    pushes: tuple[PushSpec, ...] = ()

    def every_for(self, origin: str | None) -> float:
        return self.target_every.get(origin or "", self.every_s)

    def slo_for(self, origin: str | None) -> Slo:
        return self.target_slo.get(origin or "", self.slo)


def _suggest(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(where: str, table: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown field {key!r}{_suggest(key, allowed)}; "
                              f"known fields: {', '.join(sorted(allowed))}")


def _duration(where: str, value: Any) -> float:
    try:
        return parse_duration(value, where, allow_zero=False)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def parse_slo(where: str, table: Any) -> Slo:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: must be a table such as {{ ttft = 2.0, total = 10.0 }}")
    _unknown(where, table, ("ttft", "total"))
    values = {}
    for key in ("ttft", "total"):
        if key in table:
            value = table[key]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            if not ok:
                raise ConfigError(f"{where}: field {key!r} must be a number of seconds above 0, got {value!r}")
            values[f"{key}_s"] = float(value)
    return Slo(**values)


def _http_url(where: str, value: Any) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise ConfigError(f"{where}: must be an http:// or https:// URL")
    return value


def _looks_secret(part: str) -> bool:
    # Tokens in URL paths (Slack, Discord, Telegram) mix letters and digits; plain path words
    # ("api", "alerts", "hooks") do not and must not be scrubbed from every output.
    return len(part) >= 8 and any(c.isdigit() for c in part) and any(c.isalpha() for c in part)


def register_channel_secrets(url: str) -> None:
    """Remember the secret parts of a channel URL, so no output ever shows them: what the project
    registers for any URL (userinfo, query values), plus token-like path parts and, for
    notification schemes (discord://ID/TOKEN, slack://A/B/C), a token-like "host"."""
    from ..redact import register_url_secrets

    register_secret(url)
    register_url_secrets(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    for piece in (parts.path or "").split("/"):
        if _looks_secret(piece):
            register_secret(piece)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") and "." not in host and host != "localhost":
        register_secret(parts.netloc.rpartition("@")[2].split(":")[0])


def _selector(where: str, table: Mapping[str, Any]) -> Selector:
    targets = table.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) and t for t in targets):
        raise ConfigError(f"{where}: field 'targets' must be a list of names or patterns, e.g. [\"groq\", \"g4f/*\"]")
    on = table.get("on", [])
    if not isinstance(on, list) or not all(isinstance(s, str) for s in on):
        raise ConfigError(f"{where}: field 'on' must be a list of states: {', '.join(ALERT_STATES)}")
    for state in on:
        if state not in ALERT_STATES:
            raise ConfigError(f"{where}: field 'on': unknown state {state!r}{_suggest(state, ALERT_STATES)}; "
                              f"states: {', '.join(ALERT_STATES)}")
    return Selector(tuple(targets), frozenset(on))


def _one_of(where: str, table: Mapping[str, Any], kinds: Sequence[str]) -> str:
    given = [k for k in kinds if k in table]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of {', '.join(kinds)}"
                          + (f" (got {', '.join(given)})" if given else ""))
    return given[0]


def parse_alert(where: str, raw: Any) -> AlertSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _unknown(where, raw, (*ALERT_KINDS, "targets", "on"))
    kind = _one_of(where, raw, ALERT_KINDS)
    table = expand_env(dict(raw), where)
    url = table[kind]
    if kind == "notify":
        if not isinstance(url, str) or "://" not in url:
            raise ConfigError(f"{where}: field 'notify' must be an Apprise URL such as discord://ID/TOKEN")
    else:
        _http_url(f"{where}: field {kind!r}", url)
    register_channel_secrets(url)
    return AlertSpec(kind, url, _selector(where, table))


def parse_push(where: str, raw: Any) -> PushSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _unknown(where, raw, (*PUSH_KINDS, "token", "targets"))
    kind = _one_of(where, raw, PUSH_KINDS)
    table = expand_env(dict(raw), where)
    url = _http_url(f"{where}: field {kind!r}", table[kind])
    token = table.get("token")
    if token is not None and (not isinstance(token, str) or not token):
        raise ConfigError(f"{where}: field 'token' must be a non-empty string")
    if kind == "gatus" and token is None:
        raise ConfigError(f"{where}: Gatus external endpoints need the endpoint's token: add token = \"...\"")
    register_channel_secrets(url)
    register_secret(token)
    return PushSpec(kind, url, token, _selector(where, table))


def settle(config: Config | None, given: Mapping[str, Any] | None = None,
           defaults: Mapping[str, Any] | None = None, *, slo: Slo | None = None) -> tuple[WatchSettings, WatchOptions]:
    """The watch's settings: its options (flag given > [watch] > the command's `defaults` >
    declared), the config's channels and the flags' channels after them, the SLOs (`slo`: the
    command's default when [defaults] sets none). ConfigError naming the field or flag."""
    where = config.path if config is not None else "<no config>"
    ext = config.extensions if config is not None else {}
    watch = ext.get("watch", {})
    if not isinstance(watch, Mapping):
        raise ConfigError(f"{where}: [watch] must be a table")
    try:
        options = WatchOptions.resolve(given, WatchOptions.from_table(f"{where}: [watch]", watch), defaults)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    default_slo = ext.get("defaults", {}).get("slo")
    if default_slo is not None:
        slo = parse_slo(f"{where}: [defaults]: field 'slo'", default_slo)
    every: dict[str, float] = {}
    slos: dict[str, Slo] = {}
    for name, fields in ext.get("targets", {}).items():
        there = f"{where}: target {name!r}"
        if "every" in fields:
            every[name] = _duration(f"{there}: field 'every'", fields["every"])
        if "slo" in fields:
            slos[name] = parse_slo(f"{there}: field 'slo'", fields["slo"])
    alerts = [parse_alert(f"{where}: [[alert]] #{i}", a) for i, a in enumerate(_tables(ext.get("alert", []), where,
                                                                                         "alert"), 1)]
    alerts += [parse_alert(f"--{kind}", {kind: url}) for kind in ALERT_KINDS for url in getattr(options, kind)]
    pushes = _tables(ext.get("push", []), where, "push")
    settings = WatchSettings(
        every_s=options.every_s, thresholds=Thresholds(options.fail_after, options.recover_after),
        remind_s=options.remind_s, keep_s=options.keep_s, url=options.url, slo=slo or Slo(),
        target_every=every, target_slo=slos, alerts=tuple(alerts),
        pushes=tuple(parse_push(f"{where}: [[push]] #{i}", p) for i, p in enumerate(pushes, 1)),
    )
    return settings, options


def _tables(value: Any, where: str, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {name!r} must be written as [[{name}]] tables")
    return value
