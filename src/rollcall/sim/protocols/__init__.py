"""The protocols the simulator speaks, by name. The server serves every registered protocol at
once, on one port (their paths differ); a target kind names the protocol its tests run on.

    from rollcall.sim import protocols
    protocols.get("anthropic").base_path        # ""
    protocols.base_url(server.root_url, "openai")  # "http://127.0.0.1:PORT/v1"

A protocol is one module with one Protocol object (see base.py for the interface); `register`
adds another, before the server starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from .anthropic import Anthropic
from .base import ChatRequest, Context, Frames, Incoming, Protocol, Reply, RequestError, Route
from .gemini import Gemini
from .ollama import Ollama
from .openai import OpenAI

__all__ = sorted([
    "ChatRequest", "Context", "Frames", "Incoming", "Protocol", "Reply", "RequestError", "Route",
    "base_url", "choose", "get", "names", "register", "registered",
])

_REGISTRY: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    """Add a protocol under its name (ValueError if the name is taken); returns it."""
    if protocol.name in _REGISTRY:
        raise ValueError(f"a simulator protocol named {protocol.name!r} is already registered")
    _REGISTRY[protocol.name] = protocol
    return protocol


def get(name: str) -> Protocol:
    """The protocol called `name`; ValueError naming the choices if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown simulator protocol {name!r} (known: {', '.join(_REGISTRY)})") from None


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def registered() -> tuple[Protocol, ...]:
    return tuple(_REGISTRY.values())


def base_url(root_url: str, name: str) -> str:
    """The base URL a client of protocol `name` uses, from the server's root URL."""
    return root_url.rstrip("/") + get(name).base_path


def choose(candidates: tuple[Protocol, ...], headers: Mapping[str, str], query: Mapping[str, str]) -> Protocol:
    """Which of the protocols sharing a path a request is for: the first that claims it (by its
    marker headers), else the one with no marker headers (the default for that path)."""
    default = candidates[0]
    for protocol in candidates:
        if not protocol.marker_headers:
            default = protocol
        elif protocol.claims(headers, query):
            return protocol
    return default


for _protocol in (OpenAI(), Anthropic(), Gemini(), Ollama()):
    register(_protocol)
