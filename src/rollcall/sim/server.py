"""The simulated provider server: an OpenAI-compatible HTTP API on aiohttp.web whose models
behave (and misbehave) as their Behaviour says.

Endpoints: GET /v1/models, POST /v1/chat/completions (streamed or not), GET / (a short index).
Every request that never ends on its own (hang, trickle, endless) ends when the client goes
away (handler cancellation) or when the server closes (its handlers are cancelled first, so
closing never waits on them).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import struct
import time
import os
from collections import Counter
from collections.abc import Iterator
from types import TracebackType

from aiohttp import web

from . import wire
from .behaviour import MID_STREAM, Behaviour, BehaviourError, Fault
from .fleet import Fleet
from .plan import Plan, make_plan

TRICKLE_INTERVAL_S = 0.1  # one byte this often: enough to defeat read timeouts, never an event
BATCH_TOKENS = 256  # most tokens put in one write when several are due at once
SHUTDOWN_GRACE_S = 2.0  # bound on waiting for cancelled handlers when the server closes
BACKLOG = 4096  # thousands of clients connect at once in benchmarks; a short queue adds SYN retries


class SimServer:
    """`async with SimServer(fleet) as server:` serves on `server.base_url` until the block ends."""

    def __init__(
        self,
        fleet: Fleet | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
    ) -> None:
        self.fleet = fleet if fleet is not None else Fleet()
        self.host = host
        self.port = port
        self.seed = seed if seed is not None else self.fleet.seed
        self.requests = 0  # chat completion requests accepted
        self._counters: Counter[str] = Counter()  # per model: seeds each request's randomness
        self._handlers: set[asyncio.Task[object]] = set()
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def active(self) -> int:
        """Requests being served right now."""
        return len(self._handlers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        # handler_cancellation: a handler whose client went away is cancelled, so "forever"
        # faults stop with their client. No access log: it costs time per request.
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=SHUTDOWN_GRACE_S)
        await runner.setup()
        try:
            sock = _listen(self.host, self.port)
            self.port = sock.getsockname()[1]
            await web.SockSite(runner, sock, backlog=BACKLOG).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def close(self) -> None:
        """Stop listening, end every open request, release the port. Never waits long."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        handlers = set(self._handlers)
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.wait(handlers, timeout=SHUTDOWN_GRACE_S)
        await runner.cleanup()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ---- small endpoints -------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        doc = {"rollcall_sim": True, "base_url": self.base_url, "seed": self.seed,
               "models": {name: b.describe() for name, b in self.fleet.models.items()},
               "per_request_models": "sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream"}
        return web.json_response(doc)

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "rollcall-sim"}
                for name in self.fleet.names]
        return web.json_response({"object": "list", "data": data})

    # ---- chat completions ------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await self._complete(request)
        except ConnectionError:
            # The client went away mid-write; nothing to tell it.
            return web.Response(status=499)
        finally:
            self._handlers.discard(task)

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "you must provide a model parameter", param="model")
        try:
            behaviour = self.fleet.behaviour_for(model)
        except BehaviourError as exc:
            return _error(400, str(exc), param="model")
        if behaviour is None:
            return _error(404, f"The model `{model}` does not exist or you do not have access to it.",
                          code="model_not_found", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages must be a non-empty array", param="messages")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
            return _error(400, "max_tokens must be a positive integer", param="max_tokens")
        stream = body.get("stream") is True
        options = body.get("stream_options")
        include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True

        request_no = self._counters[model]
        self._counters[model] += 1
        self.requests += 1
        plan = make_plan(behaviour, model, request_no, self.seed, max_tokens)
        call = _Call(request, plan, behaviour, arrived,
                     prompt_tokens=_prompt_tokens(messages), include_usage=include_usage)
        return await (call.stream() if stream else call.whole())


# Response ids: unique per process without a uuid per request.
_ID_PREFIX = os.urandom(6).hex()
_ids = itertools.count(1)


class _Call:
    """One chat completion being answered according to its Plan."""

    def __init__(self, request: web.Request, plan: Plan, behaviour: Behaviour, arrived: float, *,
                 prompt_tokens: int, include_usage: bool) -> None:
        self.request = request
        self.plan = plan
        self.behaviour = behaviour
        # Huge answers go as fast as the socket takes them.
        rate = 0.0 if plan.fault is Fault.HUGE else behaviour.tokens_per_s
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.arrived = arrived
        self.prompt_tokens = prompt_tokens
        self.include_usage = include_usage
        self.id = f"chatcmpl-{_ID_PREFIX}{next(_ids):x}"
        self.created = int(time.time())
        self.headers = {
            "X-Request-Id": self.id,
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
            return web.Response(status=status, body=wire.CHALLENGE_PAGE, headers=headers,
                                content_type="text/html", charset="utf-8")
        headers = dict(self.headers)
        if self.behaviour.retry_after_s is not None:
            headers["Retry-After"] = str(max(0, round(self.behaviour.retry_after_s)))
        return web.Response(status=status, body=wire.error_body(status), headers=headers,
                            content_type=wire.JSON_CONTENT_TYPE)

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
        plan, fault = self.plan, self.plan.fault
        response = web.StreamResponse(status=200, headers={
            **self.headers, "Content-Type": wire.SSE_CONTENT_TYPE, "Cache-Control": "no-cache",
        })
        await response.prepare(self.request)  # headers leave now; the first token comes later
        if fault is Fault.TRICKLE:
            await _trickle(response, b": ", b".")
        chunks = wire.Chunks(plan, self.id, self.created)
        first_at = self.arrived + plan.ttft_s
        await self._sleep_until(first_at)
        total = len(plan.reasoning) + len(plan.content)
        events = chunks.tokens(endless=fault is Fault.ENDLESS)
        if fault is Fault.ENDLESS:
            await self._pace(response, events, None, 0, first_at, lead=chunks.role())  # ends by cancellation
            return response
        if fault in MID_STREAM:
            cut = len(plan.reasoning) + min(self.behaviour.fault_after, len(plan.content))
            sent = await self._pace(response, events, cut, 0, first_at, lead=chunks.role())
            if fault is Fault.RESET_MID_STREAM:
                await response.drain()
                _abort(self.request, reset=True)
                return response
            if fault is Fault.ERROR_EVENT:
                await response.write_eof(chunks.error_event())
                return response
            if fault is Fault.ERROR_CHUNK:
                await response.write_eof(chunks.error_chunk() + wire.DONE)
                return response
            await response.write(chunks.invalid_json() if fault is Fault.INVALID_JSON else chunks.invalid_utf8())
            await self._pace(response, events, total - sent, sent, first_at)
        else:
            await self._pace(response, events, total, 0, first_at, lead=chunks.role())
        tail = chunks.finish()
        if self.include_usage:
            tail += chunks.usage(self.prompt_tokens)
        if fault is not Fault.NO_DONE:
            tail += wire.DONE
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
            response = web.StreamResponse(status=200, headers={**self.headers, "Content-Type": wire.JSON_CONTENT_TYPE})
            await response.prepare(self.request)
            if fault is Fault.TRICKLE:
                await _trickle(response, b"", b" ")
            first_at = self.arrived + plan.ttft_s
            await self._sleep_until(first_at)
            head = wire.completion_head(plan, self.id, self.created)
            words = itertools.cycle(plan.content or (b" ...",))
            await self._pace(response, words, None, 0, first_at, lead=head)  # ends by cancellation
            return response
        tokens = len(plan.reasoning) + len(plan.content)
        if fault is not Fault.HUGE and tokens:
            await self._sleep_until(self.arrived + plan.ttft_s + (tokens - 1) * self.interval)
        else:
            await self._sleep_until(self.arrived + plan.ttft_s)
        headers = {**self.headers, "Content-Type": wire.JSON_CONTENT_TYPE}
        if fault in (Fault.ERROR_EVENT, Fault.ERROR_CHUNK):
            return web.Response(status=200, body=wire.error_body(500), headers=headers)
        body = wire.completion(plan, self.id, self.created, self.prompt_tokens,
                               utf8_ok=fault is not Fault.INVALID_UTF8)
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


def _error(status: int, message: str, *, code: str | None = None, param: str | None = None) -> web.Response:
    return web.Response(status=status, body=wire.error_body(status, message, code=code, param=param),
                        content_type=wire.JSON_CONTENT_TYPE)


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


def _prompt_tokens(messages: list[object]) -> int:
    # A rough count (about four characters a token) is all a simulator needs to report.
    chars = sum(len(m.get("content") or "") for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str))
    return max(1, round(chars / 4))


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, so the real port is known before serving (port 0 picks a free one)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
