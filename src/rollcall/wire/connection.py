"""One HTTP/1.1 connection of rollcall.wire: an asyncio.Protocol fed to httptools' parser, and
the response it hands the reader (chunks stamped in data_received, when their bytes arrived).
A connection refuses bytes no request asked for and a second response to one request: it is
closed, never pooled (see the package docstring)."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

from ..http import BadResponse, ConnectError, _reason, socket_readable

if TYPE_CHECKING:
    from .client import WireClient

try:
    import httptools
except ImportError:  # pragma: no cover - httptools is a dependency; without it aiohttp does it all
    httptools = None

_KEEPALIVE_S = 15.0  # an idle connection older than this is closed, not reused (aiohttp's default)
_PAUSE_BYTES = 1 << 20  # unread body past which the socket stops being read (flow control)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Origin:
    """What a URL's requests share: the pool key, where to connect, and the request line's parts."""

    __slots__ = ("key", "host", "port", "tls", "target", "host_header")

    def __init__(self, scheme: str, host: str, port: int, target: str) -> None:
        self.key = (scheme, host, port)
        self.host = host
        self.port = port
        self.tls = scheme == "https"
        self.target = target
        name = f"[{host}]" if ":" in host else host
        self.host_header = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"


class _Headers(dict):  # type: ignore[type-arg]
    """Response headers by lower-case name (the first of repeated ones), read case-insensitively."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key.lower() if isinstance(key, str) else key)


class WireResponse:
    """One response: its head, and its body as the reader reads it (`content` is the response)."""

    stamps_arrival = True  # `at` is when the bytes of the last chunk read arrived (see http_stream)

    __slots__ = ("status", "reason", "headers", "at", "total_bytes", "got_bytes", "complete", "_conn", "_chunks",
                 "_buffered", "_eof", "_error", "_waiter", "_head", "_decoder", "_released")

    def __init__(self, conn: _Connection) -> None:
        self.status = 0
        self.reason = ""
        self.headers: _Headers = _Headers()
        self.at = 0.0
        self.total_bytes = 0
        self.got_bytes = False  # any byte of an answer arrived
        self.complete = False  # the whole message was parsed
        self._conn = conn
        self._chunks: deque[tuple[bytes, float]] = deque()
        self._buffered = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._head: asyncio.Future[None] = conn.loop.create_future()
        self._decoder: Any = None
        self._released = False

    @property
    def content(self) -> WireResponse:
        return self

    async def __aenter__(self) -> WireResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._conn.done(self)

    # ---- the body, as the reader reads it --------------------------------------------------

    async def readany(self) -> bytes:
        """The next chunk of the body as it arrived (b"" at its end); `at` says when it arrived."""
        while True:
            if self._chunks:
                chunk, self.at = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered < _PAUSE_BYTES:
                    self._conn.resume()
                return chunk
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            self._waiter = self._conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    # ---- fed by the connection -------------------------------------------------------------

    def _push(self, chunk: bytes, at: float) -> None:
        decoder = self._decoder
        if decoder is not None:
            try:
                chunk = decoder.decompress(chunk)
            except zlib.error as exc:
                why = f"malformed HTTP body: cannot decompress it ({_reason(exc)})"
                self._fail(BadResponse(why, status=self.status))
                return
            if not chunk:
                return
        self.total_bytes += len(chunk)
        self._chunks.append((chunk, at))
        self._buffered += len(chunk)
        if self._buffered >= _PAUSE_BYTES:
            self._conn.pause()
        self._wake()

    def _finish(self) -> None:
        self.complete = self._eof = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if self._error is None and not self._eof:
            self._error = error
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved: nobody may be waiting any more
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: at most one request at a time, parsed by httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.client: WireClient | None = None
        self.transport: Any = None
        self.parser: Any = httptools.HttpResponseParser(self)
        self.response: WireResponse | None = None  # the request outstanding
        self.requests = 0  # carried so far (more than 0: it came from the pool)
        self.closed = False
        self.dirty = False  # received bytes nobody asked for: never reused
        self.keep_alive = False  # the last response allows reuse
        self.idle_since = 0.0
        self._paused = False
        self._at = 0.0
        self._pieces: list[bytes] = []
        self._names: list[bytes] = []
        self._values: list[bytes] = []
        self._interim = False  # parsing a 1xx response, which precedes the real one
        self._finals = 0  # final responses seen for the request outstanding
        self._until_close = False  # the body ends when the connection does (no length, not chunked)
        self._complete = False

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None or response.complete or self.dirty:
            self._refuse()  # answers no request of ours: never parsed, never read
            return
        self._at = time.perf_counter()  # when the bytes arrived, before any parsing
        response.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._broken(response, "the server switched protocols")
        except httptools.HttpParserError as exc:
            if self._finals > 1 or self._complete:
                self.dirty = True  # garbage after our whole answer: the answer stands
            else:
                self._broken(response, _reason(exc))
        if self._pieces:
            response._push(b"".join(self._pieces) if len(self._pieces) > 1 else self._pieces[0], self._at)
            self._pieces.clear()
        if self._complete and not response.complete:
            response._finish()
        if self.dirty:
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self.response
        if response is not None and not response.complete:
            if self._pieces:
                response._push(b"".join(self._pieces), self._at)
                self._pieces.clear()
            if response._head.done() and self._until_close and exc is None:
                response._finish()  # an HTTP/1.0-style body: it ends with the connection
            elif response._head.done():
                how = "reset" if isinstance(exc, ConnectionResetError) else "closed"
                response._fail(ConnectError(f"connection {how} mid-stream after {response.total_bytes:,} bytes"))
            elif exc is None:
                response._fail(ConnectError("server closed the connection before responding"))
            else:
                response._fail(ConnectError(f"connection failed: {_reason(exc)}"))
        if self.client is not None:
            self.client._lost(self)

    def pause(self) -> None:
        if not self._paused and not self.closed:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    # ---- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._finals:
            self.dirty = True  # a second response to one request: never read as anyone's answer
        self._names.clear()
        self._values.clear()

    def on_status(self, status: bytes) -> None:
        if self.response is not None and not self._finals:
            self.response.reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._names.append(name)
        self._values.append(value)

    def on_headers_complete(self) -> None:
        code = self.parser.get_status_code()
        response = self.response
        if 100 <= code < 200 and code != 101:
            self._interim = True
            return
        self._finals += 1
        if self._finals > 1 or response is None:
            self.dirty = True
            return
        headers = response.headers
        for name, value in zip(self._names, self._values):
            key = name.decode("latin-1").lower()
            if key not in headers:
                headers[key] = value.decode("latin-1")
        response.status = code
        response.at = self._at
        if "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "").lower():
            self._until_close = code not in (204, 304)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            response._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            response._decoder = zlib.decompressobj()
        elif encoding != "identity":
            response._fail(BadResponse(f"malformed HTTP body: Content-Encoding {encoding!r} is not supported",
                                       status=code))
        if not response._head.done():
            response._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if not self._interim and self._finals == 1:
            self._pieces.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
        elif self._finals == 1:
            self._complete = True
            # Asked now: llhttp forgets the message's flags once it starts on the next one.
            self.keep_alive = self.parser.should_keep_alive() and not self._until_close

    # ---- used by the client ----------------------------------------------------------------

    def send(self, head: bytes, body: bytes | None) -> WireResponse:
        response = WireResponse(self)
        self.response = response
        self.requests += 1
        self._finals = 0
        self._complete = self._interim = self._until_close = False
        self.keep_alive = False
        self.transport.write(head + body if body else head)
        return response

    def done(self, response: WireResponse) -> None:
        """The response's reader is finished with it: back to the pool when nothing can go wrong."""
        reusable = response.complete and self.keep_alive and not self.dirty and not self.closed
        if not reusable:
            self._close()
        self.response = None
        self.idle_since = time.monotonic()
        if self.client is not None:
            self.client._release(self, reusable)

    def reusable(self) -> bool:
        if self.closed or self.dirty or time.monotonic() - self.idle_since > _KEEPALIVE_S:
            return False
        return not socket_readable(self.transport)

    def _broken(self, response: WireResponse, why: str) -> None:
        self.dirty = True
        where = "body" if response._head.done() else "response"
        text = f"malformed HTTP body: {why}" if where == "body" else f"invalid HTTP response: {why}"
        response._fail(BadResponse(text, status=response.status or None))

    def _refuse(self) -> None:
        self.dirty = True
        self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
