"""The simulator's whole fault catalogue on each native kind's own protocol (anthropic, gemini,
ollama), over real loopback sockets, each failure classified as docs/DESIGN.md says.

Every probe asks for a `sim:...` model, so one simulator serves every case; the kinds differ
only in what their protocol calls things (error types, end markers, safety signals)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest

from rollcall.http import HttpClient
from rollcall.models import ErrorKind, ProbeResult
from rollcall.probe import run_probe
from rollcall.runner import Runner
from rollcall.settings import ProbeSettings
from rollcall.sim import SimServer
from rollcall.targets.anthropic import AnthropicTarget
from rollcall.targets.base import ProbeRequest, Target
from rollcall.targets.gemini import GeminiTarget
from rollcall.targets.http_target import HttpTarget
from rollcall.targets.ollama import OllamaTarget
from transports import transport  # noqa: F401  (every test over both HTTP transports)

KEY = "sk-native-fault-5ecret-0123456789"
CLASSES: dict[str, type[HttpTarget]] = {"anthropic": AnthropicTarget, "gemini": GeminiTarget, "ollama": OllamaTarget}
KINDS = tuple(CLASSES)
ANSWER = "Hello! I am a simulated model"  # how every filler answer starts
kinds = pytest.mark.parametrize("kind", KINDS)
# What each protocol calls a status in its error bodies and events.
STATUS_WORDS = {
    "anthropic": {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error", 500: "api_error",
                  503: "api_error", 529: "overloaded_error: Overloaded"},
    "gemini": {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
               503: "UNAVAILABLE", 529: "INTERNAL"},
    "ollama": {401: "unauthorized", 403: "forbidden", 429: "too many requests", 500: "llama runner process",
               503: "server busy", 529: "simulated HTTP 529"},
}
END_MARKERS = {"anthropic": "no message_stop", "gemini": "no chunk with a finishReason", "ollama": "no line with done: true"}


def spec(**settings: object) -> str:
    """A model name the simulator serves as described: instant and unpaced unless told otherwise."""
    values = {"ttft": 0, "tps": 0, **settings}
    return "sim:" + ",".join(f"{k}={v}" for k, v in values.items())


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(seed=3) as s:
        yield s


def target(server: SimServer, kind: str, model: str, **kwargs: object) -> HttpTarget:
    kwargs.setdefault("api_key", KEY)
    return CLASSES[kind](kind, server.url_for(kind), models=(model,), **kwargs)  # type: ignore[arg-type]


async def probe(t: Target, timeout_s: float = 10.0) -> ProbeResult:
    try:
        return await run_probe(t, ProbeRequest(prompt="hi", model=t.models[0]), timeout_s=timeout_s)
    finally:
        await t.aclose()


def assert_no_secret(result: ProbeResult) -> None:
    assert KEY not in json.dumps(result.to_dict())


# ---- answers -------------------------------------------------------------------------------

@kinds
@pytest.mark.parametrize("stream", [True, False])
async def test_an_answer_with_usage(server: SimServer, kind: str, stream: bool) -> None:
    result = await probe(target(server, kind, spec(tokens=12), stream=stream))
    assert result.ok, result.error
    assert result.kind == kind and result.status == 200
    assert result.text.startswith(ANSWER)
    assert result.output_tokens == 12 and not result.output_tokens_estimated  # the server's usage
    assert result.headers_s is not None and result.ttft_s is not None and result.total_s is not None
    assert 0 <= result.headers_s <= result.ttft_s <= result.total_s


@kinds
@pytest.mark.parametrize("stream", [True, False])
async def test_reasoning_is_kept_apart_and_counts_as_output(server: SimServer, kind: str, stream: bool) -> None:
    result = await probe(target(server, kind, spec(tokens=5, reasoning=4), stream=stream))
    assert result.ok, result.error
    assert result.reasoning.startswith("The user asks") and result.text.startswith("Hello!")
    assert "The user" not in result.text
    assert result.output_tokens == 9  # thinking tokens are output tokens in every protocol


@kinds
async def test_the_first_token_is_stamped_when_it_arrives(server: SimServer, kind: str) -> None:
    # 0.3 s to the first token, then 20 tokens at 50 a second: the stamps say so.
    result = await probe(target(server, kind, spec(ttft=0.3, tps=50, tokens=20)))
    assert result.ok, result.error
    assert result.ttft_s is not None and result.total_s is not None and result.max_gap_s is not None
    assert result.ttft_s >= 0.3 and result.total_s >= result.ttft_s + 19 / 50 * 0.9


@kinds
async def test_empty_answer(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="empty")))
    assert result.error_kind is ErrorKind.EMPTY and result.status == 200


@kinds
async def test_unknown_model_is_an_http_status(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, "no-such-model"))
    assert result.error_kind is ErrorKind.HTTP_STATUS and result.status == 404
    assert result.error is not None and "no-such-model" in result.error


# ---- statuses ------------------------------------------------------------------------------

@kinds
@pytest.mark.parametrize(("status", "error_kind"), [
    (401, ErrorKind.AUTH), (403, ErrorKind.AUTH), (429, ErrorKind.RATE_LIMIT), (500, ErrorKind.HTTP_STATUS),
    (503, ErrorKind.HTTP_STATUS), (529, ErrorKind.HTTP_STATUS),
])
async def test_statuses(server: SimServer, kind: str, status: int, error_kind: ErrorKind) -> None:
    result = await probe(target(server, kind, spec(status=status)))
    assert result.error_kind is error_kind and result.status == status
    assert result.error is not None and f"HTTP {status}" in result.error
    assert STATUS_WORDS[kind][status] in result.error  # the protocol's own words, read from its body
    assert "\n" not in result.error and len(result.error) < 400
    assert result.headers_s is not None and result.ttft_s is None


@kinds
async def test_rate_limit_keeps_the_retry_hint(server: SimServer, kind: str) -> None:
    # Anthropic and Ollama's proxies send Retry-After; Gemini says it in the body's RetryInfo.
    result = await probe(target(server, kind, spec(status=429, retry_after=12)))
    assert result.error_kind is ErrorKind.RATE_LIMIT and result.retry_after_s == 12.0
    assert result.error is not None and "(retry after 12 s)" in result.error


@kinds
@pytest.mark.parametrize("fault", ["status", "error_event"])
async def test_a_key_echoed_in_an_error_is_never_shown(server: SimServer, kind: str, fault: str) -> None:
    result = await probe(target(server, kind, spec(fault=fault, status=401, echo_key="true", tokens=4)))
    assert not result.ok and result.error is not None
    assert "API key" in result.error and "***" in result.error  # the message was read, the key scrubbed
    assert_no_secret(result)


# ---- 200 responses that break the protocol -------------------------------------------------

@kinds
async def test_html_challenge_page_with_200(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="html")))
    assert result.error_kind is ErrorKind.BAD_RESPONSE and result.status == 200
    assert result.error is not None and "HTML page titled 'Just a moment...'" in result.error


@kinds
async def test_html_challenge_page_with_403(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="html", status=403)))
    assert result.error_kind is ErrorKind.AUTH and result.status == 403
    assert result.error is not None and "HTML page titled 'Just a moment...'" in result.error


@kinds
@pytest.mark.parametrize("stream", [True, False])
async def test_invalid_json(server: SimServer, kind: str, stream: bool) -> None:
    result = await probe(target(server, kind, spec(fault="invalid_json", tokens=10), stream=stream))
    assert result.error_kind is ErrorKind.BAD_RESPONSE and result.status == 200, result.error
    assert result.error is not None and "invalid JSON" in result.error
    if stream:
        assert result.text.startswith("Hello!")  # what arrived before the broken chunk is kept


@kinds
async def test_invalid_utf8(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="invalid_utf8", tokens=10)))
    assert result.error_kind is ErrorKind.BAD_RESPONSE and result.status == 200, result.error
    assert result.error is not None and "invalid UTF-8" in result.error


@kinds
@pytest.mark.parametrize("fault", ["error_event", "error_chunk"])
@pytest.mark.parametrize(("status", "error_kind"), [
    (500, ErrorKind.BAD_RESPONSE), (529, ErrorKind.BAD_RESPONSE), (429, ErrorKind.RATE_LIMIT), (401, ErrorKind.AUTH),
])
async def test_errors_inside_a_stream(server: SimServer, kind: str, fault: str, status: int,
                                      error_kind: ErrorKind) -> None:
    result = await probe(target(server, kind, spec(fault=fault, status=status, tokens=10)))
    if kind == "ollama" and status in (429, 401):
        error_kind = ErrorKind.BAD_RESPONSE  # Ollama's error lines are bare strings: no code to go by
    assert result.error_kind is error_kind, result.error
    assert result.status == 200
    assert result.error is not None and "reported an error inside a 200 response" in result.error
    assert STATUS_WORDS[kind][status] in result.error
    assert result.text.startswith("Hello!")  # the tokens before the error are kept
    assert result.ttft_s is not None


@kinds
async def test_an_error_object_instead_of_a_whole_reply(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="error_event", status=429), stream=False))
    expected = ErrorKind.BAD_RESPONSE if kind == "ollama" else ErrorKind.RATE_LIMIT
    assert result.error_kind is expected and result.status == 200, result.error
    assert result.error is not None and STATUS_WORDS[kind][429] in result.error


@kinds
async def test_no_end_marker(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="no_done", tokens=10)))
    assert result.error_kind is ErrorKind.BAD_RESPONSE, result.error
    assert result.error is not None and f"stream ended early: {END_MARKERS[kind]}" in result.error
    assert result.text.startswith(ANSWER)


# ---- safety stops --------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "reason", "words"), [
    ("anthropic", "SAFETY", "stop_reason refusal"),
    ("gemini", "SAFETY", "finishReason SAFETY"),
    ("gemini", "RECITATION", "finishReason RECITATION"),
])
@pytest.mark.parametrize("stream", [True, False])
async def test_a_filtered_answer_is_a_plain_failure(server: SimServer, kind: str, reason: str, words: str,
                                                    stream: bool) -> None:
    result = await probe(target(server, kind, spec(fault="filtered", reason=reason, after=4, tokens=10), stream=stream))
    assert result.error_kind is ErrorKind.PROVIDER_ERROR and result.status == 200, result.error
    assert result.error is not None and result.error.startswith("ContentFiltered: ") and words in result.error
    assert result.text == "Hello! I am a"  # the four tokens before the stop are kept


@pytest.mark.parametrize(("kind", "reason", "words"), [
    ("anthropic", "SAFETY", "stop_reason refusal"),
    ("gemini", "SAFETY", "promptFeedback.blockReason SAFETY"),
    ("gemini", "PROHIBITED_CONTENT", "blockReason PROHIBITED_CONTENT"),
])
@pytest.mark.parametrize("stream", [True, False])
async def test_a_blocked_prompt_is_a_plain_failure(server: SimServer, kind: str, reason: str, words: str,
                                                   stream: bool) -> None:
    result = await probe(target(server, kind, spec(fault="blocked", reason=reason), stream=stream))
    assert result.error_kind is ErrorKind.PROVIDER_ERROR and result.status == 200, result.error
    assert result.error is not None and result.error.startswith("ContentFiltered: ") and words in result.error
    assert result.text == ""


async def test_ollama_has_no_safety_signal(server: SimServer) -> None:
    # Ollama's `filtered` ends the answer early with done_reason stop; a blocked prompt is empty.
    filtered = await probe(target(server, "ollama", spec(fault="filtered", after=4, tokens=10)))
    assert filtered.ok and filtered.text == "Hello! I am a"
    blocked = await probe(target(server, "ollama", spec(fault="blocked")))
    assert blocked.error_kind is ErrorKind.EMPTY


# ---- connections, deadlines and caps -------------------------------------------------------

@kinds
async def test_connection_dropped_before_any_response(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="drop")))
    assert result.error_kind is ErrorKind.CONNECT, result.error
    assert result.headers_s is None and result.status is None


@kinds
async def test_reset_mid_stream(server: SimServer, kind: str) -> None:
    result = await probe(target(server, kind, spec(fault="reset_mid_stream", tokens=10, tps=200)))
    assert result.error_kind is ErrorKind.CONNECT, result.error
    assert result.error is not None and "mid-stream" in result.error
    assert result.text.startswith("Hello!") and result.status == 200


@kinds
async def test_connection_refused(kind: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = CLASSES[kind](kind, f"http://127.0.0.1:{port}", models=("m",), api_key=KEY)
    result = await probe(t)
    assert result.error_kind is ErrorKind.CONNECT
    assert result.error is not None and "Connection refused" in result.error
    assert_no_secret(result)


@kinds
@pytest.mark.parametrize("fault", ["hang", "trickle"])
async def test_deadline_ends_servers_that_never_answer(server: SimServer, kind: str, fault: str) -> None:
    result = await asyncio.wait_for(probe(target(server, kind, spec(fault=fault)), timeout_s=0.5), 10)
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.error is not None and "no first token within 0.5 s" in result.error


@kinds
async def test_deadline_during_an_endless_answer_keeps_the_partial_text(server: SimServer, kind: str) -> None:
    result = await asyncio.wait_for(probe(target(server, kind, spec(fault="endless", tps=50)), timeout_s=0.6), 10)
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.error is not None and "end of answer" in result.error
    assert result.text.startswith("Hello!")


@kinds
async def test_a_huge_answer_meets_the_byte_cap(server: SimServer, kind: str) -> None:
    client = HttpClient(max_response_bytes=200_000)
    result = await probe(target(server, kind, spec(fault="huge"), client=client))
    assert result.error_kind is ErrorKind.BAD_RESPONSE, result.error
    assert result.error is not None and "exceeded the cap of 200,000 bytes" in result.error
    assert 0 < result.output_chars < 200_000  # what arrived before the cap is kept


@kinds
async def test_an_event_past_the_event_cap(server: SimServer, kind: str) -> None:
    # One token of 3,000 characters against a 1,000-byte event (or line) cap.
    client = HttpClient(max_event_bytes=1000)
    result = await probe(target(server, kind, spec(text="x" * 3000), client=client))
    assert result.error_kind is ErrorKind.BAD_RESPONSE, result.error
    assert result.error is not None and "larger than the cap of 1,000 bytes" in result.error


# ---- all at once ---------------------------------------------------------------------------

async def test_runner_classifies_every_kind_and_fault_side_by_side(server: SimServer) -> None:
    # One shared client (pooled connections: a fault must not leak into the next probe on the
    # same connection), three kinds, every fault at once, fewer slots than probes.
    client = HttpClient(limit=6)
    cases = {
        spec(tokens=8): None, spec(tokens=4, reasoning=3): None, spec(status=401): ErrorKind.AUTH,
        spec(status=429): ErrorKind.RATE_LIMIT, spec(status=529): ErrorKind.HTTP_STATUS,
        spec(fault="html"): ErrorKind.BAD_RESPONSE, spec(fault="invalid_json"): ErrorKind.BAD_RESPONSE,
        spec(fault="invalid_utf8"): ErrorKind.BAD_RESPONSE, spec(fault="error_event"): ErrorKind.BAD_RESPONSE,
        spec(fault="no_done"): ErrorKind.BAD_RESPONSE, spec(fault="empty"): ErrorKind.EMPTY,
        spec(fault="reset_mid_stream"): ErrorKind.CONNECT, spec(fault="drop"): ErrorKind.CONNECT,
        spec(fault="hang"): ErrorKind.TIMEOUT, spec(fault="trickle"): ErrorKind.TIMEOUT,
    }
    targets = [CLASSES[kind](kind, server.url_for(kind), models=tuple(cases), api_key=KEY, client=client)
               for kind in KINDS]
    settings = ProbeSettings(prompt="hi", timeout_s=2, concurrency=6)
    run = await asyncio.wait_for(Runner(targets, settings=settings).run(), 60)
    got = {(r.target, r.model): r.error_kind for r in run.results}
    assert got == {(kind, model): expected for kind in KINDS for model, expected in cases.items()}
    assert client.closed
    for r in run.results:
        assert_no_secret(r)
        if r.ok:
            assert r.ttft_s is not None and r.text.startswith("Hello!")


async def test_openai_content_filter_is_the_same_plain_failure(server: SimServer) -> None:
    # The OpenAI kind's word for a safety stop (finish_reason content_filter) fails the same way.
    from rollcall.targets.openai import OpenAITarget

    for stream in (True, False):
        filtered = await probe(OpenAITarget("o", server.base_url, models=(spec(fault="filtered", after=4),),
                                            stream=stream))
        assert filtered.error_kind is ErrorKind.PROVIDER_ERROR, filtered.error
        assert filtered.error == ("ContentFiltered: the provider's content filter stopped the answer "
                                  "(finish_reason content_filter)")
        assert filtered.text == "Hello! I am a" and not filtered.output_tokens_estimated  # the usage still came
        blocked = await probe(OpenAITarget("o", server.base_url, models=(spec(fault="blocked"),), stream=stream))
        assert blocked.error_kind is ErrorKind.PROVIDER_ERROR and blocked.text == ""
