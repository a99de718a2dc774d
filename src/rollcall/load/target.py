"""Which target a load run calls: a config target by name (any kind, built by the same plan code as
`rollcall run`), or a base URL with `--kind` (any registered kind with a `base_url` field, built
through the registry as a config entry would be).

Worker processes and Ray actors never receive a live target: `resolve()` gives the caller its
target and a `TargetRecipe` (plain data: the URL and kind, or the config entry, the model, the
connection settings and the API key, explicitly), and each worker builds its own target from the
recipe with `build()`, through the same code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..settings import ProbeSettings, after_field
from ..targets.base import Target
from .spec import SpecError


@dataclass(frozen=True, slots=True)
class Connection:
    """How the HTTP client behaves under load: a pool that never makes a request wait unseen."""

    max_in_flight: int
    connect_timeout_s: float | None = 10.0
    first_byte_timeout_s: float | None = None
    client: str = "wire"  # rollcall.wire's lean HTTP/1.1 client, or "aiohttp" (what probes use)

    def settings(self, model: str | None = None) -> ProbeSettings:
        """What building targets takes: the pool for every request in flight, the deadlines."""
        return ProbeSettings(concurrency=self.max_in_flight, connect_timeout_s=self.connect_timeout_s,
                             first_byte_timeout_s=self.first_byte_timeout_s, model=model)

    def http_client(self) -> Any:
        """The HTTP client every HTTP target of this process's load shares (built per process)."""
        from ..wire import make_client

        return make_client(self.client, self.max_in_flight, connect_timeout_s=self.connect_timeout_s,
                           first_byte_timeout_s=self.first_byte_timeout_s)


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
    from ..kinds import BuildContext, KindError, registry

    try:
        chosen = registry().get(kind)
    except KindError as exc:
        raise SpecError(f"--kind{after_field(str(exc))}") from None
    if chosen.field("base_url") is None:
        takes = ", ".join(k.name for k in registry() if k.field("base_url") is not None)
        raise SpecError(f"--kind: {kind!r} cannot be given a base URL (kinds that take one: {takes})")
    values: dict[str, Any] = {"base_url": url}
    if api_key:
        if chosen.field("api_key") is None:
            raise SpecError(f"--api-key-env: kind {kind!r} takes no API key")
        values["api_key"] = api_key
    try:
        entry = chosen.entry(urlsplit(url).hostname or "endpoint", models=(model or "",), **values)
        targets = chosen.build(entry, BuildContext(connection.settings(), _http=connection.http_client())).targets
    except ValueError as exc:
        raise SpecError(f"TARGET: {exc}") from None
    if len(targets) != 1:
        raise SpecError(f"--kind: {kind!r} made {len(targets)} targets of one base URL; load needs exactly one")
    return targets[0]


def config_target(name: str, config: Any, *, model: str | None, connection: Connection) -> tuple[Target, str]:
    """The config target called `name` and the model to load it with."""
    from ..plan import SelectionError, build_plan

    if config is None:
        raise SpecError(f"TARGET: {name!r} is neither a base URL (http://...) nor a config target (no config file; "
                        "give -c FILE or a URL with --kind openai)")
    for skipped in config.skipped:
        if skipped.name.lower() == name.lower():
            raise SpecError(f"TARGET: config target {skipped.name!r} was skipped: {skipped.reason}")
    try:
        plan = build_plan(config, settings=connection.settings(model), only=[name], http=connection.http_client())
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
    """The registered secrets among the key and the entry's secret fields (its kind says which)."""
    from ..kinds import registry
    from ..redact import registered

    candidates: list[str | None] = [api_key]
    if entry is not None:
        for declared in registry().get(entry.kind).fields:
            value = entry.values.get(declared.name) if declared.secret else None
            for text in (value.values() if isinstance(value, Mapping) else [value]):
                if isinstance(text, str):
                    candidates += [text, text.partition(" ")[2]]  # "Bearer <token>": the token too
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
