"""A probe's answer is the response to its own request: a raw loopback server that sends an extra,
unsolicited response on its keep-alive connection must not answer anyone's next probe.

The server (tests/raw_http.py) runs on its own thread and event loop, so a test can hold the
client's loop still while the server writes (bytes that reach the kernel before our loop reads them).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from raw_http import Request, serve_raw

from rollcall.http import HttpClient
from rollcall.runner import Runner
from rollcall.settings import ProbeSettings
from rollcall.targets.openai import OpenAITarget
from rollcall.testing import ScriptedTarget
from transports import transport  # noqa: F401  (every test over both HTTP transports)

INJECTED = "INJECTED"


def response(text: str, *, stream: bool) -> bytes:
    if stream:
        events = (b"data: " + json.dumps({"choices": [{"delta": {"content": text}, "finish_reason": "stop"}]}).encode()
                  + b"\n\ndata: [DONE]\n\n")
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(events), events)
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    body = json.dumps({"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def injecting(stream: bool, inject: float | None = 0.05):
    """A handler answering `answer N on connection C`, then, unless `inject` is None, an
    unsolicited extra response: in the same write (`inject=0`) or `inject` seconds later."""
    served = 0

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        served += 1
        real = response(f"answer {served} on connection {request.connection}", stream=stream)
        if inject == 0:
            writer.write(real + response(INJECTED, stream=stream))
            return
        writer.write(real)
        if inject is not None:
            await writer.drain()
            await asyncio.sleep(inject)
            writer.write(response(INJECTED, stream=stream))

    return handler


@pytest.fixture
def serve() -> Iterator:
    """serve(handler, hosts=...) starts a raw server for the test (stopped when it ends)."""
    with ExitStack() as stack:
        yield lambda handler, **kw: stack.enter_context(serve_raw(handler, **kw))


def Slow(name: str = "slow", seconds: float = 0.3) -> ScriptedTarget:  # noqa: N802
    """Another target (in-loop) that keeps the only concurrency slot for a moment."""
    return ScriptedTarget(name, models=("",), delay_s=seconds, answer="slow answer", status=None, usage=False)


def answers(run) -> dict[tuple[str, int], str]:
    return {(r.target, r.attempt): r.text or r.error for r in run.results}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_the_next_repeat_does_not_read_an_injected_response(serve, stream):
    # -j 1 with two targets interleaves the repeats: a's second probe reuses the connection after
    # the injected response arrived.
    server = serve(injecting(stream))
    client = HttpClient()
    a = OpenAITarget("a", server.url(), client=client, stream=stream)
    run = await Runner([a, Slow()], settings=ProbeSettings(repeat=2, concurrency=1, timeout_s=5)).run()
    got = answers(run)
    assert INJECTED not in got[("a", 1)] and INJECTED not in got[("a", 2)], got
    assert got[("a", 2)].startswith("answer 2 on connection 2")  # a fresh connection


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_another_target_on_the_same_server_does_not_read_it(serve, stream):
    server = serve(injecting(stream))
    client = HttpClient()
    a = OpenAITarget("a", server.url(), client=client, stream=stream)
    b = OpenAITarget("b", server.url(), client=client, stream=stream)
    run = await Runner([a, Slow(), b], settings=ProbeSettings(concurrency=1, timeout_s=5)).run()
    got = answers(run)
    assert got[("a", 1)] == "answer 1 on connection 1"
    assert got[("b", 1)] == "answer 2 on connection 2", got


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_bytes_the_loop_has_not_read_yet_are_seen_before_reuse(serve, stream):
    # The client's loop is held still (a slow result consumer) while the server's injected
    # response reaches our socket; the next repeat starts without the loop having read it.
    server = serve(injecting(stream, inject=0.02))
    client = HttpClient()
    a = OpenAITarget("a", server.url(), client=client, stream=stream)
    run = await Runner([a], settings=ProbeSettings(repeat=2, timeout_s=5), on_result=lambda _r: time.sleep(0.3)).run()
    got = answers(run)
    assert got[("a", 2)] == "answer 2 on connection 2", got


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_an_extra_response_in_the_same_write(serve, stream):
    server = serve(injecting(stream, inject=0))
    client = HttpClient()
    a = OpenAITarget("a", server.url(), client=client, stream=stream)
    run = await Runner([a, Slow()], settings=ProbeSettings(repeat=3, concurrency=1, timeout_s=5)).run()
    assert all(INJECTED not in text for text in answers(run).values()), answers(run)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_clean_connections_are_still_kept_alive(serve, stream):
    server = serve(injecting(stream, inject=None))
    client = HttpClient()
    a = OpenAITarget("a", server.url(), client=client, stream=stream)
    b = OpenAITarget("b", server.url(), client=client, stream=stream)
    run = await Runner([a, Slow(seconds=0.05), b], settings=ProbeSettings(repeat=3, concurrency=1, timeout_s=5)).run()
    assert all(r.ok for r in run.results), answers(run)
    assert server.connections == 1  # six requests, one connection


async def test_targets_of_different_origins_never_share_a_connection(serve):
    server = serve(injecting(True, inject=None), hosts=("127.0.0.1", "127.0.0.2"))
    client = HttpClient()
    one, two = (OpenAITarget(f"t{i}", server.url(host), client=client) for i, host in enumerate(server.hosts))
    run = await Runner([one, two], settings=ProbeSettings(repeat=3, concurrency=1, timeout_s=5)).run()
    assert all(r.ok for r in run.results), answers(run)
    hosts_by_connection: dict[int, set[str]] = {}
    for request in server.requests:
        hosts_by_connection.setdefault(request.connection, set()).add(request.headers["host"])
    assert len(server.requests) == 6
    assert all(len(hosts) == 1 for hosts in hosts_by_connection.values()), hosts_by_connection


def test_the_session_uses_the_checked_protocol():
    # The mechanism relies on aiohttp building protocols through the connector's factory.
    from rollcall.http_pool import CleanConnector, OneAnswerProtocol

    async def build() -> object:
        connector = CleanConnector()
        try:
            return connector._factory()
        finally:
            await connector.close()

    assert isinstance(asyncio.run(build()), OneAnswerProtocol)
