"""A tiny stdlib HTTP server on loopback (http.server, one thread per request), for tests that
need well-formed answers from a plain function beside a `rollcall` subprocess, with each request
recorded. For malformed or unsolicited bytes use raw_http.serve_raw."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (method, path with query, body) -> (status, content type, body)
Answer = Callable[[str, str, bytes], tuple[int, str, bytes]]


@dataclass
class RawServer:
    base: str
    seen: list[str] = field(default_factory=list)  # "METHOD /path?query", in arrival order


@contextmanager
def raw_server(answer: Answer) -> Iterator[RawServer]:
    state: list[RawServer] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state[0].seen.append(f"{self.command} {self.path}")
            status, content_type, payload = answer(self.command, self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _reply  # noqa: N815 - the stdlib's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(RawServer(f"http://127.0.0.1:{server.server_port}"))
    thread = threading.Thread(target=server.serve_forever, name="raw-http", daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
