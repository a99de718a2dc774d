"""The simulator's protocol registry and each protocol's own shapes, over real loopback sockets:
routing (one port, every protocol; GET /v1/models told apart by headers), request validation
and error bodies as each service documents them, Anthropic's event order, Gemini's framing,
usage and safety fields, Ollama's NDJSON and server-side timings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sim_clients import BOUND_S, KEY, MESSAGES, AnthropicClient, GeminiClient, OllamaClient, sse_events

from rollcall.sim import Behaviour, BehaviourError, Fleet, SimServer, parse_spec, protocols
from rollcall.sim.protocols.openai import OpenAI

FLEET = Fleet({
    "fast": Behaviour(ttft_s=0, tokens_per_s=0, answer_tokens=6),
    "thinker": Behaviour(ttft_s=0, tokens_per_s=0, answer_tokens=3, reasoning_tokens=2),
    "org/model": Behaviour(ttft_s=0, tokens_per_s=0, text="slash ok"),
})
ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(FLEET, seed=1) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND_S)) as s:
        yield s


async def post(session: aiohttp.ClientSession, url: str, body: object, headers: dict[str, str] | None = None
               ) -> tuple[int, dict[str, str], Any]:
    async with session.post(url, json=body, headers=headers or {}) as r:
        raw = await r.read()
        return r.status, dict(r.headers), json.loads(raw) if r.content_type == "application/json" else raw


async def get(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> Any:
    async with session.get(url, headers=headers or {}) as r:
        assert r.status == 200
        return await r.json()


# ---- the registry and routing --------------------------------------------------------------

def test_registry_names_lookup_and_urls() -> None:
    assert protocols.names() == ("openai", "anthropic", "gemini", "ollama")
    assert protocols.get("gemini").name == "gemini"
    with pytest.raises(ValueError, match=r"unknown simulator protocol 'grpc' \(known: openai, anthropic"):
        protocols.get("grpc")
    with pytest.raises(ValueError, match="already registered"):
        protocols.register(OpenAI())
    assert protocols.base_url("http://h:1/", "openai") == "http://h:1/v1"
    assert protocols.base_url("http://h:1", "anthropic") == "http://h:1"


async def test_every_protocol_lists_the_fleet(server: SimServer, session: aiohttp.ClientSession) -> None:
    openai = await get(session, server.root_url + "/v1/models")
    assert openai["object"] == "list" and [m["id"] for m in openai["data"]] == list(FLEET.names)
    anthropic = await get(session, server.root_url + "/v1/models", ANTHROPIC_HEADERS)
    assert [m["id"] for m in anthropic["data"]] == list(FLEET.names)
    assert anthropic["data"][0]["type"] == "model" and anthropic["has_more"] is False
    for url, headers in [("/v1beta/models", {}), ("/v1/models", {"x-goog-api-key": KEY}), ("/v1/models?key=k", {})]:
        gemini = await get(session, server.root_url + url, headers)
        assert [m["name"] for m in gemini["models"]] == [f"models/{n}" for n in FLEET.names], url
        assert "generateContent" in gemini["models"][0]["supportedGenerationMethods"]
    ollama = await get(session, server.root_url + "/api/tags")
    assert [m["name"] for m in ollama["models"]] == list(FLEET.names)
    assert set(ollama["models"][0]["details"]) >= {"format", "family", "parameter_size", "quantization_level"}


async def test_index_names_every_protocols_base_url(server: SimServer, session: aiohttp.ClientSession) -> None:
    doc = await get(session, server.root_url + "/")
    assert {name: p["base_url"] for name, p in doc["protocols"].items()} == {
        name: server.url_for(name) for name in protocols.names()}
    assert "POST /v1/messages" in doc["protocols"]["anthropic"]["routes"]


class EchoOpenAI(OpenAI):
    """A third protocol-shaped plug-in: OpenAI's bytes on a path of its own."""

    name = "echo"
    base_path = "/echo"
    routes = (protocols.Route("POST", "/echo/chat", "chat"),)


async def test_a_registered_protocol_is_served(monkeypatch: pytest.MonkeyPatch, session: aiohttp.ClientSession) -> None:
    monkeypatch.setitem(protocols._REGISTRY, "echo", EchoOpenAI())
    async with SimServer(FLEET) as server:
        status, _, doc = await post(session, server.root_url + "/echo/chat", {"model": "fast", "messages": MESSAGES})
        assert server.url_for("echo") == server.root_url + "/echo"
    assert status == 200 and doc["choices"][0]["message"]["content"] == "Hello! I am a simulated model,"


# ---- request errors as each service sends them ---------------------------------------------

async def test_anthropic_request_errors(server: SimServer, session: aiohttp.ClientSession) -> None:
    url = server.root_url + "/v1/messages"
    body = {"model": "fast", "messages": MESSAGES, "max_tokens": 64}
    cases = [
        ({k: v for k, v in body.items() if k != "max_tokens"}, ANTHROPIC_HEADERS, 400, "invalid_request_error",
         "max_tokens: Field required"),
        ({**body, "max_tokens": 0}, ANTHROPIC_HEADERS, 400, "invalid_request_error", "max_tokens"),
        (body, {"anthropic-version": "2023-06-01"}, 401, "authentication_error", "x-api-key header is required"),
        (body, {"x-api-key": KEY}, 400, "invalid_request_error", "anthropic-version"),
        ({**body, "model": "nope"}, ANTHROPIC_HEADERS, 404, "not_found_error", "model: nope"),
        ({**body, "model": "sim:ttft=soon"}, ANTHROPIC_HEADERS, 400, "invalid_request_error", "ttft must be"),
        ({**body, "messages": []}, ANTHROPIC_HEADERS, 400, "invalid_request_error", "messages"),
    ]
    for payload, headers, status, kind, needle in cases:
        got, _, doc = await post(session, url, payload, headers)
        assert (got, doc["type"], doc["error"]["type"]) == (status, "error", kind), (payload, headers)
        assert needle in doc["error"]["message"]
    # A bearer token (an OAuth client, a gateway) is a credential too.
    got, _, _ = await post(session, url, body, {"Authorization": f"Bearer {KEY}", "anthropic-version": "2023-06-01"})
    assert got == 200


async def test_gemini_request_errors(server: SimServer, session: aiohttp.ClientSession) -> None:
    root, body = server.root_url, {"contents": [{"parts": [{"text": "hi"}]}]}
    key = {"x-goog-api-key": KEY}
    cases = [
        ("/v1beta/models/fast:generateContent", body, {}, 403, "PERMISSION_DENIED", "unregistered callers"),
        ("/v1beta/models/fast:streamGenerateContent", body, key, 400, "INVALID_ARGUMENT", "alt=sse"),
        ("/v1beta/models/fast:countTokens", body, key, 404, "NOT_FOUND", "countTokens"),
        ("/v1beta/models/nope:generateContent", body, key, 404, "NOT_FOUND", "models/nope is not found"),
        ("/v1beta/models/fast:generateContent", {"contents": []}, key, 400, "INVALID_ARGUMENT", "contents"),
        ("/v1beta/models/fast:generateContent", {**body, "generationConfig": {"maxOutputTokens": -1}}, key, 400,
         "INVALID_ARGUMENT", "max_output_tokens"),
    ]
    for path, payload, headers, status, name, needle in cases:
        got, _, doc = await post(session, root + path, payload, headers)
        assert (got, doc["error"]["code"], doc["error"]["status"]) == (status, status, name), path
        assert needle in doc["error"]["message"]
    # The key may come as ?key=, the API version may be v1, a model name may hold a slash.
    for path in ("/v1beta/models/fast:generateContent?key=k", "/v1/models/fast:generateContent?key=k"):
        got, _, doc = await post(session, root + path, body)
        assert got == 200 and doc["candidates"][0]["finishReason"] == "STOP"
    got, _, doc = await post(session, root + "/v1beta/models/org/model:generateContent", body, key)
    assert got == 200 and doc["candidates"][0]["content"]["parts"] == [{"text": "slash ok"}]


async def test_ollama_request_errors_and_defaults(server: SimServer, session: aiohttp.ClientSession) -> None:
    url = server.root_url + "/api/chat"
    got, _, doc = await post(session, url, {"model": "nope", "messages": MESSAGES, "stream": False})
    assert (got, doc) == (404, {"error": 'model "nope" not found, try pulling it first'})
    got, _, doc = await post(session, url, {"messages": MESSAGES})
    assert (got, doc) == (400, {"error": "model is required"})
    got, _, doc = await post(session, url, {"model": "fast", "messages": MESSAGES, "options": {"num_predict": "x"}})
    assert got == 400 and "num_predict" in doc["error"]
    # Ollama streams unless told not to; num_predict is its max_tokens, -1 no limit.
    got, headers, raw = await post(session, url, {"model": "fast", "messages": MESSAGES, "options": {"num_predict": 2}})
    assert got == 200 and headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in raw.splitlines()]
    assert "".join(d["message"]["content"] for d in lines) == "Hello! I" and lines[-1]["done_reason"] == "length"
    got, _, doc = await post(session, url, {"model": "fast", "messages": MESSAGES, "stream": False,
                                            "options": {"num_predict": -1}})
    assert got == 200 and doc["done_reason"] == "stop" and doc["eval_count"] == 6


# ---- Anthropic -----------------------------------------------------------------------------

async def test_anthropic_event_order_with_thinking(server: SimServer, session: aiohttp.ClientSession) -> None:
    url, headers, body = AnthropicClient().request(server, "thinker")
    got, response_headers, raw = await post(session, url, body, headers)
    assert got == 200 and response_headers["request-id"].startswith("req_")
    events = [(name, json.loads(data)) for name, data in sse_events(raw)]
    assert all(name == doc["type"] for name, doc in events)  # the event name repeats the type
    order = [(name, doc.get("index"), (doc.get("delta") or doc.get("content_block") or {}).get("type"))
             for name, doc in events]
    assert order == [
        ("message_start", None, None),
        ("content_block_start", 0, "thinking"),
        ("ping", None, None),
        ("content_block_delta", 0, "thinking_delta"), ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "signature_delta"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, "text"),
        ("content_block_delta", 1, "text_delta"), ("content_block_delta", 1, "text_delta"),
        ("content_block_delta", 1, "text_delta"),
        ("content_block_stop", 1, None),
        ("message_delta", None, None),
        ("message_stop", None, None),
    ]
    message = events[0][1]["message"]
    assert (message["id"].startswith("msg_"), message["role"], message["model"], message["content"]) == (
        True, "assistant", "thinker", [])
    assert message["usage"]["input_tokens"] >= 1
    assert events[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2][1]["usage"] == {"output_tokens": 5}


async def test_anthropic_whole_message(server: SimServer, session: aiohttp.ClientSession) -> None:
    url, headers, body = AnthropicClient().request(server, "thinker", stream=False, max_tokens=2)
    got, _, doc = await post(session, url, body, headers)
    assert got == 200 and doc["type"] == "message" and doc["stop_reason"] == "max_tokens"
    thinking, text = doc["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "The user" and thinking["signature"]
    assert text == {"type": "text", "text": "Hello! I"}
    assert doc["usage"]["output_tokens"] == 4 and doc["stop_sequence"] is None


# ---- Gemini --------------------------------------------------------------------------------

async def test_gemini_stream_framing_and_usage(server: SimServer, session: aiohttp.ClientSession) -> None:
    url, headers, body = GeminiClient().request(server, "thinker")
    got, response_headers, raw = await post(session, url, body, headers)
    assert got == 200 and response_headers["Content-Type"].startswith("text/event-stream")
    assert raw.startswith(b"data: {") and raw.endswith(b"}\r\n\r\n") and b"\n\n" not in raw.replace(b"\r\n", b"")
    docs = [json.loads(data) for _, data in sse_events(raw)]
    assert {d["responseId"] for d in docs} == {docs[0]["responseId"]} and docs[0]["modelVersion"] == "thinker"
    parts = [p for d in docs[:-1] for p in d["candidates"][0]["content"]["parts"]]
    assert [p.get("thought", False) for p in parts] == [True, True, False, False, False]
    last = docs[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    usage = last["usageMetadata"]
    assert (usage["candidatesTokenCount"], usage["thoughtsTokenCount"]) == (3, 2)
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + 5
    assert all("usageMetadata" not in d for d in docs[:-1])


@pytest.mark.parametrize(("spec", "reason", "ratings"), [
    ("sim:fault=filtered,after=1", "SAFETY", True), ("sim:fault=filtered,reason=recitation,after=1", "RECITATION", False)])
async def test_gemini_safety_stops(server: SimServer, session: aiohttp.ClientSession, spec: str, reason: str,
                                   ratings: bool) -> None:
    url, headers, body = GeminiClient().request(server, spec + ",ttft=0,tps=0")
    _, _, raw = await post(session, url, body, headers)
    last = json.loads(sse_events(raw)[-1][1])["candidates"][0]
    assert last["finishReason"] == reason and "content" not in last
    assert ("safetyRatings" in last) == ratings
    if ratings:
        assert any(r.get("blocked") for r in last["safetyRatings"])
    url, headers, body = GeminiClient().request(server, spec + ",ttft=0,tps=0", stream=False)
    _, _, doc = await post(session, url, body, headers)
    assert doc["candidates"][0]["finishReason"] == reason
    assert doc["candidates"][0]["content"]["parts"] == [{"text": "Hello!"}]


async def test_gemini_blocked_prompt(server: SimServer, session: aiohttp.ClientSession) -> None:
    for stream in (True, False):
        url, headers, body = GeminiClient().request(server, "sim:fault=blocked,reason=prohibited_content,ttft=0",
                                                    stream=stream)
        got, _, out = await post(session, url, body, headers)
        doc = json.loads(sse_events(out)[-1][1]) if stream else out
        assert got == 200 and "candidates" not in doc
        assert doc["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
        assert doc["usageMetadata"]["candidatesTokenCount"] == 0


# ---- Ollama --------------------------------------------------------------------------------

async def test_ollama_timings_show_a_cold_load(server: SimServer, session: aiohttp.ClientSession) -> None:
    client, model = OllamaClient(), "sim:load=0.3,ttft=0.05,tokens=4,tps=0"
    runs = []
    for stream in (True, False):
        url, headers, body = client.request(server, model, stream=stream)
        _, _, out = await post(session, url, body, headers)
        runs.append(json.loads(out.splitlines()[-1]) if stream else out)
    cold, warm = runs
    fields = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
              "eval_duration")
    for doc in (cold, warm):
        assert doc["done"] is True and doc["done_reason"] == "stop"
        assert all(isinstance(doc[f], int) and doc[f] >= 0 for f in fields)
        assert doc["total_duration"] >= doc["load_duration"] + doc["prompt_eval_duration"]
        assert doc["eval_count"] == 4 and doc["created_at"].endswith("Z")
    assert cold["load_duration"] == 300_000_000  # the cold load, in nanoseconds
    assert warm["load_duration"] <= 1_000_000  # warm: about a millisecond
    assert cold["prompt_eval_duration"] >= 40_000_000 and warm["message"]["content"] == "Hello! I am a"


async def test_ollama_thinking_and_the_done_line(server: SimServer, session: aiohttp.ClientSession) -> None:
    url, headers, body = OllamaClient().request(server, "thinker")
    _, _, raw = await post(session, url, body, headers)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 6
    lines = [json.loads(line) for line in raw.splitlines()]
    assert [bool(d["message"].get("thinking")) for d in lines[:-1]] == [True, True, False, False, False]
    assert all(d["done"] is False and d["message"]["role"] == "assistant" for d in lines[:-1])
    assert lines[-1]["done"] is True and lines[-1]["message"] == {"role": "assistant", "content": ""}


# ---- behaviour settings the protocols brought ----------------------------------------------

def test_new_behaviour_settings() -> None:
    assert parse_spec("sim:fault=filtered,reason=recitation").filter_reason == "RECITATION"
    assert parse_spec("sim:fault=blocked").filter_reason == "SAFETY"
    assert parse_spec("sim:load=2").load_s == 2 and parse_spec("sim:echo_key=yes").echo_key is True
    assert "cold load 2 s" in Behaviour(load_s=2).describe()
    assert "filtered RECITATION" in parse_spec("sim:fault=filtered,reason=recitation").describe()


@pytest.mark.parametrize(("spec", "needle"), [
    ("sim:fault=filtered,reason=rude", "reason must be one of"),
    ("sim:fault=blocked,reason=recitation", "a blocked prompt's reason must be one of"),
    ("sim:echo_key=maybe", "echo_key must be true or false"),
    ("sim:load=-1", "load must be a number >= 0"),
])
def test_new_behaviour_settings_are_validated(spec: str, needle: str) -> None:
    with pytest.raises(BehaviourError, match=needle) as info:
        parse_spec(spec)
    assert spec in str(info.value)
