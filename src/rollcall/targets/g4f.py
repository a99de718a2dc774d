"""g4f providers as targets: enumerate the installed registry safely and call providers in isolation.

`g4f.Provider.__providers__` is never touched: it imports every provider at once and one of them
(G4FSpace) makes a network call with no timeout at import. Instead each registry name is loaded
on its own daemon thread under a deadline, and names that fail or hang are reported as skipped.
Provider calls run through `isolation.stream_in_thread`, so blocking or hanging provider code
cannot stall the run.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import untrusted
from ..classification import describe
from ..isolation import STARTED, stream_in_thread
from ..kinds.base import SelectionError
from ..models import Skipped
from ..redact import register_secret
from .base import Content, Event, ProbeRequest, ReasoningDelta, Started, Usage, token_count

LOAD_TIMEOUT_S = 10.0


class LoadError(Exception):
    """A provider could not be loaded; the message is the `ExcType: message` line of what it raised."""


def _g4f() -> Any:
    """Import g4f lazily (it is heavy) and switch off its version-check thread."""
    import g4f
    import g4f.debug

    g4f.debug.version_check = False
    return g4f


def registry_names(include_extra: bool = False) -> list[str]:
    _g4f()
    from g4f.Provider import ProviderLoader

    names = [n for n in ProviderLoader.names if n not in ProviderLoader.ignored]
    if include_extra:
        names += [n for n in ProviderLoader.extra if n not in names]
    return names


def _call_with_deadline(func: Any, timeout_s: float, what: str) -> Any:
    """Run func() on a daemon thread; raise TimeoutError if it does not finish in time."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - import-time code may raise anything
            # Described here, under the deadline: reading a provider's exception may raise or hang.
            box["error"] = LoadError(describe(exc))

    thread = threading.Thread(target=work, name=f"rollcall-load-{what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise LoadError(f"TimeoutError: loading took longer than {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def load_provider(spec: str, timeout_s: float = LOAD_TIMEOUT_S) -> type:
    """Load a registry name (any case) or an import path `package.module:ClassName`."""
    if ":" in spec:
        module_name, _, attr = spec.partition(":")

        def load() -> type:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj

    else:
        _g4f()
        from g4f.Provider import ProviderLoader

        def load() -> type:
            provider = ProviderLoader.from_name(spec)
            if provider is None:
                raise ImportError(f"Provider not found: {spec}")
            return provider

    def checked() -> type:
        # On the loading thread too: looking at what provider code handed us runs its code.
        provider = load()
        if not issubclass(type(provider), type):
            raise TypeError(f"{spec} is a {untrusted.type_name(type(provider))}, not a provider class")
        if not any(hasattr(provider, m) for m in ("create_async_generator", "create_async", "create_completion")):
            raise TypeError(f"{spec} has none of create_async_generator, create_async, create_completion")
        return provider

    return _call_with_deadline(checked, timeout_s, spec)


def _static(cls: type, name: str, default: Any = None) -> Any:
    """Read a class attribute without running properties (some do network I/O)."""
    try:
        value = inspect.getattr_static(cls, name)
    except AttributeError:
        return default
    if issubclass(type(value), (classmethod, staticmethod, property)) or callable(value):
        return default
    return value


def _flag(value: Any) -> bool:
    return type(value) in (bool, int) and bool(value)  # exact types: no provider __bool__ runs


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What `rollcall list` shows about a provider, read without calling it."""

    name: str
    working: bool
    needs_auth: bool
    supports_stream: bool
    models: int | None
    default_model: str
    url: str

    @classmethod
    def of(cls, provider: type) -> ProviderInfo:
        # Class attributes are the provider's objects: only exact built-in types are used.
        models = _static(provider, "models")
        return cls(
            name=untrusted.type_name(provider),
            working=_flag(_static(provider, "working", False)),
            needs_auth=_flag(_static(provider, "needs_auth", False)),
            supports_stream=_flag(_static(provider, "supports_stream", False)),
            models=len(models) if type(models) in (list, tuple, dict, set) else None,
            default_model=untrusted.text(_static(provider, "default_model", "")) or "",
            url=untrusted.text(_static(provider, "url", "")) or "",
        )


@dataclass
class Selection:
    """Providers chosen for a run, those that could not be loaded, and counts of those filtered out."""

    providers: list[type] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)


def _resolve_name(spec: str, known: list[str]) -> str:
    if ":" in spec:
        return spec
    by_lower = {n.lower(): n for n in known}
    found = by_lower.get(spec.lower())
    if found:
        return found
    close = difflib.get_close_matches(spec.lower(), list(by_lower), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(by_lower[c] for c in close)}?)" if close else ""
    raise SelectionError(
        f"unknown g4f provider {spec!r}{hint}; `rollcall list` shows the names, "
        "or give an import path like package.module:ClassName"
    )


def select_providers(
    names: Iterable[str] = (),
    *,
    exclude: Iterable[str] = (),
    all_providers: bool = False,
    include_auth: bool = False,
    include_extra: bool = False,
    load_timeout_s: float = LOAD_TIMEOUT_S,
) -> Selection:
    """Load and filter providers. Names given explicitly are probed even when not `working` or
    when they need auth (the user asked for them); the registry sweep applies the filters."""
    names = [n for n in names if n and n != "*"]
    known = registry_names(include_extra=True) if names or exclude else registry_names(include_extra)
    wanted = [_resolve_name(n, known) for n in names]
    excluded = {_resolve_name(n, known).lower() for n in exclude}
    explicit = bool(wanted)
    selection = Selection()
    for spec in wanted or registry_names(include_extra):
        if spec.lower() in excluded:
            selection.filtered["excluded"] = selection.filtered.get("excluded", 0) + 1
            continue
        try:
            provider = load_provider(spec, load_timeout_s)
        except LoadError as exc:  # any load failure is reported, not raised
            reason = str(exc)
            if explicit and ":" in spec:
                raise SelectionError(f"cannot load provider {spec}: {reason}") from None
            selection.skipped.append(Skipped(spec, reason[:300]))
            continue
        info = ProviderInfo.of(provider)
        if not explicit:
            if not info.working and not all_providers:
                selection.filtered["not working"] = selection.filtered.get("not working", 0) + 1
                continue
            if info.needs_auth and not include_auth:
                selection.filtered["needs auth"] = selection.filtered.get("needs auth", 0) + 1
                continue
        if provider not in selection.providers:
            selection.providers.append(provider)
    return selection


def _accepts(func: Any, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())



def _to_event(chunk: Any) -> Event | None:
    """Map one g4f chunk to an event; metadata objects (FinishReason, ProviderInfo...) give None.

    Runs on the provider's worker thread, and everything it returns is plain data (exact str and
    int): a str subclass or a hostile object from the provider never reaches the caller's loop.
    """
    text = untrusted.text(chunk)
    if text is not None:
        return Content(text)
    from g4f.providers.response import Reasoning, is_content
    from g4f.providers.response import Usage as G4FUsage

    kind = type(chunk)
    if issubclass(kind, Reasoning):
        text = untrusted.text(chunk.token if chunk.token is not None else chunk.is_thinking)
        return ReasoningDelta(text) if text else None
    if issubclass(kind, G4FUsage):
        return Usage(
            prompt_tokens=token_count(getattr(chunk, "prompt_tokens", None)),
            completion_tokens=token_count(getattr(chunk, "completion_tokens", None)),
        )
    if is_content(chunk):  # images, audio, tool calls: visible output
        return Content(untrusted.text(str(chunk)) or "")
    return None


class G4FTarget:
    """One g4f provider class, called on its own thread and loop for every probe."""

    kind = "g4f"

    def __init__(self, provider: type, *, model: str | None = None, models: Sequence[str] = (),
                 include_auth: bool = False) -> None:
        self.provider = provider
        self.name = untrusted.type_name(provider)
        self.include_auth = include_auth
        info = ProviderInfo.of(provider)
        self.models = tuple(models) or (model if model is not None else info.default_model,)
        self.link = info.url or None  # the provider's homepage, for reports

    def _call(self, request: ProbeRequest) -> AsyncIterator[Event]:
        provider = self.provider

        async def events() -> AsyncIterator[Event]:
            _g4f()
            from g4f.providers.base_provider import get_async_provider_method

            method = get_async_provider_method(provider)
            kwargs: dict[str, Any] = {}
            target = getattr(provider, "create_async_generator", None) or getattr(provider, "create_async", None)
            if _accepts(target or method, "stream"):
                kwargs["stream"] = True
            if self.include_auth and _flag(getattr(provider, "needs_auth", False)):
                from g4f.tools.auth import AuthManager

                api_key = AuthManager.load_api_key(provider)
                if api_key:
                    register_secret(api_key)
                    if _accepts(target or method, "api_key"):
                        kwargs["api_key"] = api_key
            async for chunk in method(model=request.model, messages=request.messages, **kwargs):
                event = _to_event(chunk)
                if event is not None:
                    yield event

        return events()

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        async for stamp, event in stream_in_thread(lambda: self._call(request), name=self.name):
            yield Started(at=stamp) if event is STARTED else dataclasses.replace(event, at=stamp)

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"G4FTarget({self.name})"


def targets_for(selection: Selection, *, models: Sequence[str] = (), include_auth: bool = False) -> list[G4FTarget]:
    """One target per selected provider, asking `models` (none: each provider's default model)."""
    return [G4FTarget(p, models=models, include_auth=include_auth) for p in selection.providers]
