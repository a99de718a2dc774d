"""The simulated provider server: every registered protocol (OpenAI, Anthropic, Gemini,
Ollama; see protocols/) on one aiohttp.web port, whose models behave (and misbehave) as their
Behaviour says.

This module owns the app: routing, seeding each request's Plan, the control endpoints and the
socket; answer.py answers each chat request (the pacing and every fault mode). Endpoints: each
protocol's routes, GET / (a short index), and the control endpoints that change the fleet while
it serves (so a watcher can see a provider go down and come back): POST /_sim/models/{name} with
a JSON object of behaviour settings (the fleet file's keys; `{}` is the default behaviour), and
POST /_sim/reload to re-read the fleet file the server was started from.
Every request that never ends on its own (hang, trickle, endless) ends when the client goes
away (handler cancellation) or when the server closes (its handlers are cancelled first, so
closing never waits on them).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from . import protocols
from .answer import Answer, to_response
from .behaviour import Behaviour, BehaviourError
from .fleet import Fleet
from .plan import make_plan
from .protocols.base import JSON_CONTENT_TYPE, Context, Incoming, Protocol, RequestError

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
            return to_response(protocol.error(exc.status, exc.message, **exc.detail))
        model = chat.model
        try:
            behaviour = self.fleet.behaviour_for(model)
        except BehaviourError as exc:
            return to_response(protocol.error(400, str(exc), param="model"))
        if behaviour is None:
            return to_response(protocol.unknown_model(model))

        request_no = self._counters[model] * self.workers + self.worker
        self._counters[model] += 1
        self.requests += 1
        plan = make_plan(behaviour, model, request_no, self.seed, chat.max_tokens)
        ctx = Context(plan, f"{_ID_PREFIX}{next(_ids):x}", time.time(), arrived, chat.prompt_tokens,
                      chat.include_usage, chat.api_key if behaviour.echo_key else None)
        call = Answer(request, protocol, ctx, behaviour)
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
