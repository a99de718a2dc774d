"""rollcall.wire's client: the keep-alive pool per origin, request heads, retries on stale
connections (idempotent methods only), TLS, and what it leaves to aiohttp (proxies, userinfo,
URLs that need quoting, HEAD)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..http import ConnectError, HttpClient, ResponseTimeout, _os_reason, _reason
from .connection import _DEFAULT_PORTS, WireResponse, _Connection, _Origin, httptools

AVAILABLE = httptools is not None
_IDEMPOTENT = frozenset({"GET", "OPTIONS", "TRACE", "PUT", "DELETE"})
_URL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%")


def make_client(name: str, limit: int, **kwargs: Any) -> HttpClient:
    """The HttpClient called `name` ("aiohttp" or "wire")."""
    if name == "wire":
        return WireClient(limit, **kwargs)
    if name == "aiohttp":
        return HttpClient(limit, **kwargs)
    raise ValueError(f"unknown HTTP client {name!r} (choose aiohttp or wire)")


def _origin(url: str) -> _Origin | None:
    """The origin of a URL this client sends itself; None for what aiohttp must handle."""
    if not set(url) <= _URL_SAFE:
        return None  # needs quoting (spaces, non-ASCII): aiohttp's URL handling does it
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None  # aiohttp reports it as an invalid URL
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None  # userinfo becomes Basic auth in aiohttp
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Origin(scheme, host, port or _DEFAULT_PORTS[scheme], target)


class WireClient(HttpClient):
    """An HttpClient whose plain HTTP/1.1 and TLS requests go over rollcall's own connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._busy = 0  # connections carrying a request or being opened: at most `limit`
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._origins: dict[str, _Origin | None] = {}
        self._ssl: ssl.SSLContext | None = None
        self._wire_loop: asyncio.AbstractEventLoop | None = None

    @property
    def closed(self) -> bool:
        return not self._all and super().closed

    async def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> Any:
        origin = self._origins.get(url, False)
        if origin is False:
            origin = _origin(url) if AVAILABLE else None
            if origin is not None and self.trust_env and self._proxy_for(url)[0] is not None:
                origin = None  # through the proxy: aiohttp speaks to proxies
            if len(self._origins) > 1024:
                self._origins.clear()
            self._origins[url] = origin
        if origin is None or method == "HEAD":
            return await super().request(method, url, headers=headers, data=data)
        loop = asyncio.get_running_loop()
        if self._wire_loop is not loop:
            if self._all:
                raise RuntimeError("this HttpClient is open in another event loop; aclose() it there first")
            self._wire_loop = loop
        lines = [f"{method} {origin.target} HTTP/1.1\r\nHost: {origin.host_header}\r\n"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}\r\n")
        if data or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(data or b'')}\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("utf-8")
        cap = self.first_byte_timeout_s
        if cap is None:  # no cap: no timer (asyncio.timeout costs a few microseconds per request)
            return await self._exchange(loop, origin, method, head, data)
        deadline = asyncio.timeout(cap)
        try:
            async with deadline:
                return await self._exchange(loop, origin, method, head, data)
        except TimeoutError:
            if deadline.expired():
                raise ResponseTimeout(f"no response headers within {cap:g} s") from None
            raise

    async def _exchange(self, loop: asyncio.AbstractEventLoop, origin: _Origin, method: str, head: bytes,
                        data: bytes | None) -> WireResponse:
        retry = method in _IDEMPOTENT
        while True:
            conn = await self._acquire(loop, origin)
            reused = conn.requests > 0
            response = conn.send(head, data)
            try:
                await response._head
            except ConnectError:
                response.release()
                if retry and reused and not response.got_bytes:
                    retry = False  # a stale keep-alive connection: once more, on a new one
                    continue
                raise
            except BaseException:
                response.release()
                raise
            return response

    async def _acquire(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> _Connection:
        while self._busy >= self.limit:
            waiter = loop.create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # it was our turn: pass it on
                else:
                    self._waiting.remove(waiter)
                raise
        self._busy += 1
        try:
            idle = self._idle.get(origin.key)
            while idle:
                conn = idle.pop()
                if conn.reusable():
                    return conn
                conn._close()
                self._all.discard(conn)
            return await self._connect(loop, origin)
        except BaseException:
            self._busy -= 1
            self._wake_one()
            raise

    async def _connect(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> _Connection:
        tls = self._tls_context() if origin.tls else None
        cap = self.connect_timeout_s
        deadline = asyncio.timeout(cap)
        try:
            async with deadline:
                _transport, conn = await loop.create_connection(
                    lambda: _Connection(loop, origin), origin.host, origin.port, ssl=tls,
                    server_hostname=origin.host if tls else None)
        except TimeoutError:
            if deadline.expired():
                raise ResponseTimeout(f"no connection within {cap:g} s") from None
            raise
        except ssl.SSLError as exc:  # certificate verification is one of these too
            raise ConnectError(f"TLS failed: {_reason(exc)}") from None
        except OSError as exc:
            import socket

            if isinstance(exc, socket.gaierror):
                raise ConnectError(f"DNS lookup failed for {origin.host}: {_os_reason(_Wrapped(exc))}") from None
            raise ConnectError(f"cannot connect to {origin.host}:{origin.port}: {_os_reason(_Wrapped(exc))}") from None
        conn.client = self
        self._all.add(conn)
        sock = conn.transport.get_extra_info("socket")
        if sock is not None:
            import socket

            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()  # verified, as aiohttp's default
            self._ssl.set_alpn_protocols(["http/1.1"])
        return self._ssl

    def _release(self, conn: _Connection, reusable: bool) -> None:
        self._busy -= 1
        if reusable:
            self._idle.setdefault(conn.origin.key, []).append(conn)
        self._wake_one()

    def _lost(self, conn: _Connection) -> None:
        self._all.discard(conn)
        idle = self._idle.get(conn.origin.key)
        if idle and conn in idle:
            idle.remove(conn)

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        conns, self._all = self._all, set()
        self._idle.clear()
        self._busy = 0  # responses still open belong to no client now (conn.client is None)
        for conn in conns:
            conn.client = None
            conn._close()
        if conns:
            await asyncio.sleep(0)  # let the transports' close callbacks run in this loop
        self._wire_loop = None
        await super().aclose()


class _Wrapped:
    """An OSError seen as aiohttp's connector errors carry it (`os_error`), for _os_reason()."""

    def __init__(self, exc: OSError) -> None:
        self.os_error = exc
