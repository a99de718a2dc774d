"""AnthropicTarget: what it sends, how it reads the Messages API's events and errors, its model
listing. (The fault catalogue on its protocol is in test_native_faults.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from recording import Recorder, Reply, serve, sse

from rollcall.http import ErrorInfo, HttpClient
from rollcall.models import ErrorKind, ProbeResult
from rollcall.probe import run_probe
from rollcall.sim import SimServer
from rollcall.targets.anthropic import API_VERSION, DEFAULT_MAX_TOKENS, AnthropicTarget
from rollcall.targets.base import ProbeError, ProbeRequest, Target
from transports import transport  # noqa: F401  (every test over both HTTP transports)

KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[Recorder]:
    async for recorder in serve():
        yield recorder


def target(url: str, **kwargs: object) -> AnthropicTarget:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("models", ("claude-test",))
    return AnthropicTarget("claude", url, **kwargs)  # type: ignore[arg-type]


async def probe(t: AnthropicTarget, **request: object) -> ProbeResult:
    try:
        return await run_probe(t, ProbeRequest(prompt="hi", model=t.models[0], **request), timeout_s=10)  # type: ignore[arg-type]
    finally:
        await t.aclose()


def stream(*events: tuple[str, dict]) -> Reply:
    return Reply(sse(*events), content_type="text/event-stream")


START = ("message_start", {"type": "message_start", "message": {
    "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude-test",
    "usage": {"input_tokens": 9, "output_tokens": 1}}})
STOP = ("message_stop", {"type": "message_stop"})


def block_start(index: int, kind: str) -> tuple[str, dict]:
    block = {"type": kind, kind: ""} if kind != "tool_use" else {"type": kind, "id": "t", "name": "f", "input": {}}
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, kind: str, **fields: object) -> tuple[str, dict]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}})


def message_delta(stop: str, output_tokens: int) -> tuple[str, dict]:
    return ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                              "usage": {"output_tokens": output_tokens}})


async def test_the_request_as_the_messages_api_wants_it(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = stream(START, block_start(0, "text"), delta(0, "text_delta", text="Hi"),
                                          message_delta("end_turn", 1), STOP)
    result = await probe(target(fake.url))
    assert result.ok, result.error
    seen = fake.seen[0]
    assert (seen.method, seen.path) == ("POST", "/v1/messages")
    assert seen.headers["x-api-key"] == KEY and "Authorization" not in seen.headers
    assert seen.headers["anthropic-version"] == API_VERSION
    assert seen.body == {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}],
                         "max_tokens": DEFAULT_MAX_TOKENS, "stream": True}


async def test_max_tokens_of_the_run_then_of_the_target(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = stream(START, message_delta("max_tokens", 0), STOP)
    await probe(target(fake.url), max_tokens=16)
    await probe(target(fake.url, max_tokens=64))
    assert [s.body["max_tokens"] for s in fake.seen] == [16, 64]


async def test_extra_body_and_headers_go_along_but_rollcall_fields_win(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = stream(START, STOP)
    t = target(fake.url, extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}, "model": "other"},
               headers={"anthropic-beta": "interleaved-thinking-2025-05-14"}, anthropic_version="2099-01-01")
    await probe(t)
    seen = fake.seen[0]
    assert seen.body["thinking"] == {"type": "enabled", "budget_tokens": 1024} and seen.body["model"] == "claude-test"
    assert seen.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert seen.headers["anthropic-version"] == "2099-01-01"


async def test_thinking_is_reasoning_and_other_deltas_are_not_the_answer(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = stream(
        START, block_start(0, "thinking"), ("ping", {"type": "ping"}),
        delta(0, "thinking_delta", thinking="Let me see. "), delta(0, "signature_delta", signature="c2ln"),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        block_start(1, "text"), delta(1, "text_delta", text="Yes"), delta(1, "citations_delta", citation={}),
        delta(1, "text_delta", text="."), block_start(2, "tool_use"), delta(2, "input_json_delta", partial_json="{"),
        ("future_event", {"type": "future_event", "data": [1, 2]}),  # new event types are ignored, as documented
        message_delta("end_turn", 7), STOP)
    result = await probe(target(fake.url))
    assert result.ok, result.error
    assert result.reasoning == "Let me see. " and result.text == "Yes."
    assert result.output_tokens == 7 and not result.output_tokens_estimated


async def test_whole_reply(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = Reply(
        b'{"id": "msg_2", "type": "message", "role": "assistant", "content": [{"type": "thinking", "thinking": "Hm.",'
        b' "signature": "x"}, {"type": "text", "text": "Whole answer."}], "stop_reason": "end_turn",'
        b' "usage": {"input_tokens": 5, "output_tokens": 4}}')
    result = await probe(target(fake.url, stream=False))
    assert result.ok, result.error
    assert (result.text, result.reasoning, result.output_tokens) == ("Whole answer.", "Hm.", 4)
    assert "stream" not in fake.seen[0].body


@pytest.mark.parametrize(("error_type", "kind"), [
    ("overloaded_error", ErrorKind.BAD_RESPONSE), ("api_error", ErrorKind.BAD_RESPONSE),
    ("rate_limit_error", ErrorKind.RATE_LIMIT), ("authentication_error", ErrorKind.AUTH),
    ("permission_error", ErrorKind.AUTH), ("something_new", ErrorKind.BAD_RESPONSE),
])
async def test_an_error_event_is_classified_by_its_type(fake: Recorder, error_type: str, kind: ErrorKind) -> None:
    fake.replies["/v1/messages"] = stream(
        START, block_start(0, "text"), delta(0, "text_delta", text="Par"),
        ("error", {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}))
    result = await probe(target(fake.url))
    assert result.error_kind is kind and result.status == 200
    assert result.error is not None and f"{error_type}: Overloaded" in result.error
    assert result.text == "Par"


async def test_overloaded_529_with_retry_after(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = Reply(b'{"type": "error", "error": {"type": "overloaded_error", "message": '
                                         b'"Overloaded"}}', status=529, headers={"retry-after": "3"})
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.HTTP_STATUS and result.status == 529
    assert result.retry_after_s == 3.0
    assert result.error is not None and "HTTP 529" in result.error and "overloaded_error: Overloaded" in result.error


async def test_an_event_that_is_not_json_is_a_bad_response(fake: Recorder) -> None:
    fake.replies["/v1/messages"] = Reply([b"event: message_start\ndata: {\"type\": \"message_st\n\n"],
                                         content_type="text/event-stream")
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.BAD_RESPONSE
    assert result.error is not None and "invalid JSON in a message_start event" in result.error


async def test_list_models_follows_the_pages(fake: Recorder) -> None:
    def page(seen) -> Reply:  # type: ignore[no-untyped-def]
        if seen.query.get("after_id") == "b":
            return Reply(b'{"data": [{"id": "c"}], "has_more": false, "last_id": "c"}')
        return Reply(b'{"data": [{"id": "a"}, {"id": "b"}, {"name": "no id"}], "has_more": true, "last_id": "b"}')

    fake.replies["/v1/models"] = page
    client = HttpClient()
    try:
        assert await target(fake.url, client=client).list_models() == ["a", "b", "c"]
        assert fake.seen[0].headers["x-api-key"] == KEY and fake.seen[0].query["limit"] == "1000"
        fake.replies["/v1/models"] = Reply(b'{"type": "error", "error": {"type": "authentication_error", '
                                           b'"message": "invalid x-api-key"}}', status=401)
        with pytest.raises(ProbeError) as info:
            await target(fake.url, client=client).list_models()
    finally:
        await client.aclose()
    assert info.value.kind is ErrorKind.AUTH and "authentication_error: invalid x-api-key" in str(info.value)


async def test_list_models_from_the_simulator() -> None:
    from rollcall.sim import Behaviour, Fleet

    async with SimServer(Fleet({"claude-a": Behaviour(), "claude-b": Behaviour()})) as server:
        t = AnthropicTarget("a", server.url_for("anthropic"), models=("claude-a",), api_key=KEY)
        try:
            assert await t.list_models() == ["claude-a", "claude-b"]
        finally:
            await t.aclose()


def test_read_error() -> None:
    read = AnthropicTarget("a", models=("m",)).read_error
    assert read({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}) == ErrorInfo(
        "overloaded_error: Overloaded", 529)
    assert read({"error": {"type": "rate_limit_error"}}) == ErrorInfo("rate_limit_error", 429)
    assert read({"error": "text"}) == ErrorInfo() and read([1]) == ErrorInfo()


def test_construction() -> None:
    t = AnthropicTarget("a", models="claude-x", api_key=KEY)
    assert isinstance(t, Target) and t.kind == "anthropic" and t.models == ("claude-x",)
    assert t.base_url == "https://api.anthropic.com" and KEY not in repr(t)
    with pytest.raises(ValueError, match="models must name each model"):
        AnthropicTarget("a", models=("",))
    with pytest.raises(ValueError, match="max_tokens must be a whole number"):
        AnthropicTarget("a", models=("m",), max_tokens=0)
    with pytest.raises(ValueError, match="anthropic_version"):
        AnthropicTarget("a", models=("m",), anthropic_version="x\r\ny")
    with pytest.raises(ValueError, match="api_key contains") as info:
        AnthropicTarget("a", models=("m",), api_key="sk-ant-\nbad")
    assert "sk-ant" not in str(info.value)
