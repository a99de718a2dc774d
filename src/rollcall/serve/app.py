"""The web application (aiohttp.web) and its lifecycle: `serve` in the foreground, or a server on
its own thread and event loop beside a watch (`watch --listen`), so a slow page never delays a
round and a round never delays a page.

    options = ServeOptions(listen=parse_listen("127.0.0.1:8080"))
    with serve_in_thread(options, opener) as server:    # opener() opens a read connection
        server.notify()                                 # after each stored round: refresh now
        ...
    asyncio.run(serve(options, opener, stop))           # or in the foreground until `stop` is set

Every response carries the security headers; errors are one-line JSON (API, badges' JSON),
text (metrics) or a small page, never a traceback; the token (when set) guards every path but
/healthz; requests are bounded in size and query.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..redact import redact
from ..stdio import say
from . import api, pages, routes
from .auth import Guard, Listen
from .context import GUARD, PROBER, SITE, SOURCE, Problem, dumps
from .source import POLL_S, Source, StoreUnavailable

MAX_PATH_CHARS = 2048
MAX_QUERY_PARAMS = 16
MAX_QUERY_VALUE_CHARS = 512
MAX_BODY_BYTES = 16 * 1024
HANDLER_ARGS = {"max_line_size": 4096, "max_field_size": 8190}
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_METHODS = ("GET", "HEAD")
_TEXT_PATHS = ("/metrics", "/probe")


@dataclass(frozen=True)
class ServeOptions:
    listen: Listen
    token: str | None = None
    public: bool = False
    site: str = ""  # the labels of /probe's metrics
    poll_s: float = POLL_S


def _kind(path: str) -> str:
    if path.startswith("/api/") or path.endswith(".json") or path == "/healthz":
        return "json"
    if path in _TEXT_PATHS or path.endswith(".svg") or path.startswith("/static/"):
        return "text"
    return "html"


def _error(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    kind = _kind(path)
    if kind == "json":
        return web.Response(body=dumps({"error": {"status": status, "message": message}}), status=status,
                            content_type="application/json", headers=headers)
    if kind == "text":
        return web.Response(text=message + "\n", status=status, content_type="text/plain", headers=headers)
    return web.Response(text=pages.error_page(status, message, pages.root_for(path)), status=status,
                        content_type="text/html", charset="utf-8", headers=headers)


_REASONS = {401: "a token is needed: send Authorization: Bearer TOKEN or add ?token=TOKEN",
            404: "nothing here (see / for the overview, /api/v1/status for the API)",
            405: "only GET and HEAD are served here", 413: "the request is too large"}


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    response = await handler(request)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", pages.PAGE_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def errors(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    path = request.path
    try:
        return await handler(request)
    except Problem as exc:
        return _error(path, exc.status, exc.message, exc.headers)
    except StoreUnavailable as exc:
        return _error(path, 503, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(path, exc.status, _REASONS.get(exc.status, exc.reason or "error"))
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must not show a traceback, nor take the server down
        say(f"rollcall serve: error answering {request.method} {path}: {type(exc).__name__}: "
            f"{redact(str(exc).splitlines()[0] if str(exc) else '')}")
        return _error(path, 500, "internal error (the server's log says more)")


@web.middleware
async def limits(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    if request.method not in _METHODS:
        raise Problem(405, _REASONS[405], {"Allow": "GET, HEAD"})
    if len(request.raw_path) > MAX_PATH_CHARS:
        raise Problem(414, f"the URL is longer than {MAX_PATH_CHARS} characters")
    if request.content_length or request.body_exists:
        raise Problem(413, "requests here carry no body")
    query = request.query
    if len(query) > MAX_QUERY_PARAMS or any(len(v) > MAX_QUERY_VALUE_CHARS for v in query.values()):
        raise Problem(400, f"at most {MAX_QUERY_PARAMS} query parameters of at most {MAX_QUERY_VALUE_CHARS} "
                           "characters each")
    return await handler(request)


@web.middleware
async def access(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    guard: Guard = request.app[GUARD]  # type: ignore[assignment]
    if not guard.allows(request.path, request.headers.get("Authorization"), request.query.get("token")):
        raise Problem(401, _REASONS[401], {"WWW-Authenticate": 'Bearer realm="rollcall"'})
    return await handler(request)


def make_app(source: Source, *, guard: Guard = Guard(), prober: Any = None, site: str = "") -> web.Application:
    app = web.Application(middlewares=[security_headers, errors, limits, access], client_max_size=MAX_BODY_BYTES,
                          handler_args=HANDLER_ARGS)
    app[SOURCE] = source
    app[GUARD] = guard
    app[PROBER] = prober
    app[SITE] = site
    api.add_routes(app)
    routes.add_routes(app)
    return app


def listen_socket(listen: Listen) -> socket.socket:
    """The bound, listening socket (port 0 picks a free one); OSError when it cannot be had."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        listen.host, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class Server:
    """A running server: its URL, the Source it reads, and notify() for writers."""

    def __init__(self, source: Source, url: str) -> None:
        self.source = source
        self.url = url

    def notify(self) -> None:
        self.source.notify()


async def serve(
    options: ServeOptions, opener: Callable[[], Any], stop: asyncio.Event, *, prober: Any = None,
    sock: socket.socket | None = None, on_ready: Callable[[Server], None] | None = None,
) -> None:
    """Serve until `stop` is set. The store is read (and the port bound, unless `sock` is given)
    before on_ready is called; StoreUnavailable or OSError otherwise."""
    source = Source(opener, poll_s=options.poll_s)
    runner: web.AppRunner | None = None
    try:
        app = make_app(source, guard=Guard(options.token, options.public), prober=prober, site=options.site)
        await source.start()  # the first snapshot, its documents and metrics rendered
        if sock is None:
            sock = listen_socket(options.listen)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        if on_ready is not None:
            on_ready(Server(source, url_of(sock)))
        await stop.wait()
    finally:
        await source.close()  # event streams end, so the runner's shutdown does not wait for them
        if runner is not None:
            await runner.cleanup()
        if prober is not None:
            await prober.aclose()
        if sock is not None:
            sock.close()


@contextmanager
def serve_in_thread(
    options: ServeOptions, opener: Callable[[], Any], *, prober: Any = None,
) -> Iterator[Server]:
    """A server on its own thread and event loop for the block's duration (the port is bound and
    the store read before the block starts; their errors are raised here)."""
    from ..app import new_event_loop

    sock = listen_socket(options.listen)  # in the caller's thread: a port in use fails right here
    ready: dict[str, Any] = {}
    started = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        state["loop"], state["stop"] = asyncio.get_running_loop(), stop

        def on_ready(server: Server) -> None:
            ready["server"] = server
            started.set()

        await serve(options, opener, stop, prober=prober, sock=sock, on_ready=on_ready)

    def run() -> None:
        loop = new_event_loop()
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through `ready`
            ready["error"] = exc
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=run, name="rollcall-serve", daemon=True)
    thread.start()
    if not started.wait(STARTUP_TIMEOUT_S):
        raise StoreUnavailable(f"the server did not start within {STARTUP_TIMEOUT_S:g} s")
    if "server" not in ready:
        sock.close()
        raise ready.get("error") or StoreUnavailable("the server did not start")
    try:
        yield ready["server"]
    finally:
        loop, stop = state.get("loop"), state.get("stop")
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass
        thread.join(STOP_TIMEOUT_S)


def run_foreground(
    options: ServeOptions, opener: Callable[[], Any], *, prober: Any = None,
    on_ready: Callable[[Server], None] | None = None,
) -> None:
    """Serve until SIGTERM, SIGINT or SIGHUP (`rollcall serve`). OSError when the port cannot be
    bound; StoreUnavailable when the store cannot be read at start."""
    from ..app import new_event_loop
    from ..stop import Abandoned, StopSignals

    sock = listen_socket(options.listen)

    async def main() -> None:
        await serve(options, opener, asyncio.Event(), prober=prober, sock=sock, on_ready=on_ready)

    with StopSignals(notice="rollcall serve: stopping; signal again to quit at once\n") as signals:
        try:
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                runner.run(signals.until_stopped(main()))
        except Abandoned:
            pass
        finally:
            sock.close()
