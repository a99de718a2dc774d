"""The official SDKs stream from the simulator, the proof that it speaks each protocol:
`anthropic` (messages.stream with thinking, create, models, its error types), `google-genai`
(generate_content_stream through http_options.base_url, thought parts, usage, blocked prompts,
its error types) and `ollama` (Client(host=...).chat streaming, thinking, server timings,
ResponseError). The `openai` client's own tests are in tests/sim/test_sim_thirdparty.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import ollama
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from sim_clients import BOUND_S, KEY, MESSAGES

from rollcall.sim import Behaviour, Fleet, SimServer, run_sim_in_thread

CANARY = "rollcall simulator canary 7f3a answering"
FLEET = Fleet({
    "canary": Behaviour(ttft_s=0.01, tokens_per_s=500, text=CANARY),
    "thinker": Behaviour(ttft_s=0.01, tokens_per_s=0, reasoning_tokens=3, answer_tokens=4),
    "cold": Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=2, load_s=0.2),
})
CANARY_TOKENS = len(CANARY.split())
# google-genai's async client subclasses aiohttp.ClientSession (aiohttp is installed, so that is
# the path users meet), which aiohttp answers with a DeprecationWarning; nothing else is ignored.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning")


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(FLEET, seed=3) as server:
        yield server


# ---- anthropic -----------------------------------------------------------------------------

def _anthropic(sim: SimServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.url_for("anthropic"), api_key=KEY, max_retries=0, timeout=BOUND_S)


async def test_anthropic_streams_thinking_then_text(sim: SimServer) -> None:
    async with _anthropic(sim) as client:
        async with client.messages.stream(model="thinker", max_tokens=256, messages=MESSAGES,  # type: ignore[arg-type]
                                          thinking={"type": "enabled", "budget_tokens": 128}) as stream:
            order = [event.delta.type async for event in stream if event.type == "content_block_delta"]
            message = await stream.get_final_message()
    assert order == ["thinking_delta"] * 3 + ["signature_delta"] + ["text_delta"] * 4
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking.startswith("The user asks") and thinking.signature
    assert text.type == "text" and text.text == "Hello! I am a"
    assert (message.stop_reason, message.usage.output_tokens) == ("end_turn", 7)


async def test_anthropic_text_stream_create_and_models(sim: SimServer) -> None:
    async with _anthropic(sim) as client:
        async with client.messages.stream(model="canary", max_tokens=64, messages=MESSAGES) as stream:  # type: ignore[arg-type]
            streamed = "".join([text async for text in stream.text_stream])
        whole = await client.messages.create(model="canary", max_tokens=2, messages=MESSAGES)  # type: ignore[arg-type]
        models = [m.id async for m in client.models.list()]
    assert streamed == CANARY
    assert whole.content[0].text == "rollcall simulator" and whole.stop_reason == "max_tokens"  # type: ignore[union-attr]
    assert models == list(FLEET.names)


@pytest.mark.parametrize(("spec", "error"), [
    ("sim:fault=401", anthropic.AuthenticationError),
    ("sim:fault=403", anthropic.PermissionDeniedError),
    ("sim:fault=429", anthropic.RateLimitError),
    ("sim:fault=500", anthropic.InternalServerError),
    ("sim:fault=529", anthropic.OverloadedError),
    ("no-such-model", anthropic.NotFoundError),
    ("sim:fault=drop", anthropic.APIConnectionError),
])
async def test_anthropic_error_types(sim: SimServer, spec: str, error: type[Exception]) -> None:
    async with _anthropic(sim) as client:
        with pytest.raises(error) as info:
            async with client.messages.stream(model=spec + (",ttft=0" if spec.startswith("sim:") else ""),
                                              max_tokens=64, messages=MESSAGES) as stream:  # type: ignore[arg-type]
                async for _ in stream:
                    pass
    if error is anthropic.OverloadedError:
        assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[attr-defined]
    if error is anthropic.RateLimitError:
        assert info.value.response.headers["retry-after"] == "7"  # type: ignore[attr-defined]


async def test_anthropic_raises_on_an_error_event_mid_stream(sim: SimServer) -> None:
    async with _anthropic(sim) as client:
        got = []
        with pytest.raises(anthropic.APIStatusError) as info:
            async with client.messages.stream(model="sim:fault=error_event,status=529,after=2,tokens=6,ttft=0",
                                              max_tokens=64, messages=MESSAGES) as stream:  # type: ignore[arg-type]
                async for text in stream.text_stream:
                    got.append(text)
    assert "".join(got) == "Hello! I"
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


# ---- google-genai --------------------------------------------------------------------------

def _genai(base: str) -> genai.Client:
    return genai.Client(api_key=KEY, http_options=genai_types.HttpOptions(base_url=base, timeout=int(BOUND_S * 1000)))


async def test_genai_streams_thoughts_then_text(sim: SimServer) -> None:
    kinds, text, last = [], "", None
    async with _genai(sim.url_for("gemini")).aio as client:
        async for chunk in await client.models.generate_content_stream(model="thinker", contents="Hello"):
            for part in chunk.candidates[0].content.parts if chunk.candidates and chunk.candidates[0].content else []:
                if part.text:
                    kinds.append("thought" if part.thought else "text")
                    text += "" if part.thought else part.text
            last = chunk
    assert kinds == ["thought"] * 3 + ["text"] * 4 and text == "Hello! I am a"
    assert last is not None and last.candidates[0].finish_reason == genai_types.FinishReason.STOP
    usage = last.usage_metadata
    assert usage is not None and (usage.candidates_token_count, usage.thoughts_token_count) == (4, 3)
    assert usage.total_token_count == usage.prompt_token_count + 7  # type: ignore[operator]


def test_genai_sync_stream_whole_and_models() -> None:
    with run_sim_in_thread(FLEET) as base_url, _genai(base_url.removesuffix("/v1")) as client:
        streamed = "".join(c.text or "" for c in client.models.generate_content_stream(model="canary", contents="Hi"))
        whole = client.models.generate_content(
            model="canary", contents="Hi", config=genai_types.GenerateContentConfig(max_output_tokens=2))
        names = [m.name for m in client.models.list()]
    assert streamed == CANARY
    assert whole.text == "rollcall simulator"
    assert whole.candidates[0].finish_reason == genai_types.FinishReason.MAX_TOKENS  # type: ignore[index]
    assert names == [f"models/{n}" for n in FLEET.names]


async def test_genai_sees_safety_stops_and_blocked_prompts(sim: SimServer) -> None:
    async with _genai(sim.url_for("gemini")).aio as client:
        chunks = [c async for c in await client.models.generate_content_stream(
            model="sim:fault=filtered,reason=recitation,after=2,ttft=0", contents="Hi")]
        blocked = await client.models.generate_content(model="sim:fault=blocked,ttft=0", contents="Hi")
    assert "".join(c.text or "" for c in chunks) == "Hello! I"
    assert chunks[-1].candidates[0].finish_reason == genai_types.FinishReason.RECITATION  # type: ignore[index]
    assert blocked.prompt_feedback is not None
    assert blocked.prompt_feedback.block_reason == genai_types.BlockedReason.SAFETY
    assert not blocked.candidates


@pytest.mark.parametrize(("spec", "error", "code"), [
    ("sim:fault=401", genai_errors.ClientError, 401),
    ("sim:fault=403", genai_errors.ClientError, 403),
    ("sim:fault=429", genai_errors.ClientError, 429),
    ("sim:fault=500", genai_errors.ServerError, 500),
    ("sim:fault=503", genai_errors.ServerError, 503),
    ("no-such-model", genai_errors.ClientError, 404),
])
async def test_genai_error_types(sim: SimServer, spec: str, error: type[genai_errors.APIError], code: int) -> None:
    async with _genai(sim.url_for("gemini")).aio as client:
        with pytest.raises(error) as info:
            async for _ in await client.models.generate_content_stream(
                    model=spec + (",ttft=0" if spec.startswith("sim:") else ""), contents="Hi"):
                pass
    assert info.value.code == code
    if code == 429:
        assert info.value.status == "RESOURCE_EXHAUSTED"
        assert info.value.details["error"]["details"][0]["retryDelay"] == "7s"


async def test_genai_raises_on_an_error_mid_stream(sim: SimServer) -> None:
    got = []
    async with _genai(sim.url_for("gemini")).aio as client:
        with pytest.raises(genai_errors.ServerError) as info:
            async for chunk in await client.models.generate_content_stream(
                    model="sim:fault=error_event,after=2,tokens=6,ttft=0", contents="Hi"):
                got.append(chunk.text or "")
    assert "".join(got) == "Hello! I" and info.value.status == "INTERNAL"


# ---- ollama --------------------------------------------------------------------------------

async def test_ollama_streams_thinking_then_content(sim: SimServer) -> None:
    kinds, text, last = [], "", None
    async with ollama.AsyncClient(host=sim.url_for("ollama"), timeout=BOUND_S) as client:
        async for part in await client.chat(model="thinker", messages=MESSAGES, stream=True, think=True):
            kinds += ["thinking"] if part.message.thinking else []
            kinds += ["content"] if part.message.content else []
            text += part.message.content or ""
            last = part
    assert kinds == ["thinking"] * 3 + ["content"] * 4 and text == "Hello! I am a"
    assert last is not None and last.done and last.done_reason == "stop" and last.eval_count == 7
    assert last.total_duration is not None and last.total_duration > 0


def test_ollama_sync_client_cold_load_whole_and_tags() -> None:
    with run_sim_in_thread(FLEET) as base_url:
        client = ollama.Client(host=base_url.removesuffix("/v1"), timeout=BOUND_S)
        try:
            cold = list(client.chat(model="cold", messages=MESSAGES, stream=True))[-1]
            warm = client.chat(model="cold", messages=MESSAGES)
            names = [m.model for m in client.list().models]
        finally:
            client.close()
    assert cold.load_duration == 200_000_000 and warm.load_duration is not None and warm.load_duration < 2_000_000
    assert warm.message.content == "Hello! I" and warm.done
    assert names == list(FLEET.names)


@pytest.mark.parametrize(("spec", "status"), [("sim:fault=429", 429), ("sim:fault=500", 500), ("no-such-model", 404)])
async def test_ollama_response_errors(sim: SimServer, spec: str, status: int) -> None:
    async with ollama.AsyncClient(host=sim.url_for("ollama"), timeout=BOUND_S) as client:
        with pytest.raises(ollama.ResponseError) as info:
            async for _ in await client.chat(model=spec + (",ttft=0" if spec.startswith("sim:") else ""),
                                             messages=MESSAGES, stream=True):
                pass
    assert info.value.status_code == status and info.value.error
    if status == 404:
        assert info.value.error == 'model "no-such-model" not found, try pulling it first'


async def test_ollama_raises_on_an_error_line_mid_stream(sim: SimServer) -> None:
    got = []
    async with ollama.AsyncClient(host=sim.url_for("ollama"), timeout=BOUND_S) as client:
        with pytest.raises(ollama.ResponseError, match="llama runner process has terminated"):
            async for part in await client.chat(model="sim:fault=error_event,after=2,tokens=6,ttft=0",
                                                messages=MESSAGES, stream=True):
                got.append(part.message.content or "")
    assert "".join(got) == "Hello! I"
