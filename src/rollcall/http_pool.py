"""The connection pool's rule: a probe's answer is the response to its own request.

HTTP/1.1 keep-alive lets a server write bytes nobody asked for: an extra response after the real
one. aiohttp parses them into the idle connection's queue, and the next request on that
connection (the next repeat, or another target on the same server) reads them as its answer.
Two checks keep the pool clean, and keep-alive for every connection that stays clean:

- `OneAnswerProtocol` counts: one final response per request. Bytes that arrive while no request
  is outstanding, or a second final response, mark the connection unsolicited; it is closed and
  what it sent is dropped.
- `CleanConnector.connect()` looks at a pooled connection before reuse: if it is marked, or
  aiohttp would not keep it (`should_close`: queued messages, an unread `_tail`), or the kernel
  holds bytes or an EOF for it that the loop has not read yet, it is closed and another (or a
  new one) is taken.

Connections are pooled by aiohttp's ConnectionKey (scheme, host, port, TLS settings, proxy), so
targets of different origins never share one. What no client can tell apart: a response that
arrives after the next request was written (a server that waits, then injects) reads as that
request's answer; it can only poison the same server's next answer.

aiohttp is imported here at module level: http.py imports this module only when it opens a session.
"""

from __future__ import annotations

import functools
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.streams import EMPTY_PAYLOAD

from .http import socket_readable


class OneAnswerProtocol(ResponseHandler):
    """aiohttp's response protocol, refusing bytes that answer no request of ours."""

    def __init__(self, loop: Any) -> None:
        super().__init__(loop)
        self.awaiting = False  # a request was sent and its final response has not ended
        self.final_responses = 0  # final (non-1xx) responses since that request
        self.used = False  # has carried a request (so it came from the pool when handed out again)
        self.unsolicited = False

    def set_response_params(self, **kwargs: Any) -> None:
        # aiohttp calls this on the connection for every request, just before writing it.
        self.awaiting = True
        self.used = True
        self.final_responses = 0
        super().set_response_params(**kwargs)

    def _response_done(self) -> None:
        self.awaiting = False

    def feed_data(self, data: Any, size: int = 0) -> None:  # one parsed response (message, payload)
        message, payload = data
        code = getattr(message, "code", 0)
        if not (100 <= code < 200 and code != 101):  # interim 1xx responses precede the real one
            self.final_responses += 1
            if self.final_responses > 1:
                self._refuse()
                return  # a second answer to one request: never queued, never read
            if payload is EMPTY_PAYLOAD or payload.is_eof():
                self._response_done()
            else:
                payload.on_eof(self._response_done)
        super().feed_data(data, size)

    def data_received(self, data: bytes) -> None:
        if data and not self.awaiting and not self.upgraded:
            self._refuse()
            return  # answers no request: never parsed, never read by anyone
        super().data_received(data)

    def _refuse(self) -> None:
        self.unsolicited = True
        self.force_close()  # closed when released, never pooled
        if not self.awaiting and self.transport is not None:
            self.transport.close()  # idle in the pool: nobody is reading it

    def reusable(self) -> bool:
        """Safe to carry the next request: nothing unsolicited, nothing unread, nothing waiting."""
        if self.unsolicited or self.should_close or not self.is_connected():
            return False
        return not socket_readable(self.transport)


class CleanConnector(aiohttp.TCPConnector):
    """A TCPConnector whose connections speak OneAnswerProtocol and are checked before reuse."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # aiohttp builds every connection's protocol with this factory (a private attribute; the
        # tests fail loudly if a future aiohttp stops using it).
        self._factory = functools.partial(OneAnswerProtocol, loop=self._loop)

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        while True:
            conn = await super().connect(req, traces, timeout)
            protocol = conn.protocol
            if not isinstance(protocol, OneAnswerProtocol) or not protocol.used or protocol.reusable():
                return conn
            conn.close()  # dirty: closed for good; the next one from the pool, or a new one
