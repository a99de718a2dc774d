"""A raw HTTP/1.1 server on loopback, on its own thread and event loop: for behaviour no real
server library would produce (extra responses, echoed headers, malformed bytes).

`with serve_raw(handler) as server:` calls `await handler(request, writer)` for every request
on a connection (keep-alive: the next request is read after the handler returns); `server.port`,
`server.url(host)`. The thread's loop keeps running while the test's own loop is blocked.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int  # 1, 2, ... in the order connections were accepted


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    handler: Handler
    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def url(self, host: str | None = None, path: str = "/v1") -> str:
        return f"http://{host or self.hosts[0]}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = self.connections
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, body, conn)
                self.requests.append(request)
                await self.handler(request, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextmanager
def serve_raw(handler: Handler, hosts: tuple[str, ...] = ("127.0.0.1",)) -> Iterator[RawServer]:
    server = RawServer(handler, hosts)
    ready, stop = threading.Event(), threading.Event()

    async def main() -> None:
        servers = [await asyncio.start_server(server._serve, hosts[0], 0)]
        server.port = servers[0].sockets[0].getsockname()[1]
        for host in hosts[1:]:
            servers.append(await asyncio.start_server(server._serve, host, server.port))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.01)
        for s in servers:
            s.close()
        for writer in server._writers:
            writer.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in servers:
            await s.wait_closed()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True, name="raw-http-server")
    thread.start()
    try:
        assert ready.wait(10), "the raw server did not start"
        yield server
    finally:
        stop.set()
        thread.join(10)


def json_response(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
            .encode() + body)
