"""GeminiTarget: what it sends, how it reads GenerateContentResponse chunks, safety stops and
errors, its model listing. (The fault catalogue on its protocol is in test_native_faults.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from recording import Recorder, Reply, serve, sse

from rollcall.http import ErrorInfo, HttpClient
from rollcall.models import ErrorKind, ProbeResult
from rollcall.probe import run_probe
from rollcall.sim import Behaviour, Fleet, SimServer
from rollcall.targets.base import ProbeError, ProbeRequest, Target
from rollcall.targets.gemini import GeminiTarget
from transports import transport  # noqa: F401  (every test over both HTTP transports)

KEY = "AIza-gemini-test-0123456789abcdef"
STREAM_PATH = "/v1beta/models/gemini-test:streamGenerateContent"


@pytest.fixture
async def fake() -> AsyncIterator[Recorder]:
    async for recorder in serve():
        yield recorder


def target(url: str, **kwargs: object) -> GeminiTarget:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("models", ("gemini-test",))
    return GeminiTarget("gemini", url, **kwargs)  # type: ignore[arg-type]


async def probe(t: GeminiTarget, **request: object) -> ProbeResult:
    try:
        return await run_probe(t, ProbeRequest(prompt="hi", model=t.models[0], **request), timeout_s=10)  # type: ignore[arg-type]
    finally:
        await t.aclose()


def chunk(*parts: dict, finish: str | None = None, usage: dict | None = None) -> dict:
    candidate: dict = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    doc: dict = {"candidates": [candidate], "modelVersion": "gemini-test"}
    if usage:
        doc["usageMetadata"] = usage
    return doc


def stream(*docs: dict) -> Reply:
    return Reply(sse(*((None, d) for d in docs), crlf=True), content_type="text/event-stream")


USAGE = {"promptTokenCount": 3, "candidatesTokenCount": 2, "thoughtsTokenCount": 5, "totalTokenCount": 10}


async def test_the_request_as_the_gemini_api_wants_it(fake: Recorder) -> None:
    fake.replies[STREAM_PATH] = stream(chunk({"text": "Hi"}, finish="STOP"))
    result = await probe(target(fake.url), max_tokens=32)
    assert result.ok, result.error
    seen = fake.seen[0]
    assert (seen.method, seen.path, seen.query) == ("POST", STREAM_PATH, {"alt": "sse"})
    assert seen.headers["x-goog-api-key"] == KEY and "Authorization" not in seen.headers
    assert seen.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                         "generationConfig": {"maxOutputTokens": 32}}


async def test_model_paths_api_version_and_extra_generation_config(fake: Recorder) -> None:
    path = "/v1/tunedModels/mine:streamGenerateContent"
    fake.replies[path] = stream(chunk({"text": "Hi"}, finish="STOP"))
    t = target(fake.url, models=("tunedModels/mine",), api_version="v1",
               extra_body={"generationConfig": {"thinkingConfig": {"includeThoughts": True}, "maxOutputTokens": 1}})
    result = await probe(t, max_tokens=8)
    assert result.ok, result.error
    assert fake.seen[0].path == path
    assert fake.seen[0].body["generationConfig"] == {"thinkingConfig": {"includeThoughts": True}, "maxOutputTokens": 8}


async def test_thought_parts_are_reasoning_and_usage_counts_thoughts(fake: Recorder) -> None:
    fake.replies[STREAM_PATH] = stream(
        chunk({"text": "Thinking about it. ", "thought": True}, usage={"promptTokenCount": 3}),
        chunk({"text": "Yes"}, {"text": ", "}), chunk({"text": "indeed."}, finish="STOP", usage=USAGE))
    result = await probe(target(fake.url))
    assert result.ok, result.error
    assert result.reasoning == "Thinking about it. " and result.text == "Yes, indeed."
    assert result.output_tokens == 7 and not result.output_tokens_estimated  # candidates + thoughts


async def test_whole_reply(fake: Recorder) -> None:
    fake.replies["/v1beta/models/gemini-test:generateContent"] = Reply(
        b'{"candidates": [{"content": {"parts": [{"text": "Hm.", "thought": true}, {"text": "Whole."}]},'
        b' "finishReason": "MAX_TOKENS"}], "usageMetadata": {"candidatesTokenCount": 2}}')
    result = await probe(target(fake.url, stream=False))
    assert result.ok, result.error
    assert (result.text, result.reasoning, result.output_tokens) == ("Whole.", "Hm.", 2)
    assert fake.seen[0].query == {}


async def test_a_json_array_of_chunks_where_events_were_asked(fake: Recorder) -> None:
    # What streamGenerateContent sends when a proxy drops ?alt=sse: the same chunks in one array.
    fake.replies[STREAM_PATH] = Reply(
        b'[{"candidates": [{"content": {"parts": [{"text": "One"}]}}]},'
        b' {"candidates": [{"content": {"parts": [{"text": " two"}]}, "finishReason": "STOP"}]}]')
    result = await probe(target(fake.url))
    assert result.ok and result.text == "One two", result.error


@pytest.mark.parametrize("reason", ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "OTHER"])
async def test_an_answer_stopped_for_a_reason_fails_and_says_which(fake: Recorder, reason: str) -> None:
    fake.replies[STREAM_PATH] = stream(chunk({"text": "It goes"}), chunk({"text": " like"}, finish=reason))
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.PROVIDER_ERROR
    assert result.error == f"ContentFiltered: Gemini stopped the answer: finishReason {reason}"
    assert result.text == "It goes like"  # the words in the stopping chunk are kept too


async def test_a_blocked_prompt_fails_and_says_why(fake: Recorder) -> None:
    fake.replies[STREAM_PATH] = stream({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                                        "usageMetadata": {"promptTokenCount": 3}})
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.PROVIDER_ERROR
    assert result.error == "ContentFiltered: Gemini blocked the prompt: promptFeedback.blockReason SAFETY"


async def test_429_says_when_to_retry_in_its_body(fake: Recorder) -> None:
    fake.replies[STREAM_PATH] = Reply(
        b'{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": ['
        b'{"@type": "type.googleapis.com/google.rpc.QuotaFailure"},'
        b'{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}}', status=429)
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.RATE_LIMIT and result.retry_after_s == 1.5
    assert result.error is not None and "RESOURCE_EXHAUSTED: Quota exceeded" in result.error


async def test_a_chunk_of_the_wrong_shape(fake: Recorder) -> None:
    fake.replies[STREAM_PATH] = stream({"candidates": [{"content": {"parts": "not a list"}}]})
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.BAD_RESPONSE
    assert result.error is not None and "unexpected shape of 'candidates'" in result.error


async def test_list_models_strips_the_prefix_and_follows_pages(fake: Recorder) -> None:
    def page(seen) -> Reply:  # type: ignore[no-untyped-def]
        if seen.query.get("pageToken") == "p2":
            return Reply(b'{"models": [{"name": "models/gemini-c"}]}')
        return Reply(b'{"models": [{"name": "models/gemini-a"}, {"name": "tunedModels/t"}], "nextPageToken": "p2"}')

    fake.replies["/v1beta/models"] = page
    client = HttpClient()
    try:
        assert await target(fake.url, client=client).list_models() == ["gemini-a", "tunedModels/t", "gemini-c"]
        assert fake.seen[0].headers["x-goog-api-key"] == KEY and fake.seen[0].query["pageSize"] == "1000"
        fake.replies["/v1beta/models"] = Reply(b'{"error": {"code": 400, "message": "API key not valid.", '
                                               b'"status": "INVALID_ARGUMENT"}}', status=400)
        with pytest.raises(ProbeError) as info:
            await target(fake.url, client=client).list_models()
    finally:
        await client.aclose()
    assert info.value.kind is ErrorKind.HTTP_STATUS and "INVALID_ARGUMENT: API key not valid." in str(info.value)


async def test_against_the_simulator_on_both_api_versions() -> None:
    async with SimServer(Fleet({"gemini-a": Behaviour(ttft_s=0, tokens_per_s=0, answer_tokens=3)})) as server:
        for version in ("v1beta", "v1"):
            t = GeminiTarget("g", server.url_for("gemini"), models=("models/gemini-a",), api_key=KEY,
                             api_version=version)
            assert await t.list_models() == ["gemini-a"]
            result = await probe(t)
            assert result.ok and result.text == "Hello! I am", result.error


def test_read_error() -> None:
    read = GeminiTarget("g", models=("m",)).read_error
    assert read({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}) == ErrorInfo(
        "UNAVAILABLE: overloaded", 503)
    assert read({"error": {"code": True, "details": [{"@type": "x.google.rpc.RetryInfo", "retryDelay": "9s"}]}}) == \
        ErrorInfo(None, None, 9.0)
    assert read({"error": {"details": [{"@type": "google.rpc.RetryInfo", "retryDelay": "soon"}]}}) == ErrorInfo()


def test_construction() -> None:
    t = GeminiTarget("g", models=("gemini-x",), api_key=KEY)
    assert isinstance(t, Target) and t.kind == "gemini"
    assert t.base_url == "https://generativelanguage.googleapis.com" and KEY not in repr(t)
    with pytest.raises(ValueError, match="models must name each model"):
        GeminiTarget("g", models=("",))
    with pytest.raises(ValueError, match="api_version must be a path segment"):
        GeminiTarget("g", models=("m",), api_version="v1/../x")
