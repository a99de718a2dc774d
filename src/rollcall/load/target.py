"""Which target a load run calls: a config target by name (any kind, built by the same plan code as
`rollcall run`), or a base URL with `--kind`.

URL_KINDS is the one place that maps a kind to a target for a bare URL; when kinds become a
registry (issue 11) this lookup moves there and nothing else changes.

Worker processes and Ray actors never receive a live target: `resolve()` gives the caller its
target and a `TargetRecipe` (plain data: the URL and kind, or the config entry, the model, the
connection settings and the API key, explicitly), and each worker builds its own target from the
recipe with `build()`, through the same code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..targets.base import Target
from .spec import SpecError


@dataclass(frozen=True, slots=True)
class Connection:
    """How the HTTP client behaves under load: a pool that never makes a request wait unseen."""

    max_in_flight: int
    connect_timeout_s: float | None = 10.0
    first_byte_timeout_s: float | None = None


def _openai(base_url: str, *, model: str, api_key: str | None, connection: Connection) -> Target:
    from ..http import HttpClient
    from ..targets.openai import OpenAITarget

    client = HttpClient(limit=connection.max_in_flight, connect_timeout_s=connection.connect_timeout_s,
                        first_byte_timeout_s=connection.first_byte_timeout_s)
    name = urlsplit(base_url).hostname or "endpoint"
    return OpenAITarget(name, base_url, models=(model,), api_key=api_key, client=client)


URL_KINDS: Mapping[str, Callable[..., Target]] = {"openai": _openai}


def is_url(ref: str) -> bool:
    return "://" in ref


def _api_key(api_key_env: str | None) -> str | None:
    if not api_key_env:
        return None
    api_key = os.environ.get(api_key_env)
    if not api_key:
        raise SpecError(f"--api-key-env: environment variable {api_key_env} is not set")
    return api_key


def url_target(url: str, *, kind: str, model: str | None, api_key_env: str | None, connection: Connection) -> Target:
    return _url_target(url, kind=kind, model=model, api_key=_api_key(api_key_env), connection=connection)


def _url_target(url: str, *, kind: str, model: str | None, api_key: str | None, connection: Connection) -> Target:
    factory = URL_KINDS.get(kind)
    if factory is None:
        raise SpecError(f"--kind: {kind!r} cannot be given a base URL (known: {', '.join(sorted(URL_KINDS))})")
    try:
        return factory(url, model=model or "", api_key=api_key, connection=connection)
    except ValueError as exc:
        raise SpecError(f"TARGET: {exc}") from None


def config_target(name: str, config: Any, *, model: str | None, connection: Connection) -> tuple[Target, str]:
    """The config target called `name` and the model to load it with."""
    from ..plan import build_plan
    from ..targets.g4f import SelectionError

    if config is None:
        raise SpecError(f"TARGET: {name!r} is neither a base URL (http://...) nor a config target (no config file; "
                        "give -c FILE or a URL with --kind openai)")
    for skipped in config.skipped:
        if skipped.name.lower() == name.lower():
            raise SpecError(f"TARGET: config target {skipped.name!r} was skipped: {skipped.reason}")
    try:
        plan = build_plan(config, model=model, only=[name], concurrency=connection.max_in_flight,
                          connect_timeout_s=connection.connect_timeout_s,
                          first_byte_timeout_s=connection.first_byte_timeout_s)
    except (SelectionError, ValueError) as exc:
        raise SpecError(f"TARGET: {exc}") from None
    if len(plan.targets) != 1:
        names = ", ".join(t.name for t in plan.targets[:5]) or "none"
        raise SpecError(f"TARGET: config target {name!r} is {len(plan.targets)} targets ({names}); "
                        "load needs exactly one (name one provider in its own [[target]])")
    target = plan.targets[0]
    if len(target.models) != 1:
        raise SpecError(f"-m/--model: config target {name!r} has {len(target.models)} models "
                        f"({', '.join(m or 'default' for m in target.models)}); choose one with -m")
    return target, target.models[0]


def add_extra_body(target: Target, extra: Mapping[str, Any]) -> None:
    """Add request fields (e.g. ignore_eos) to an HTTP target's body; SpecError for other kinds."""
    if not extra:
        return
    current = getattr(target, "extra_body", None)
    if not isinstance(current, dict):
        raise SpecError(f"--extra-body/--ignore-eos: target {target.name!r} ({target.kind}) sends no JSON body")
    target.extra_body = {**current, **extra}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class TargetRecipe:
    """How to build the load target anywhere: picklable data, no live objects. A config target
    travels as its entry (variables already expanded, so a worker needs neither the config file
    nor the environment); the API key travels explicitly, never the environment. Neither the key
    nor the entry (which holds it) is in repr(). `secrets` are the values this process scrubs
    from output and a worker must register too."""

    ref: str  # the base URL or the config target's name
    kind: str
    model: str | None  # -m as given (a config target may choose its own)
    connection: Connection
    api_key: str | None = field(default=None, repr=False)
    entry: Any = field(default=None, repr=False)  # rollcall.config.TargetConfig for a config target
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = field(default=(), repr=False)


def _secrets_of(api_key: str | None, entry: Any) -> tuple[str, ...]:
    from ..redact import registered

    candidates: list[str | None] = [api_key]
    if entry is not None:
        candidates.append(entry.api_key)
        for value in entry.headers.values():
            candidates += [value, value.partition(" ")[2]]
    return registered(candidates)


def resolve(ref: str, *, kind: str, model: str | None, api_key_env: str | None, config: Any,
            connection: Connection, extra_body: Mapping[str, Any]) -> tuple[Target, str, TargetRecipe]:
    """The target `ref` names (a base URL or a config target), the model to load it with, and the
    recipe a worker builds the same target from. SpecError naming the flag when it cannot be used."""
    if is_url(ref):
        api_key = _api_key(api_key_env)
        target = _url_target(ref, kind=kind, model=model, api_key=api_key, connection=connection)
        chosen, entry = model or "", None
    else:
        target, chosen = config_target(ref, config, model=model, connection=connection)
        entry = next(e for e in config.targets if e.name.lower() == ref.lower())
        api_key, kind = None, target.kind
    add_extra_body(target, extra_body)
    recipe = TargetRecipe(ref=ref, kind=kind, model=model, connection=connection, api_key=api_key, entry=entry,
                          extra_body=dict(extra_body), secrets=_secrets_of(api_key, entry))
    return target, chosen, recipe


def build(recipe: TargetRecipe) -> Target:
    """The target a recipe describes, built in this process (a worker's own connections)."""
    from ..redact import register_secret

    for secret in recipe.secrets:
        register_secret(secret)
    if recipe.entry is None:
        target = _url_target(recipe.ref, kind=recipe.kind, model=recipe.model, api_key=recipe.api_key,
                             connection=recipe.connection)
    else:
        from ..config import Config

        config = Config(path="<load worker>", targets=(recipe.entry,))
        target, _model = config_target(recipe.ref, config, model=recipe.model, connection=recipe.connection)
    add_extra_body(target, recipe.extra_body)
    return target
