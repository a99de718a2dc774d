"""One chat request answered according to its Plan, in its protocol's bytes: the pacing and
every fault mode, written here once (a protocol only supplies the bytes, protocols/base.py).

Every answer that never ends on its own (hang, trickle, endless) ends when its handler is
cancelled: the client went away, or the server is closing.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time
from collections.abc import Iterator

from aiohttp import web

from .behaviour import MID_STREAM, Behaviour, Fault
from .protocols.base import (
    CHALLENGE_PAGE,
    CUT_OFF,
    INVALID_UTF8,
    JSON_CONTENT_TYPE,
    Context,
    Protocol,
    Reply,
)

TRICKLE_INTERVAL_S = 0.1  # one byte this often: enough to defeat read timeouts, never an event
BATCH_TOKENS = 256  # most tokens put in one write when several are due at once


def to_response(reply: Reply, headers: dict[str, str] | None = None) -> web.Response:
    """The aiohttp response carrying a protocol's Reply (its headers win over `headers`)."""
    return web.Response(status=reply.status, body=reply.body, headers={**(headers or {}), **reply.headers},
                        content_type=reply.content_type, charset=reply.charset)


class Answer:
    """One chat request being answered according to its Plan, in its protocol's bytes."""

    def __init__(self, request: web.Request, protocol: Protocol, ctx: Context, behaviour: Behaviour) -> None:
        self.request = request
        self.protocol = protocol
        self.plan = plan = ctx.plan
        self.frames = protocol.frames(ctx)
        self.behaviour = behaviour
        self.key = ctx.key
        # Huge answers go as fast as the socket takes them.
        rate = 0.0 if plan.fault is Fault.HUGE else behaviour.tokens_per_s
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.arrived = ctx.arrived
        self.headers = {
            **self.frames.headers,
            "X-Request-Id": protocol.id_prefix + ctx.request_id,
            # The time to first token this request was told to use, for benchmarks to compare.
            "X-Sim-TTFT": f"{plan.ttft_s:.6f}",
            "X-Sim-Request": str(plan.request_no),
            "X-Sim-Fault": str(plan.fault),
        }

    async def _sleep_until(self, at: float) -> None:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _early_fault(self) -> web.StreamResponse | None:
        """Faults decided before any body: after the planned delay, fail the whole request."""
        fault = self.plan.fault
        if fault is Fault.HANG:
            await asyncio.Event().wait()  # until the client leaves or the server closes
        if fault not in (Fault.DROP, Fault.STATUS, Fault.HTML):
            return None
        await self._sleep_until(self.arrived + self.plan.ttft_s)
        status = self.behaviour.status or 500
        if fault is Fault.DROP:
            _abort(self.request, reset=False)
            return web.Response(status=499)  # never sent: the connection is gone
        if fault is Fault.HTML:
            headers = {**self.headers, "Server": "cloudflare"}
            if status == 403:
                headers["cf-mitigated"] = "challenge"
            return web.Response(status=status, body=CHALLENGE_PAGE, headers=headers,
                                content_type="text/html", charset="utf-8")
        return to_response(self.protocol.error(status, key=self.key, retry_after_s=self.behaviour.retry_after_s),
                      self.headers)

    def _error_status(self) -> int:
        """The status an in-stream error reports: the behaviour's, else a server error."""
        return self.behaviour.status or 500

    def _events(self, endless: bool) -> Iterator[bytes]:
        """One event per token: reasoning first, then the answer (repeated forever if endless);
        the frames' switch rides with the first content token."""
        frames, plan = self.frames, self.plan
        before, after = frames.reasoning
        for token in plan.reasoning:
            yield before + token + after
        before, after = frames.content
        content = plan.content or ((b" ...",) if endless else ())
        if not content:
            return
        yield frames.switch + before + content[0] + after
        if not endless:
            for token in itertools.islice(content, 1, None):
                yield before + token + after
            return
        events = [before + token + after for token in content]
        yield from itertools.islice(itertools.cycle(events), 1, None)

    async def _pace(self, response: web.StreamResponse, events: Iterator[bytes], count: int | None,
                    sent: int, first_at: float, lead: bytes = b"") -> int:
        """Write `count` events (None: forever) at the planned rate; returns tokens sent so far.

        Token i is due at first_at + i * interval. When the loop wakes late, every token already
        due goes out in one write, so the rate holds under load and each wake-up costs one await.
        """
        interval = self.interval
        end = None if count is None else sent + count
        while end is None or sent < end:
            now = time.perf_counter()
            if interval:
                due = first_at + sent * interval
                if due > now:
                    await asyncio.sleep(due - now)
                    now = time.perf_counter()
                upto = sent + min(BATCH_TOKENS, max(1, int((now - first_at) / interval) + 1 - sent))
            else:
                upto = sent + BATCH_TOKENS
            if end is not None:
                upto = min(upto, end)
            data = b"".join(itertools.islice(events, upto - sent))
            if lead:
                data, lead = lead + data, b""
            await response.write(data)
            if not interval:
                await asyncio.sleep(0)  # unpaced: let other streams have the loop between batches
            sent = upto
        if lead:
            await response.write(lead)
        return sent

    async def stream(self) -> web.StreamResponse:
        early = await self._early_fault()
        if early is not None:
            return early
        plan, fault, frames = self.plan, self.plan.fault, self.frames
        response = web.StreamResponse(status=200, headers={
            **self.headers, "Content-Type": self.protocol.stream_content_type, "Cache-Control": "no-cache",
        })
        await response.prepare(self.request)  # headers leave now; the first token comes later
        if fault is Fault.TRICKLE:
            await _trickle(response, *self.protocol.trickle)
        first_at = self.arrived + plan.ttft_s
        await self._sleep_until(first_at)
        total = len(plan.reasoning) + len(plan.content)
        events = self._events(endless=fault is Fault.ENDLESS)
        if fault is Fault.ENDLESS:
            await self._pace(response, events, None, 0, first_at, lead=frames.start)  # ends by cancellation
            return response
        if fault in MID_STREAM:
            cut = len(plan.reasoning) + min(self.behaviour.fault_after, len(plan.content))
            sent = await self._pace(response, events, cut, 0, first_at, lead=frames.start)
            if fault is Fault.RESET_MID_STREAM:
                await response.drain()
                _abort(self.request, reset=True)
                return response
            if fault is Fault.ERROR_EVENT:
                await response.write_eof(frames.error_event(self._error_status()))
                return response
            if fault is Fault.ERROR_CHUNK:
                await response.write_eof(frames.error_chunk(self._error_status()))
                return response
            before, after = frames.content
            bad = before + CUT_OFF + frames.event_end if fault is Fault.INVALID_JSON else before + INVALID_UTF8 + after
            await response.write(bad)
            await self._pace(response, events, total - sent, sent, first_at)
        else:
            await self._pace(response, events, total, 0, first_at, lead=frames.start)
        tail = (b"" if plan.content else frames.switch) + frames.tail()
        if fault is not Fault.NO_DONE:
            tail += frames.end()
        await response.write_eof(tail)  # the tail and the end of the body in one send
        return response

    async def whole(self) -> web.StreamResponse:
        early = await self._early_fault()
        if early is not None:
            return early
        plan, fault = self.plan, self.plan.fault
        if fault in (Fault.TRICKLE, Fault.ENDLESS):
            # Headers, then a body that never completes: whitespace (valid JSON padding) for
            # trickle, an answer that never closes its string for endless.
            response = web.StreamResponse(status=200, headers={**self.headers, "Content-Type": JSON_CONTENT_TYPE})
            await response.prepare(self.request)
            if fault is Fault.TRICKLE:
                await _trickle(response, b"", b" ")
            first_at = self.arrived + plan.ttft_s
            await self._sleep_until(first_at)
            head = self.frames.whole_head()
            words = itertools.cycle(plan.content or (b" ...",))
            await self._pace(response, words, None, 0, first_at, lead=head)  # ends by cancellation
            return response
        tokens = len(plan.reasoning) + len(plan.content)
        if fault is not Fault.HUGE and tokens:
            await self._sleep_until(self.arrived + plan.ttft_s + (tokens - 1) * self.interval)
        else:
            await self._sleep_until(self.arrived + plan.ttft_s)
        headers = {**self.headers, "Content-Type": JSON_CONTENT_TYPE}
        if fault in (Fault.ERROR_EVENT, Fault.ERROR_CHUNK):
            # An error object with 200, as relays that report failures in the body send it.
            error = self.protocol.error(self._error_status(), key=self.key)
            return web.Response(status=200, body=error.body, headers=headers)
        content = b"".join(plan.content) + (INVALID_UTF8 if fault is Fault.INVALID_UTF8 else b"")
        body = self.frames.whole(content, b"".join(plan.reasoning))
        if fault is Fault.INVALID_JSON:
            body = body[: max(1, len(body) // 2)]
        if fault is Fault.RESET_MID_STREAM:
            response = web.StreamResponse(status=200, headers=headers)
            response.content_length = len(body)
            await response.prepare(self.request)
            await response.write(body[: len(body) // 2])
            await response.drain()
            _abort(self.request, reset=True)
            return response
        return web.Response(status=200, body=body, headers=headers)


async def _trickle(response: web.StreamResponse, start: bytes, byte: bytes) -> None:
    """Send bytes forever, one every TRICKLE_INTERVAL_S; only cancellation ends it."""
    if start:
        await response.write(start)
    for n in itertools.count(1):
        await asyncio.sleep(TRICKLE_INTERVAL_S)
        # In a stream, break the comment line now and then so no line grows without bound.
        await response.write(b"\n: " if start and n % 64 == 0 else byte)


def _abort(request: web.Request, *, reset: bool) -> None:
    """Close the connection at once; with reset=True the peer gets a TCP RST, not a FIN."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                # Linger 0: close() discards the send queue and answers with RST.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
    transport.abort()
