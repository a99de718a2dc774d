"""Which target a load run calls: a config target by name (any kind, built by the same plan code as
`rollcall run`), or a base URL with `--kind`.

URL_KINDS is the one place that maps a kind to a target for a bare URL; when kinds become a
registry (issue 11) this lookup moves there and nothing else changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


def url_target(url: str, *, kind: str, model: str | None, api_key_env: str | None, connection: Connection) -> Target:
    factory = URL_KINDS.get(kind)
    if factory is None:
        raise SpecError(f"--kind: {kind!r} cannot be given a base URL (known: {', '.join(sorted(URL_KINDS))})")
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise SpecError(f"--api-key-env: environment variable {api_key_env} is not set")
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
