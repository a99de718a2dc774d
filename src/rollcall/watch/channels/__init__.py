"""Alert channels: one module per kind, one registry entry each (the [[alert]] key names it).

A channel is `send(alert)` (raises DeliveryError, whose message is safe to print and store),
`refresh(firing)` for receivers that expect firing alerts re-sent (Alertmanager), and `aclose()`.
`key` identifies the channel in the store without its URL (which holds tokens); `label` is what
people read: scheme and host, never a path or query.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from ..alerts import Alert
from ..settings import AlertSpec

# kind -> "module:Class", imported when a channel of that kind is configured.
CHANNELS = {
    "notify": "rollcall.watch.channels.notify:NotifyChannel",
    "webhook": "rollcall.watch.channels.webhook:WebhookChannel",
    "alertmanager": "rollcall.watch.channels.alertmanager:AlertmanagerChannel",
}
TIMEOUT_S = 10.0  # one delivery attempt, connect to last byte


class DeliveryError(Exception):
    """A delivery attempt failed; the message is one line without secrets."""


class Channel(Protocol):
    kind: str
    key: str
    label: str

    async def send(self, alert: Alert) -> None: ...

    async def refresh(self, firing: Sequence[Alert]) -> None: ...

    async def aclose(self) -> None: ...


def channel_key(kind: str, url: str) -> str:
    """A stable name for a channel that does not reveal its URL: `webhook:3fa2c1d09b`."""
    return f"{kind}:{hashlib.sha256(url.encode()).hexdigest()[:10]}"


def channel_label(kind: str, url: str) -> str:
    """`webhook https://hooks.example/…`, `notify discord://…`: enough to tell channels apart."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{kind} (unreadable URL)"
    if parts.scheme not in ("http", "https") and ("." not in host and host != "localhost"):
        return f"{kind} {parts.scheme}://…"  # discord://ID/TOKEN: the "host" is a token
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{kind} {parts.scheme}://{host}{port}{rest}"


def make_channel(spec: AlertSpec) -> Channel:
    """The channel for one [[alert]] (ValueError with a sentence when it cannot be used)."""
    module, _, name = CHANNELS[spec.kind].partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(spec.url)


def http_failure(label: str, status: int, body: bytes) -> DeliveryError:
    from ...redact import redact
    from ...safetext import one_line

    snippet = one_line(body[:300].decode("utf-8", "replace"), 160)
    return DeliveryError(f"{label}: HTTP {status}" + (f": {redact(snippet)}" if snippet else ""))


def transport_failure(label: str, exc: BaseException) -> DeliveryError:
    """A connection/timeout failure, worded without the exception's text (aiohttp puts the full
    URL, tokens included, in some of its messages)."""
    import asyncio

    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return DeliveryError(f"{label}: no answer within {TIMEOUT_S:g} s")
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    os_error = getattr(exc, "os_error", None)
    if os_error is not None and getattr(os_error, "strerror", None):
        reason = os_error.strerror
    return DeliveryError(f"{label}: cannot connect ({reason})")
