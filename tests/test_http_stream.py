"""The shared HTTP reader through a kind written in a few lines (what a new HTTP kind supplies:
its request, a frame mapper, how its errors read), against a loopback server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import web

from rollcall.http import BadResponse, ErrorInfo, HttpClient
from rollcall.http_stream import NDJSON, SSE, HttpRequest, error_event, parse_json
from rollcall.models import ErrorKind, ProbeResult
from rollcall.probe import run_probe
from rollcall.targets.base import Content, Event, ProbeRequest
from rollcall.targets.http_target import HttpTarget
from transports import transport  # noqa: F401  (every test over both HTTP transports)

PEERS = web.AppKey("peers", list)


class _Words:
    """A toy protocol: lines (or data events) {"w": word}, {"stop": true} ends; {"oops": ...} is an error."""

    end_marker = "stop"

    def __init__(self) -> None:
        self.finished = self.ended = False
        self.error: Exception | None = None

    def frame(self, frame: Any, at: float) -> Sequence[Event]:
        doc = parse_json(frame.data, "a word")
        if "oops" in doc:
            raise error_event(doc, read_error)
        if doc.get("stop"):
            self.finished = self.ended = True
            if doc.get("refuse"):  # keep this frame's word, then fail
                self.error = BadResponse("refused after the last word")
        return (Content(doc["w"], at),) if "w" in doc else ()

    def whole(self, body: bytes, at: float) -> Sequence[Event]:
        return (Content(" ".join(parse_json(body, "the reply")["words"]), at),)


def read_error(doc: Any) -> ErrorInfo:
    return ErrorInfo(f"oops: {doc['oops']}", doc.get("code"))


class WordsTarget(HttpTarget):
    kind = "words"
    article = "a words"

    def __init__(self, *args: Any, framing: str = NDJSON, fail_building: bool = False, **kwargs: Any) -> None:
        self.framing = framing  # type: ignore[misc]
        self.fail_building = fail_building
        super().__init__(*args, **kwargs)

    def http_request(self, request: ProbeRequest) -> HttpRequest:
        if self.fail_building:
            raise ValueError("cannot build this request")
        return self.post(self.url(f"words/{request.model}"), json.dumps({"q": request.prompt}).encode())

    def mapper(self, request: ProbeRequest) -> _Words:
        return _Words()

    def read_error(self, doc: Any) -> ErrorInfo:
        return read_error(doc)


BODIES = {
    "plain": b'{"w": "one"}\n{"w": " two"}\n{"stop": true}\n',
    "refuse": b'{"w": "one"}\n{"w": " two", "stop": true, "refuse": true}\n',
    "oops": b'{"w": "one"}\n{"oops": "slow down", "code": 429}\n',
    "cut": b'{"w": "one"}\n',
}


@pytest.fixture
async def base() -> AsyncIterator[tuple[str, list]]:
    async def words(request: web.Request) -> web.StreamResponse:
        request.app[PEERS].append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        body = BODIES[request.match_info["name"]]
        sse = request.headers["Accept"].startswith("text/event-stream")
        if sse:
            body = b"".join(b"data: " + line + b"\n\n" for line in body.splitlines())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream" if sse else "application/x-ndjson"})
        await response.prepare(request)
        await response.write(body)
        await response.write_eof()
        return response

    app = web.Application()
    app[PEERS] = []
    app.router.add_post("/words/{name}", words)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", app[PEERS]
    await runner.cleanup()


async def probe(target: WordsTarget, model: str) -> ProbeResult:
    return await run_probe(target, ProbeRequest(prompt="hi", model=model), timeout_s=10)


@pytest.mark.parametrize("framing", [NDJSON, SSE])
async def test_a_kind_is_its_request_its_mapper_and_its_errors(base: tuple[str, list], framing: str) -> None:
    url, _ = base
    client = HttpClient()
    t = WordsTarget("w", url, client=client, framing=framing)
    try:
        ok = await probe(t, "plain")
        refused = await probe(t, "refuse")
        oops = await probe(t, "oops")
        cut = await probe(t, "cut")
    finally:
        await client.aclose()
    assert ok.ok and ok.text == "one two" and ok.kind == "words"
    assert refused.error_kind is ErrorKind.BAD_RESPONSE and refused.text == "one two"  # the last word kept
    assert oops.error_kind is ErrorKind.RATE_LIMIT and "oops: slow down (code 429)" in (oops.error or "")
    assert cut.error_kind is ErrorKind.BAD_RESPONSE and "stream ended early: no stop after" in (cut.error or "")


async def test_nothing_is_built_or_sent_until_the_stream_is_read(base: tuple[str, list]) -> None:
    url, peers = base
    t = WordsTarget("w", url, fail_building=True)
    stream = t.stream(ProbeRequest(model="plain"))  # a kind's failure to build its request...
    assert peers == []
    await stream.aclose()
    result = await probe(t, "plain")  # ...is a classified failure of the probe, not a crash
    await t.aclose()
    assert result.error_kind is ErrorKind.PROVIDER_ERROR and "cannot build this request" in (result.error or "")
    assert peers == []


async def test_the_connection_is_reused_after_the_end_marker(base: tuple[str, list]) -> None:
    url, peers = base
    client = HttpClient(limit=1)
    t = WordsTarget("w", url, client=client)
    try:
        for _ in range(5):
            assert (await probe(t, "plain")).ok
    finally:
        await client.aclose()
    assert len(peers) == 5 and len(set(peers)) <= 2  # one when all goes well; five if dropped
