"""Every fault mode on every simulator protocol, over real loopback sockets, read as raw bytes:
the same Behaviour fails the same way in OpenAI's, Anthropic's, Gemini's and Ollama's words.
(tests/sim/test_sim.py holds the OpenAI-only details; this file the cross-protocol contract.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sim_clients import BOUND_S, CLIENTS, IDS, KEY, Client

from rollcall.sim import Behaviour, Fleet, SimServer
from rollcall.sim.behaviour import HUGE_TOKENS

FLEET = Fleet({
    "fast": Behaviour(ttft_s=0, tokens_per_s=0, answer_tokens=12),
    "thinker": Behaviour(ttft_s=0, tokens_per_s=0, answer_tokens=5, reasoning_tokens=4),
    "fixed": Behaviour(ttft_s=0, tokens_per_s=0, text="one two three"),
})
ANSWER_3 = "Hello! I am"  # the first three tokens of every filler answer

# What each protocol calls each error status: the error `type` (OpenAI, Anthropic), the
# google.rpc status (Gemini); Ollama's errors are bare strings.
STATUS_NAMES = {
    "openai": {401: "invalid_request_error", 403: "permission_error", 429: "requests", 500: "server_error",
               503: "server_error", 529: "server_error"},
    "anthropic": {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error", 500: "api_error",
                  503: "api_error", 529: "overloaded_error"},
    "gemini": {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
               503: "UNAVAILABLE", 529: "INTERNAL"},
    "ollama": dict.fromkeys((401, 403, 429, 500, 503, 529), "error"),
}
# Each protocol's words for: the answer ended, max_tokens cut it, a safety stop, a blocked prompt.
STOP_WORDS = {
    "openai": ("stop", "length", "content_filter", "content_filter"),
    "anthropic": ("end_turn", "max_tokens", "refusal", "refusal"),
    "gemini": ("STOP", "MAX_TOKENS", "SAFETY", "blocked:SAFETY"),
    "ollama": ("stop", "length", "stop", "stop"),
}

protocol = pytest.mark.parametrize("client", CLIENTS, ids=IDS)


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(FLEET, seed=1) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def wait_idle(server: SimServer) -> None:
    async with asyncio.timeout(BOUND_S):
        while server.active:
            await asyncio.sleep(0.01)


async def wait_active(server: SimServer, n: int) -> None:
    async with asyncio.timeout(BOUND_S):
        while server.active < n:
            await asyncio.sleep(0.01)


# ---- answers -------------------------------------------------------------------------------

@protocol
async def test_stream_answers_and_ends(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    status, headers, raw = await client.fetch(session, server, "fast")
    assert status == 200 and headers["X-Sim-Fault"] == "none"
    docs = client.docs(raw)
    assert client.text(docs).startswith("Hello! I am a simulated model")
    assert client.kinds(docs) == ["content"] * 12  # one event per token
    assert client.ended(raw)
    assert client.finish_reason(docs) == STOP_WORDS[client.name][0]
    assert client.output_tokens(docs) == 12


@protocol
async def test_whole_reply(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    status, headers, raw = await client.fetch(session, server, "fixed", stream=False)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert client.whole_text(json.loads(raw)) == "one two three"


@protocol
async def test_reasoning_comes_first(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "thinker")
    docs = client.docs(raw)
    assert client.kinds(docs) == ["reasoning"] * 4 + ["content"] * 5
    assert client.text(docs, "reasoning").startswith("The user asks")
    assert client.output_tokens(docs) == 9 and client.ended(raw)
    _, _, whole = await client.fetch(session, server, "thinker", stream=False)
    assert client.whole_text(json.loads(whole), "reasoning").startswith("The user asks")
    assert client.whole_text(json.loads(whole)) == client.text(docs)


@protocol
async def test_max_tokens_cuts_the_answer(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "fast", max_tokens=3)
    docs = client.docs(raw)
    assert client.text(docs) == ANSWER_3
    assert client.finish_reason(docs) == STOP_WORDS[client.name][1]


@protocol
async def test_empty_answer(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "sim:fault=empty,ttft=0")
    docs = client.docs(raw)
    assert client.text(docs) == "" and client.output_tokens(docs) == 0 and client.ended(raw)
    _, _, whole = await client.fetch(session, server, "sim:fault=empty,ttft=0", stream=False)
    assert client.whole_text(json.loads(whole)) == ""


@protocol
async def test_no_done_leaves_out_only_the_end_marker(client: Client, server: SimServer,
                                                      session: aiohttp.ClientSession) -> None:
    _, headers, raw = await client.fetch(session, server, "sim:fault=no_done,tokens=4,tps=0,ttft=0")
    assert headers["X-Sim-Fault"] == "no_done"
    assert client.text(client.docs(raw)) == "Hello! I am a"
    assert not client.ended(raw)
    _, _, complete = await client.fetch(session, server, "sim:tokens=4,tps=0,ttft=0")
    assert client.ended(complete) and client.text(client.docs(complete)) == "Hello! I am a"


@protocol
async def test_huge_answer(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "sim:fault=huge,ttft=0")
    frames = client.frames(raw)  # one a token, plus a few for the start and the end
    assert HUGE_TOKENS <= len(frames) <= HUGE_TOKENS + 6 and client.ended(raw)
    assert client.kinds([json.loads(f) for f in frames[-HUGE_TOKENS // 1000:]]).count("content") > 200
    _, _, whole = await client.fetch(session, server, "sim:fault=huge,ttft=0", stream=False)
    assert len(client.whole_text(json.loads(whole))) > 1_000_000


# ---- whole-request faults ------------------------------------------------------------------

@protocol
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("status", [401, 403, 429, 500, 503, 529])
async def test_status_faults(client: Client, server: SimServer, session: aiohttp.ClientSession,
                             status: int, stream: bool) -> None:
    got, headers, raw = await client.fetch(session, server, f"sim:fault={status},ttft=0", stream=stream)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    kind, message = client.error_of(json.loads(raw))
    assert kind == STATUS_NAMES[client.name][status] and message
    assert KEY not in raw.decode()  # only behaviours with echo_key quote the key


@protocol
async def test_rate_limit_says_when_to_retry(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, headers, raw = await client.fetch(session, server, "sim:status=429,retry_after=30,ttft=0")
    if client.name == "gemini":  # Gemini says it in the body, as a google.rpc.RetryInfo detail
        assert "Retry-After" not in headers
        (detail,) = json.loads(raw)["error"]["details"]
        assert detail == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    else:
        assert headers["Retry-After"] == "30"
    _, headers, raw = await client.fetch(session, server, "sim:status=500,ttft=0")
    assert "Retry-After" not in headers and "details" not in raw.decode()


@protocol
@pytest.mark.parametrize("status", [200, 403])
async def test_html_challenge(client: Client, server: SimServer, session: aiohttp.ClientSession, status: int) -> None:
    got, headers, raw = await client.fetch(session, server, f"sim:fault=html,status={status},ttft=0")
    assert got == status and headers["Content-Type"].startswith("text/html")
    assert b"<title>Just a moment...</title>" in raw


@protocol
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_drop_closes_before_any_response(client: Client, server: SimServer, session: aiohttp.ClientSession,
                                               stream: bool) -> None:
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.fetch(session, server, "sim:fault=drop,ttft=0", stream=stream)


@protocol
async def test_hang_sends_nothing_until_the_client_leaves(client: Client, server: SimServer,
                                                          session: aiohttp.ClientSession) -> None:
    url, headers, body = client.request(server, "sim:fault=hang")
    request = asyncio.ensure_future(session.post(url, json=body, headers=headers))
    await wait_active(server, 1)
    done, _ = await asyncio.wait({request}, timeout=0.3)
    assert not done  # no status line, no headers
    request.cancel()
    await asyncio.wait({request})
    await wait_idle(server)


# ---- mid-stream faults ---------------------------------------------------------------------

@protocol
async def test_reset_mid_stream(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    url, headers, body = client.request(server, "sim:fault=reset_mid_stream,after=3,tokens=10,tps=0,ttft=0")
    received = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with asyncio.timeout(BOUND_S):
            async with session.post(url, json=body, headers=headers) as r:
                assert r.status == 200
                async for chunk in r.content.iter_any():
                    received += chunk
    assert client.text(client.docs(received)) == ANSWER_3  # exactly the 3 tokens before the reset
    assert not client.ended(received)
    with pytest.raises(aiohttp.ClientPayloadError):
        await client.fetch(session, server, "sim:fault=reset_mid_stream,ttft=0,tps=0", stream=False)


@protocol
async def test_invalid_json_event(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "sim:fault=invalid_json,after=2,tokens=5,tps=0,ttft=0")
    good, bad = [], []
    for frame in client.frames(raw):
        try:
            good.append(json.loads(frame))
        except ValueError:
            bad.append(frame)
    assert len(bad) == 1 and bad[0].endswith(b"this chunk is cut off")
    assert client.text(good) == "Hello! I am a simulated"  # the other tokens all arrive
    assert client.ended(raw)  # and the stream ends as usual
    _, _, whole = await client.fetch(session, server, "sim:fault=invalid_json,ttft=0,tps=0", stream=False)
    with pytest.raises(ValueError):
        json.loads(whole)


@protocol
async def test_invalid_utf8(client: Client, server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "sim:fault=invalid_utf8,after=2,tokens=5,tps=0,ttft=0")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert client.ended(raw)
    _, _, whole = await client.fetch(session, server, "sim:fault=invalid_utf8,ttft=0,tps=0", stream=False)
    with pytest.raises(UnicodeDecodeError):
        whole.decode("utf-8")


@protocol
@pytest.mark.parametrize("fault", ["error_event", "error_chunk"])
async def test_error_mid_stream(client: Client, server: SimServer, session: aiohttp.ClientSession, fault: str) -> None:
    status, _, raw = await client.fetch(session, server, f"sim:fault={fault},after=2,tokens=5,tps=0,ttft=0")
    assert status == 200
    docs = client.docs(raw)
    errors = [d for d in docs if client.is_error(d)]
    assert len(errors) == 1
    kind, _ = client.error_of(errors[0])
    assert kind == STATUS_NAMES[client.name][500]
    assert client.text(docs[:docs.index(errors[0])]) == "Hello! I"
    # The stream ends at the error; OpenRouter-style error chunks are followed by [DONE].
    assert client.ended(raw) == (fault == "error_chunk" and client.name == "openai")
    status, _, whole = await client.fetch(session, server, f"sim:fault={fault},ttft=0", stream=False)
    assert status == 200 and client.error_of(json.loads(whole))[0] == STATUS_NAMES[client.name][500]


@protocol
async def test_error_event_takes_the_behaviours_status(client: Client, server: SimServer,
                                                       session: aiohttp.ClientSession) -> None:
    # Anthropic's documented mid-stream error is overloaded_error (what a 529 is called).
    _, _, raw = await client.fetch(session, server, "sim:fault=error_event,status=529,after=1,tps=0,ttft=0")
    (error,) = [d for d in client.docs(raw) if client.is_error(d)]
    assert client.error_of(error)[0] == STATUS_NAMES[client.name][529]


# ---- "forever" modes end with their client -------------------------------------------------

@protocol
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_trickle_sends_bytes_but_never_an_event(client: Client, server: SimServer,
                                                      session: aiohttp.ClientSession, stream: bool) -> None:
    url, headers, body = client.request(server, "sim:fault=trickle", stream=stream)
    async with asyncio.timeout(BOUND_S):
        async with session.post(url, json=body, headers=headers) as r:
            assert r.status == 200
            got = b""
            while len(got) < 4:
                got += await r.content.read(1)
            assert set(got) <= set(b": .\n") and b"data" not in got and b"{" not in got
            r.close()
    await wait_idle(server)


@protocol
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_endless_never_finishes(client: Client, server: SimServer, session: aiohttp.ClientSession,
                                      stream: bool) -> None:
    url, headers, body = client.request(server, "sim:fault=endless,tokens=5,tps=2000,ttft=0", stream=stream)
    async with asyncio.timeout(BOUND_S):
        async with session.post(url, json=body, headers=headers) as r:
            got = b""
            while got.count(b"Hello!") < 4:  # the 5-token answer came round four times
                got += await r.content.readany()
            r.close()
    if stream:
        assert not client.ended(got[:got.rfind(b"\n") + 1])
    await wait_idle(server)


# ---- keys, safety stops, cold loads --------------------------------------------------------

@protocol
async def test_echo_key_quotes_the_key_in_errors(client: Client, server: SimServer,
                                                 session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "sim:status=401,echo_key=true,ttft=0")
    assert KEY in client.error_of(json.loads(raw))[1]
    _, _, raw = await client.fetch(session, server, "sim:fault=error_event,echo_key=1,after=1,tps=0,ttft=0")
    (error,) = [d for d in client.docs(raw) if client.is_error(d)]
    assert KEY in client.error_of(error)[1]


@protocol
async def test_filtered_stops_early_for_safety(client: Client, server: SimServer,
                                              session: aiohttp.ClientSession) -> None:
    _, _, raw = await client.fetch(session, server, "sim:fault=filtered,after=3,tokens=10,tps=0,ttft=0")
    docs = client.docs(raw)
    assert client.text(docs) == ANSWER_3
    assert client.finish_reason(docs) == STOP_WORDS[client.name][2] and client.ended(raw)


@protocol
async def test_blocked_prompt_answers_nothing(client: Client, server: SimServer,
                                             session: aiohttp.ClientSession) -> None:
    status, _, raw = await client.fetch(session, server, "sim:fault=blocked,reasoning=3,ttft=0")
    docs = client.docs(raw)
    assert status == 200 and client.kinds(docs) == []
    assert client.finish_reason(docs) == STOP_WORDS[client.name][3] and client.ended(raw)


@protocol
async def test_cold_load_delays_only_the_first_request(client: Client, server: SimServer,
                                                       session: aiohttp.ClientSession) -> None:
    model = "sim:load=0.25,ttft=0.01,tokens=2,tps=0"
    _, first, raw = await client.fetch(session, server, model)
    _, second, _ = await client.fetch(session, server, model)
    assert float(first["X-Sim-TTFT"]) == pytest.approx(0.26)
    assert float(second["X-Sim-TTFT"]) == pytest.approx(0.01)
    assert client.ended(raw)
