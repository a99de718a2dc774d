"""The simulated provider server: every registered protocol (OpenAI, Anthropic, Gemini,
Ollama; see protocols/) on one aiohttp.web port, whose models behave (and misbehave) as their
Behaviour says.

The pacing, the seeding and every fault mode are written here once; a protocol only supplies
the bytes (protocols/base.py). Endpoints: each protocol's routes, GET / (a short index), and the
control endpoints that change the fleet while it serves (so a watcher can see a provider go down
and come back): POST /_sim/models/{name} with a JSON object of behaviour settings (the fleet
file's keys; `{}` is the default behaviour), and POST /_sim/reload to re-read the fleet file the
server was started from.
Every request that never ends on its own (hang, trickle, endless) ends when the client goes
away (handler cancellation) or when the server closes (its handlers are cancelled first, so
closing never waits on them).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

from aiohttp import web

from . import protocols
from .behaviour import MID_STREAM, Behaviour, BehaviourError, Fault
from .fleet import Fleet
from .plan import make_plan
from .protocols.base import (
    CHALLENGE_PAGE,
    CUT_OFF,
    INVALID_UTF8,
    JSON_CONTENT_TYPE,
    Context,
    Incoming,
    Protocol,
    Reply,
    RequestError,
)

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
        fleet_path: str | None = None,
        *,
        worker: int = 0,
        workers: int = 1,
    ) -> None:
        """`worker` of `workers` processes serving one port (SO_REUSEPORT; see background.py):
        each numbers its requests worker, worker + workers, ... so no two draw the same seeded
        randomness, and the control endpoints, which could reach only one of them, refuse."""
        if not 0 <= worker < workers:
            raise ValueError(f"worker {worker} is not one of {workers}")
        self.fleet = fleet if fleet is not None else Fleet()
        self.fleet_path = fleet_path
        self.worker, self.workers = worker, workers
        self.host = host
        self.port = port
        self.seed = seed if seed is not None else self.fleet.seed
        self.requests = 0  # chat requests accepted (all protocols)
        self._counters: Counter[str] = Counter()  # per model: seeds each request's randomness
        self._handlers: set[asyncio.Task[object]] = set()
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (`.../v1`); `url_for(protocol)` gives the others'."""
        return self.root_url + "/v1"

    def url_for(self, protocol: str) -> str:
        """The base URL a client of `protocol` (openai, anthropic, gemini, ollama) uses."""
        return protocols.base_url(self.root_url, protocol)

    @property
    def active(self) -> int:
        """Requests being served right now."""
        return len(self._handlers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        self._add_protocol_routes(app)
        app.router.add_post("/_sim/models/{name}", self._set_model)
        app.router.add_post("/_sim/reload", self._reload)
        # handler_cancellation: a handler whose client went away is cancelled, so "forever"
        # faults stop with their client. No access log: it costs time per request.
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=SHUTDOWN_GRACE_S)
        await runner.setup()
        try:
            sock = _listen(self.host, self.port, reuse_port=self.workers > 1)
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

    # ---- routing ---------------------------------------------------------------------------

    def _add_protocol_routes(self, app: web.Application) -> None:
        """Every registered protocol's routes; a path several protocols share (GET /v1/models)
        goes to the one whose marker headers the request carries (protocols.choose)."""
        sharing: dict[tuple[str, str, str], list[Protocol]] = {}
        for protocol in protocols.registered():
            for route in protocol.routes:
                sharing.setdefault((route.method, route.path, route.action), []).append(protocol)
        actions = {"chat": self._chat, "models": self._models}
        for (method, path, action), found in sharing.items():
            app.router.add_route(method, path, _bind(actions[action], tuple(found)))

    # ---- small endpoints -------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        doc = {"rollcall_sim": True, "base_url": self.base_url, "seed": self.seed,
               "protocols": {p.name: {"base_url": self.url_for(p.name),
                                      "routes": [f"{r.method} {r.path}" for r in p.routes]}
                             for p in protocols.registered()},
               "models": {name: b.describe() for name, b in self.fleet.models.items()},
               "per_request_models": "sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream"}
        return web.json_response(doc)

    async def _models(self, protocol: Protocol, request: web.Request) -> web.Response:
        return web.Response(body=protocol.models(self.fleet.names), content_type=JSON_CONTENT_TYPE)

    # ---- changing the fleet while serving -------------------------------------------------

    def set_behaviour(self, name: str, behaviour: Behaviour) -> None:
        """Serve `name` with `behaviour` from the next request on (adds the model if new)."""
        self.fleet = Fleet({**self.fleet.models, name: behaviour}, seed=self.fleet.seed)

    def reload(self) -> Fleet:
        """Re-read the fleet file (FleetError if it cannot be used; the old fleet stays)."""
        from .fleet import FleetError, load_fleet

        if not self.fleet_path:
            raise FleetError("this simulator was not started from a fleet file")
        self.fleet = load_fleet(self.fleet_path)
        return self.fleet

    def _shared(self) -> web.Response | None:
        """A control request to one of several processes would change only that one: refused."""
        if self.workers == 1:
            return None
        return _control_error(409, f"this simulator serves from {self.workers} processes (--workers); the "
                              "control endpoints need a single process (--workers 1)")

    async def _set_model(self, request: web.Request) -> web.Response:
        from .behaviour import from_mapping

        import json

        refused = self._shared()
        if refused is not None:
            return refused
        name = request.match_info["name"]
        try:
            body = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _control_error(400, "the body must be a JSON object of behaviour settings")
        if not isinstance(body, dict):
            return _control_error(400, "the body must be a JSON object of behaviour settings")
        try:
            behaviour = from_mapping(body, f"model {name!r}")
            self.set_behaviour(name, behaviour)
        except (BehaviourError, ValueError) as exc:
            return _control_error(400, str(exc))
        return web.json_response({"model": name, "behaviour": behaviour.describe()})

    async def _reload(self, request: web.Request) -> web.Response:
        from .fleet import FleetError

        refused = self._shared()
        if refused is not None:
            return refused
        try:
            fleet = self.reload()
        except FleetError as exc:
            return _control_error(400, str(exc))
        return web.json_response({"models": {name: b.describe() for name, b in fleet.models.items()}})

    # ---- chat requests ---------------------------------------------------------------------

    async def _chat(self, protocol: Protocol, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await self._complete(protocol, request)
        except ConnectionError:
            # The client went away mid-write; nothing to tell it.
            return web.Response(status=499)
        finally:
            self._handlers.discard(task)

    async def _complete(self, protocol: Protocol, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        incoming = Incoming(await request.read(), request.match_info, request.query, request.headers)
        try:
            chat = protocol.parse(incoming)
        except RequestError as exc:
            return _reply(protocol.error(exc.status, exc.message, **exc.detail))
        model = chat.model
        try:
            behaviour = self.fleet.behaviour_for(model)
        except BehaviourError as exc:
            return _reply(protocol.error(400, str(exc), param="model"))
        if behaviour is None:
            return _reply(protocol.unknown_model(model))

        request_no = self._counters[model] * self.workers + self.worker
        self._counters[model] += 1
        self.requests += 1
        plan = make_plan(behaviour, model, request_no, self.seed, chat.max_tokens)
        ctx = Context(plan, f"{_ID_PREFIX}{next(_ids):x}", time.time(), arrived, chat.prompt_tokens,
                      chat.include_usage, chat.api_key if behaviour.echo_key else None)
        call = _Call(request, protocol, ctx, behaviour)
        return await (call.stream() if chat.stream else call.whole())


# Response ids: unique per process without a uuid per request.
_ID_PREFIX = os.urandom(6).hex()
_ids = itertools.count(1)


def _bind(serve: Callable[[Protocol, web.Request], Awaitable[web.StreamResponse]],
          found: tuple[Protocol, ...]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for one path: its protocol's, or the chosen one's when shared."""
    if len(found) == 1:
        (protocol,) = found

        async def handler(request: web.Request) -> web.StreamResponse:
            return await serve(protocol, request)
    else:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await serve(protocols.choose(found, request.headers, request.query), request)
    return handler


def _reply(reply: Reply, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, headers={**(headers or {}), **reply.headers},
                        content_type=reply.content_type, charset=reply.charset)


class _Call:
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
        return _reply(self.protocol.error(status, key=self.key, retry_after_s=self.behaviour.retry_after_s),
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


def _control_error(status: int, message: str) -> web.Response:
    """An error from a control endpoint (`/_sim/...`): OpenAI's error shape, whatever the protocol."""
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}}, status=status)


def bound_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A socket bound to (host, port), not yet listening; port 0 picks a free one. With
    `reuse_port`, other processes may bind the same port (SO_REUSEPORT) and the kernel spreads
    incoming connections over those that listen."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening socket, so the real port is known before serving (port 0 picks a free one)."""
    sock = bound_socket(host, port, reuse_port=reuse_port)
    try:
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
