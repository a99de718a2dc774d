"""A loopback HTTP server that records each request and answers with the bytes a test gives it:
for checking exactly what a kind sends, and how it reads replies the simulator does not make."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the JSON body, or None


@dataclass
class Reply:
    body: bytes | list[bytes] = b""  # a list is written part by part (a stream)
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorder:
    """`url` to send to; `replies[path]` what to answer there (a Reply or a function of the Seen)."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    replies: dict[str, Reply | Callable[[Seen], Reply]] = field(default_factory=dict)


async def serve() -> AsyncIterator[Recorder]:
    recorder = Recorder()

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        seen = Seen(request.method, request.path, dict(request.query), dict(request.headers),
                    json.loads(raw) if raw else None)
        recorder.seen.append(seen)
        reply = recorder.replies.get(request.path, Reply(b'{"error": "no reply set"}', 599))
        if callable(reply):
            reply = reply(seen)
        response = web.StreamResponse(status=reply.status, headers={"Content-Type": reply.content_type,
                                                                    **reply.headers})
        await response.prepare(request)
        for part in reply.body if isinstance(reply.body, list) else [reply.body]:
            await response.write(part)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recorder.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


def sse(*events: tuple[str | None, Any], crlf: bool = False) -> list[bytes]:
    """SSE events (name or None, JSON document), one write each."""
    end = b"\r\n" if crlf else b"\n"
    out = []
    for name, doc in events:
        head = b"event: " + name.encode() + end if name else b""
        out.append(head + b"data: " + json.dumps(doc).encode() + end + end)
    return out
