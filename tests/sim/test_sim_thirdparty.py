"""Real third-party clients and servers against the simulator, to prove it speaks the protocol:
(a) the official `openai` Python client, sync and async, streaming and not, and its exception
types; (b) g4f's own OpenAI-compatible API server (`g4f api`) started on loopback and pointed at
the simulator through its per-request `provider` URL, then probed by rollcall as an openai target.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import openai
import pytest

from rollcall.probe import run_probe
from rollcall.sim import Behaviour, Fleet, SimServer, run_sim_in_thread
from rollcall.targets.base import ProbeRequest

BOUND_S = 10.0
CANARY = "rollcall simulator canary 7f3a answering"  # an answer nothing else would produce
MESSAGES = [{"role": "user", "content": "Hello, are you GPT 3.5?"}]

FLEET = Fleet({
    "canary": Behaviour(ttft_s=0.01, tokens_per_s=500, text=CANARY),
    "thinker": Behaviour(ttft_s=0.01, tokens_per_s=0, reasoning_tokens=3, answer_tokens=4),
    "throttled": Behaviour(ttft_s=0, status=429, retry_after_s=2),
})
CANARY_TOKENS = len(CANARY.split())


# ---- (a) the openai client -----------------------------------------------------------------

@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(FLEET, seed=3) as server:
        yield server


async def test_async_openai_streams_with_usage(sim: SimServer) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="x", max_retries=0, timeout=BOUND_S) as client:
        stream = await client.chat.completions.create(
            model="canary", messages=MESSAGES, stream=True, stream_options={"include_usage": True})  # type: ignore[arg-type]
        pieces, usage, finish = [], None, None
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage
    assert "".join(pieces) == CANARY
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == CANARY_TOKENS


async def test_async_openai_sees_reasoning_and_models(sim: SimServer) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="x", max_retries=0, timeout=BOUND_S) as client:
        stream = await client.chat.completions.create(model="thinker", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        order = []
        async for chunk in stream:
            delta = chunk.choices[0].delta if chunk.choices else None
            if delta is not None and getattr(delta, "reasoning_content", None):
                order.append("reasoning")
            if delta is not None and delta.content:
                order.append("content")
        models = [m.id async for m in client.models.list()]
    assert order == ["reasoning"] * 3 + ["content"] * 4
    assert models == ["canary", "thinker", "throttled"]


def test_sync_openai_whole_and_streamed() -> None:
    with run_sim_in_thread(FLEET) as base_url, openai.OpenAI(
            base_url=base_url, api_key="x", max_retries=0, timeout=BOUND_S) as client:
        whole = client.chat.completions.create(model="canary", messages=MESSAGES)  # type: ignore[arg-type]
        streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="canary", messages=MESSAGES, stream=True) if c.choices)  # type: ignore[arg-type]
    assert whole.choices[0].message.content == CANARY
    assert whole.choices[0].finish_reason == "stop"
    assert whole.usage is not None and whole.usage.completion_tokens == CANARY_TOKENS
    assert streamed == CANARY


@pytest.mark.parametrize(("model", "error"), [
    ("sim:fault=401", openai.AuthenticationError),
    ("sim:fault=403", openai.PermissionDeniedError),
    ("sim:fault=429", openai.RateLimitError),
    ("sim:fault=500", openai.InternalServerError),
    ("sim:fault=503", openai.InternalServerError),
    ("no-such-model", openai.NotFoundError),
    ("sim:fault=drop", openai.APIConnectionError),
])
@pytest.mark.parametrize("stream", [True, False])
async def test_openai_exception_types(sim: SimServer, model: str, error: type[Exception], stream: bool) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="x", max_retries=0, timeout=BOUND_S) as client:
        with pytest.raises(error) as info:
            response = await client.chat.completions.create(
                model=model + (",ttft=0" if model.startswith("sim:") else ""), messages=MESSAGES,  # type: ignore[arg-type]
                stream=stream)
            if stream:
                async for _ in response:  # type: ignore[union-attr]
                    pass
    if error is openai.RateLimitError:
        assert info.value.response.headers["retry-after"] == "7"  # type: ignore[attr-defined]


async def test_openai_raises_on_an_error_mid_stream(sim: SimServer) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="x", max_retries=0, timeout=BOUND_S) as client:
        stream = await client.chat.completions.create(
            model="sim:fault=error_chunk,after=2,tokens=6,ttft=0", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        got = []
        with pytest.raises(openai.APIError, match="The server had an error"):
            async for chunk in stream:
                got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "Hello! I"


# ---- (b) g4f's API server in front of the simulator ----------------------------------------

G4F_START_BOUND_S = 90.0  # `import g4f` plus FastAPI start; 1 s here, generous for a loaded CI box


def _seed_g4f_cache(config_dir: Path) -> None:
    """g4f's API server fetches a provider list from the internet at start unless that day's
    cache file exists (G4F-NOTES.md); seed today and tomorrow in case the test spans midnight."""
    doc = {"providers": {"default": {"baseUrl": "http://127.0.0.1:9/v1"}}, "defaultModels": {}}
    for day in (dt.date.today(), dt.date.today() + dt.timedelta(days=1)):
        path = config_dir / "cache" / ".models" / day.strftime("%Y-%m-%d") / "providers.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def g4f_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(g4f API root URL, simulator base URL): `g4f api` on a free loopback port, our sim behind it."""
    config_dir = tmp_path_factory.mktemp("g4f-config")
    _seed_g4f_cache(config_dir)
    env = {**os.environ, "G4F_CONFIG_DIR": str(config_dir), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    with run_sim_in_thread(FLEET, seed=3) as sim_url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "g4f.cli", "api", "--bind", "127.0.0.1:0", "--no-gui",
             "--disable-pa-auto-download"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=config_dir,
        )
        lines: queue.Queue[str] = queue.Queue()

        def drain() -> None:  # read forever so the server never blocks on a full pipe
            for raw in proc.stdout:  # type: ignore[union-attr]
                lines.put(raw.decode("utf-8", "replace"))
            lines.put("")

        reader = threading.Thread(target=drain, name="g4f-api-output", daemon=True)
        reader.start()
        try:
            seen: list[str] = []
            port = None
            deadline = dt.datetime.now() + dt.timedelta(seconds=G4F_START_BOUND_S)
            while port is None:
                left = (deadline - dt.datetime.now()).total_seconds()
                try:
                    line = lines.get(timeout=max(0.01, left))
                except queue.Empty:
                    pytest.fail(f"g4f api did not start within {G4F_START_BOUND_S:g} s: {''.join(seen)[-2000:]}")
                if line == "":
                    pytest.fail(f"g4f api exited at start ({proc.wait(BOUND_S)}): {''.join(seen)[-2000:]}")
                seen.append(line)
                match = re.search(r"running on \S*?http://127\.0\.0\.1:(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", line))
                port = int(match.group(1)) if match else None
            yield f"http://127.0.0.1:{port}", sim_url
        finally:
            proc.terminate()
            try:
                proc.wait(BOUND_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(BOUND_S)
            reader.join(BOUND_S)
            proc.stdout.close()  # type: ignore[union-attr]


async def test_g4f_api_relays_our_answer(g4f_api: tuple[str, str]) -> None:
    root, sim_url = g4f_api
    payload = {"model": "canary", "provider": sim_url, "messages": MESSAGES}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.post(root + "/v1/chat/completions", json=payload) as r:
            assert r.status == 200, await r.text()
            doc = await r.json()
        async with session.post(root + "/v1/chat/completions", json={**payload, "stream": True}) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/event-stream")
            raw = await r.read()
    assert doc["choices"][0]["message"]["content"] == CANARY
    assert doc["usage"]["completion_tokens"] == CANARY_TOKENS
    chunks = [json.loads(line[6:]) for line in raw.decode().splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")) == CANARY


async def test_g4f_api_probed_as_an_openai_target(g4f_api: tuple[str, str]) -> None:
    """rollcall's own HTTP target against g4f's server, the provider URL in g4f's path form
    /{mode}/{provider}/chat/completions."""
    from rollcall.targets.openai import HttpClient, OpenAITarget

    root, sim_url = g4f_api
    client = HttpClient(limit=4)
    target = OpenAITarget("g4f-api", f"{root}/relay/{sim_url}", models=("canary", "throttled"), client=client)
    try:
        ok = await run_probe(target, ProbeRequest(model="canary"), timeout_s=30)
        limited = await run_probe(target, ProbeRequest(model="throttled"), timeout_s=30)
    finally:
        await target.aclose()
    assert ok.ok, ok.error
    assert ok.text == CANARY and ok.output_tokens == CANARY_TOKENS and not ok.output_tokens_estimated
    assert ok.ttft_s is not None and ok.headers_s is not None
    # Our 429 travels through g4f (its RateLimitError) and back as a 429.
    assert (limited.ok, str(limited.error_kind), limited.status) == (False, "rate_limit", 429), limited.error


async def test_g4f_api_with_the_provider_in_the_body(g4f_api: tuple[str, str], tmp_path) -> None:
    """The documented form: a config target whose extra_body carries g4f's "provider" field."""
    from rollcall.config import parse_config
    from rollcall.plan import build_plan

    root, sim_url = g4f_api
    config = parse_config(f"""
[[target]]
name = "g4f-api"
kind = "openai"
base_url = "{root}/v1"
model = "canary"
extra_body = {{ provider = "{sim_url}" }}
""")
    (target,) = build_plan(config).targets
    try:
        result = await run_probe(target, ProbeRequest(model="canary"), timeout_s=30)
    finally:
        await target.aclose()
    assert result.ok, result.error
    assert result.text == CANARY
