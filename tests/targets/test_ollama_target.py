"""OllamaTarget: what it sends, how it reads /api/chat's NDJSON lines and errors, the server's own
timings beside rollcall's, /api/tags. (The fault catalogue on its protocol is in test_native_faults.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from recording import Recorder, Reply, serve

from rollcall.http import HttpClient
from rollcall.models import ErrorKind, ProbeResult, ServerTimings
from rollcall.probe import run_probe
from rollcall.sim import Behaviour, Fleet, SimServer
from rollcall.targets.base import ProbeError, ProbeRequest, Target
from rollcall.targets.ollama import OllamaTarget
from transports import transport  # noqa: F401  (every test over both HTTP transports)

NDJSON = "application/x-ndjson"


@pytest.fixture
async def fake() -> AsyncIterator[Recorder]:
    async for recorder in serve():
        yield recorder


def target(url: str, **kwargs: object) -> OllamaTarget:
    kwargs.setdefault("models", ("llama3.2",))
    return OllamaTarget("local", url, **kwargs)  # type: ignore[arg-type]


async def probe(t: OllamaTarget, **request: object) -> ProbeResult:
    try:
        return await run_probe(t, ProbeRequest(prompt="hi", model=t.models[0], **request), timeout_s=10)  # type: ignore[arg-type]
    finally:
        await t.aclose()


def line(content: str = "", thinking: str | None = None, **fields: object) -> bytes:
    message: dict = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    return json.dumps({"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z", "message": message,
                       "done": False, **fields}, ensure_ascii=False).encode() + b"\n"


DONE = {"done": True, "done_reason": "stop", "total_duration": 2_500_000_000, "load_duration": 2_000_000_000,
        "prompt_eval_count": 7, "prompt_eval_duration": 100_000_000, "eval_count": 3, "eval_duration": 300_000_000}


async def test_the_request_as_ollama_wants_it(fake: Recorder) -> None:
    fake.replies["/api/chat"] = Reply([line("Hi"), line(**DONE)], content_type=NDJSON)
    result = await probe(target(fake.url, extra_body={"options": {"temperature": 0}, "think": True}), max_tokens=12)
    assert result.ok, result.error
    seen = fake.seen[0]
    assert (seen.method, seen.path) == ("POST", "/api/chat")
    assert "Authorization" not in seen.headers  # a local server needs no key
    assert seen.body == {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                         "think": True, "options": {"temperature": 0, "num_predict": 12}}


async def test_a_key_goes_as_bearer_for_proxies_in_front(fake: Recorder) -> None:
    fake.replies["/api/chat"] = Reply([line("Hi"), line(**DONE)], content_type=NDJSON)
    await probe(target(fake.url, api_key="ollama-proxy-key-123456"))
    assert fake.seen[0].headers["Authorization"] == "Bearer ollama-proxy-key-123456"


async def test_the_servers_timings_sit_beside_rollcalls(fake: Recorder) -> None:
    fake.replies["/api/chat"] = Reply([line(thinking="Hmm. "), line("Hel"), line("lo"), line(**DONE)],
                                      content_type=NDJSON)
    result = await probe(target(fake.url))
    assert result.ok, result.error
    assert (result.reasoning, result.text, result.output_tokens) == ("Hmm. ", "Hello", 3)
    assert result.server_timings == ServerTimings(total_s=2.5, load_s=2.0, prompt_eval_s=0.1, eval_s=0.3,
                                                  prompt_tokens=7, eval_tokens=3)
    assert result.server_timings.eval_tokens_per_s == pytest.approx(10.0)
    assert result.to_dict()["server_timings"]["load_s"] == 2.0


async def test_implausible_timings_are_dropped_not_reported(fake: Recorder) -> None:
    odd = {**DONE, "load_duration": -5, "eval_duration": "300", "total_duration": 2**80, "eval_count": 1e300}
    fake.replies["/api/chat"] = Reply([line("Hi"), line(**odd)], content_type=NDJSON)
    result = await probe(target(fake.url))
    assert result.ok and result.output_tokens_estimated
    assert result.server_timings == ServerTimings(prompt_eval_s=0.1, prompt_tokens=7)


async def test_a_cold_load_shows_as_the_servers_load_time() -> None:
    # The simulator's `load` is a cold model load on the model's first request: Ollama reports
    # it as load_duration, and rollcall's own time to first token includes it.
    fleet = Fleet({"cold": Behaviour(ttft_s=0.05, tokens_per_s=0, answer_tokens=4, load_s=0.4)})
    async with SimServer(fleet) as server:
        t = OllamaTarget("local", server.url_for("ollama"), models=("cold",))
        first = await probe(t)
        second = await probe(t)
    assert first.ok and second.ok
    assert first.server_timings is not None and second.server_timings is not None
    assert first.server_timings.load_s is not None and first.server_timings.load_s >= 0.4
    assert first.ttft_s is not None and first.ttft_s >= 0.4
    assert second.server_timings.load_s is not None and second.server_timings.load_s < 0.4  # warm now
    assert first.server_timings.eval_tokens == 4


async def test_whole_reply_with_timings(fake: Recorder) -> None:
    body = json.dumps({"model": "llama3.2", "message": {"role": "assistant", "content": "Whole."}, **DONE}).encode()
    fake.replies["/api/chat"] = Reply(body)
    result = await probe(target(fake.url, stream=False))
    assert result.ok and result.text == "Whole." and result.server_timings is not None
    assert fake.seen[0].body["stream"] is False


async def test_lines_split_across_writes_and_a_last_line_without_newline(fake: Recorder) -> None:
    raw = line("naïve 🎉") + line(" ok") + json.dumps(DONE).encode()  # no newline after the last line
    cut = raw.index("🎉".encode()) + 2
    fake.replies["/api/chat"] = Reply([raw[:cut], raw[cut:]], content_type=NDJSON)
    result = await probe(target(fake.url))
    assert result.ok, result.error
    assert result.text == "naïve 🎉 ok"


async def test_an_error_line(fake: Recorder) -> None:
    fake.replies["/api/chat"] = Reply([line("Par"), b'{"error": "an error was encountered while running the model"}\n'],
                                      content_type=NDJSON)
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.BAD_RESPONSE and result.text == "Par"
    assert result.error is not None and "an error was encountered while running the model" in result.error


async def test_an_unknown_model(fake: Recorder) -> None:
    fake.replies["/api/chat"] = Reply(b'{"error": "model \\"llama9\\" not found, try pulling it first"}', status=404)
    result = await probe(target(fake.url, models=("llama9",)))
    assert result.error_kind is ErrorKind.HTTP_STATUS and result.status == 404
    assert result.error is not None and 'model "llama9" not found, try pulling it first' in result.error


async def test_a_message_of_the_wrong_shape(fake: Recorder) -> None:
    fake.replies["/api/chat"] = Reply([b'{"message": {"content": 5}, "done": false}\n'], content_type=NDJSON)
    result = await probe(target(fake.url))
    assert result.error_kind is ErrorKind.BAD_RESPONSE
    assert result.error is not None and "'message.content' is a int, not text" in result.error


async def test_list_models(fake: Recorder) -> None:
    fake.replies["/api/tags"] = Reply(b'{"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"},'
                                      b' {"name": "qwen3:8b"}, {"model": "no name"}]}')
    client = HttpClient()
    try:
        assert await target(fake.url, client=client).list_models() == ["llama3.2:latest", "qwen3:8b"]
        fake.replies["/api/tags"] = Reply(b'{"nope": []}')
        with pytest.raises(ProbeError, match="no 'models' array"):
            await target(fake.url, client=client).list_models()
    finally:
        await client.aclose()


def test_construction() -> None:
    t = OllamaTarget("local", models=("llama3.2",))
    assert isinstance(t, Target) and t.kind == "ollama" and t.base_url == "http://localhost:11434"
    with pytest.raises(ValueError, match="models must name each model"):
        OllamaTarget("local", models=("",))
    with pytest.raises(ValueError, match="base_url must be an http"):
        OllamaTarget("local", "localhost:11434", models=("m",))
