"""The simulated provider fleet over real loopback sockets: every fault mode as a client sees it
(status, headers, bytes), seeded determinism, bounded "forever" modes, shutdown with open streams,
fleet files, and the `rollcall sim` / `rollcall demo` commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from rollcall.sim import (
    Behaviour,
    BehaviourError,
    Fault,
    Fleet,
    FleetError,
    SimServer,
    demo_fleet,
    load_fleet,
    parse_spec,
    run_sim_in_process,
    run_sim_in_thread,
)
from rollcall.sim.behaviour import HUGE_TOKENS

BOUND_S = 10.0  # generous bound on any wait that should end far sooner
MESSAGES = [{"role": "user", "content": "Hello, are you GPT 3.5?"}]

FLEET = Fleet({
    "fast": Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=12),
    "thinker": Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=5, reasoning_tokens=4),
    "fixed": Behaviour(ttft_s=0, tokens_per_s=0, text="one two three"),
})


# ---- helpers -------------------------------------------------------------------------------

@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(FLEET, seed=1) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def url(server: SimServer) -> str:
    return server.base_url + "/chat/completions"


def body(model: str, *, stream: bool = True, usage: bool = False, **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {"model": model, "messages": MESSAGES, "stream": stream, **extra}
    if usage:
        doc["stream_options"] = {"include_usage": True}
    return doc


async def fetch(session: aiohttp.ClientSession, server: SimServer, model: str, **kw: object
                ) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, whole body) of one request."""
    async with asyncio.timeout(BOUND_S):
        async with session.post(url(server), json=body(model, **kw)) as r:  # type: ignore[arg-type]
            return r.status, dict(r.headers), await r.read()


def events(raw: bytes) -> list[tuple[str | None, bytes]]:
    """(event name, data) per SSE event; the data is left as bytes (it may not be UTF-8)."""
    out = []
    for block in raw.split(b"\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                data.append(line[6:])
        if data:
            out.append((name, b"\n".join(data)))
    return out


def chunks(raw: bytes) -> list[dict]:  # type: ignore[type-arg]
    """The JSON chunks of a well-formed stream, without [DONE]."""
    return [json.loads(data) for _, data in events(raw) if data != b"[DONE]"]


def text_of(docs: list[dict], key: str = "content") -> str:  # type: ignore[type-arg]
    return "".join(d["choices"][0]["delta"].get(key) or "" for d in docs if d.get("choices"))


async def wait_idle(server: SimServer) -> None:
    async with asyncio.timeout(BOUND_S):
        while server.active:
            await asyncio.sleep(0.01)


async def wait_active(server: SimServer, n: int) -> None:
    async with asyncio.timeout(BOUND_S):
        while server.active < n:
            await asyncio.sleep(0.01)


# ---- the normal protocol -------------------------------------------------------------------

async def test_models_lists_the_fleet(server: SimServer, session: aiohttp.ClientSession) -> None:
    async with session.get(server.base_url + "/models") as r:
        assert r.status == 200
        doc = await r.json()
    assert doc["object"] == "list"
    assert [m["id"] for m in doc["data"]] == ["fast", "thinker", "fixed"]


async def test_stream_speaks_openai_sse(server: SimServer, session: aiohttp.ClientSession) -> None:
    status, headers, raw = await fetch(session, server, "fast", usage=True)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    assert raw.endswith(b"data: [DONE]\n\n")
    docs = chunks(raw)
    assert all(d["object"] == "chat.completion.chunk" and d["model"] == "fast" for d in docs)
    assert len({d["id"] for d in docs}) == 1
    assert docs[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = [d for d in docs if d["choices"] and d["choices"][0]["delta"].get("content")]
    assert len(content) == 12  # one event per token
    assert text_of(docs).startswith("Hello! I am a simulated model")
    assert docs[-2]["choices"][0]["finish_reason"] == "stop"
    assert docs[-1]["choices"] == []
    assert docs[-1]["usage"]["completion_tokens"] == 12
    assert docs[-1]["usage"]["total_tokens"] == docs[-1]["usage"]["prompt_tokens"] + 12


async def test_usage_only_when_asked(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "fast")
    assert not any("usage" in d for d in chunks(raw))


async def test_whole_completion(server: SimServer, session: aiohttp.ClientSession) -> None:
    status, headers, raw = await fetch(session, server, "fixed", stream=False)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    doc = json.loads(raw)
    assert doc["object"] == "chat.completion"
    assert doc["choices"][0]["message"] == {"role": "assistant", "content": "one two three"}
    assert doc["choices"][0]["finish_reason"] == "stop"
    assert doc["usage"]["completion_tokens"] == 3


async def test_reasoning_comes_before_content(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "thinker")
    kinds = [("reasoning" if d["choices"][0]["delta"].get("reasoning_content") else "content")
             for d in chunks(raw) if d["choices"] and (d["choices"][0]["delta"].get("reasoning_content")
                                                       or d["choices"][0]["delta"].get("content"))]
    assert kinds == ["reasoning"] * 4 + ["content"] * 5
    assert text_of(chunks(raw), "reasoning_content").startswith("The user asks")
    status, _, whole = await fetch(session, server, "thinker", stream=False)
    assert json.loads(whole)["choices"][0]["message"]["reasoning_content"].startswith("The user asks")


async def test_max_tokens_cuts_the_answer(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "fast", max_tokens=3)
    docs = chunks(raw)
    assert text_of(docs) == "Hello! I am"
    assert docs[-1]["choices"][0]["finish_reason"] == "length"


async def test_pacing_and_ttft_follow_the_behaviour(server: SimServer, session: aiohttp.ClientSession) -> None:
    # 10 tokens at 50/s after 0.2 s: at least 0.2 + 9/50 s; generous upper bound for a loaded box.
    loop = asyncio.get_running_loop()
    start = loop.time()
    status, headers, raw = await fetch(session, server, "sim:ttft=0.2,tps=50,tokens=10")
    elapsed = loop.time() - start
    assert status == 200 and float(headers["X-Sim-TTFT"]) == pytest.approx(0.2)
    assert elapsed >= 0.2 + 9 / 50 - 0.01
    assert elapsed < BOUND_S
    assert len([d for d in chunks(raw) if d["choices"] and d["choices"][0]["delta"].get("content")]) == 10


# ---- request errors ------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "status", "needle"), [
    (body("no-such-model"), 404, "does not exist"),
    (body("sim:ttft=slow"), 400, "ttft must be"),
    (body("sim:colour=red"), 400, "unknown setting 'colour'"),
    ({"messages": MESSAGES}, 400, "model"),
    ({"model": "fast", "messages": []}, 400, "messages"),
    (body("fast", max_tokens=0), 400, "max_tokens"),
])
async def test_bad_requests_get_openai_errors(server: SimServer, session: aiohttp.ClientSession,
                                              payload: dict, status: int, needle: str) -> None:  # type: ignore[type-arg]
    async with session.post(url(server), json=payload) as r:
        assert r.status == status
        assert r.headers["Content-Type"].startswith("application/json")
        error = (await r.json())["error"]
    assert needle in error["message"]
    if status == 404:
        assert error["code"] == "model_not_found"


async def test_unparseable_body_is_400(server: SimServer, session: aiohttp.ClientSession) -> None:
    async with session.post(url(server), data=b"{not json") as r:
        assert r.status == 400
        assert "parse" in (await r.json())["error"]["message"]


# ---- fault modes, as the client sees them --------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("status", "kind"), [
    (401, "invalid_request_error"), (403, "permission_error"), (429, "requests"),
    (500, "server_error"), (503, "server_error"),
])
async def test_status_faults(server: SimServer, session: aiohttp.ClientSession, status: int, kind: str,
                             stream: bool) -> None:
    got, headers, raw = await fetch(session, server, f"sim:fault={status},ttft=0", stream=stream)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw)["error"]["type"] == kind
    assert headers.get("Retry-After") == ("7" if status == 429 else None)


async def test_retry_after_is_configurable(server: SimServer, session: aiohttp.ClientSession) -> None:
    got, headers, _ = await fetch(session, server, "sim:status=503,retry_after=30,ttft=0")
    assert (got, headers["Retry-After"]) == (503, "30")


@pytest.mark.parametrize(("spec", "status"), [("sim:fault=html", 200), ("sim:fault=html,status=403", 403)])
async def test_html_challenge(server: SimServer, session: aiohttp.ClientSession, spec: str, status: int) -> None:
    got, headers, raw = await fetch(session, server, spec + ",ttft=0")
    assert got == status
    assert headers["Content-Type"].startswith("text/html")
    assert b"<title>Just a moment...</title>" in raw
    assert (headers.get("cf-mitigated") == "challenge") == (status == 403)


@pytest.mark.parametrize("stream", [True, False])
async def test_drop_closes_before_any_response(server: SimServer, session: aiohttp.ClientSession,
                                               stream: bool) -> None:
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(session, server, "sim:fault=drop,ttft=0", stream=stream)


async def test_reset_mid_stream(server: SimServer, session: aiohttp.ClientSession) -> None:
    received = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with asyncio.timeout(BOUND_S):
            async with session.post(url(server), json=body("sim:fault=reset_mid_stream,after=3,tokens=10,tps=0")) as r:
                assert r.status == 200
                async for chunk in r.content.iter_any():
                    received += chunk
    docs = chunks(received)
    assert text_of(docs) == "Hello! I am"  # exactly the 3 tokens before the reset
    assert b"[DONE]" not in received


async def test_reset_of_a_whole_completion(server: SimServer, session: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(session, server, "sim:fault=reset_mid_stream,ttft=0,tps=0", stream=False)


async def test_invalid_json_chunk(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "sim:fault=invalid_json,after=2,tokens=5,tps=0")
    bad = []
    for _, data in events(raw)[:-1]:  # all but [DONE]
        try:
            json.loads(data)
        except ValueError:
            bad.append(data)
    assert len(bad) == 1 and bad[0].endswith(b'"content":"this chunk is cut off')
    assert raw.endswith(b"data: [DONE]\n\n")  # the stream itself goes on
    _, _, whole = await fetch(session, server, "sim:fault=invalid_json,ttft=0,tps=0", stream=False)
    with pytest.raises(ValueError):
        json.loads(whole)


async def test_invalid_utf8(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "sim:fault=invalid_utf8,after=2,tokens=5,tps=0")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    _, _, whole = await fetch(session, server, "sim:fault=invalid_utf8,ttft=0,tps=0", stream=False)
    with pytest.raises(UnicodeDecodeError):
        whole.decode("utf-8")


async def test_error_event_mid_stream(server: SimServer, session: aiohttp.ClientSession) -> None:
    status, _, raw = await fetch(session, server, "sim:fault=error_event,after=2,tokens=5,tps=0")
    assert status == 200
    evs = events(raw)
    assert evs[-1][0] == "error"
    assert json.loads(evs[-1][1])["error"]["type"] == "server_error"
    assert text_of([json.loads(d) for _, d in evs[:-1]]) == "Hello! I"
    assert b"[DONE]" not in raw


async def test_error_chunk_mid_stream(server: SimServer, session: aiohttp.ClientSession) -> None:
    status, _, raw = await fetch(session, server, "sim:fault=error_chunk,after=1,tokens=5,tps=0")
    docs = chunks(raw)
    assert status == 200 and "error" in docs[-1] and all(name is None for name, _ in events(raw))
    assert raw.endswith(b"data: [DONE]\n\n")
    status, _, whole = await fetch(session, server, "sim:fault=error_chunk,ttft=0", stream=False)
    assert status == 200 and "error" in json.loads(whole)


async def test_no_done(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "sim:fault=no_done,tokens=4,tps=0", usage=True)
    docs = chunks(raw)
    assert b"[DONE]" not in raw
    assert text_of(docs) == "Hello! I am a"
    assert docs[-1]["usage"]["completion_tokens"] == 4


async def test_empty_answer(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "sim:fault=empty,ttft=0", usage=True)
    docs = chunks(raw)
    assert text_of(docs) == "" and docs[-1]["usage"]["completion_tokens"] == 0
    assert raw.endswith(b"data: [DONE]\n\n")
    _, _, whole = await fetch(session, server, "sim:fault=empty,ttft=0", stream=False)
    assert json.loads(whole)["choices"][0]["message"]["content"] == ""


async def test_huge_answer(server: SimServer, session: aiohttp.ClientSession) -> None:
    _, _, raw = await fetch(session, server, "sim:fault=huge,ttft=0")
    assert raw.count(b'"content":"') == HUGE_TOKENS + 1  # + the role chunk
    assert raw.endswith(b"data: [DONE]\n\n")
    _, _, whole = await fetch(session, server, "sim:fault=huge,ttft=0", stream=False)
    assert len(json.loads(whole)["choices"][0]["message"]["content"]) > 1_000_000


async def test_fail_rate_mixes_answers_and_failures(server: SimServer, session: aiohttp.ClientSession) -> None:
    model = "sim:fail=0.5,ttft=0,tps=0,tokens=2"
    statuses = [(await fetch(session, server, model, stream=False))[0] for _ in range(40)]
    assert set(statuses) == {200, 500}
    async with SimServer(FLEET, seed=1) as again:
        assert [(await fetch(session, again, model, stream=False))[0] for _ in range(40)] == statuses


# ---- "forever" modes end with their client -------------------------------------------------

async def test_hang_sends_nothing_and_ends_when_the_client_leaves(
        server: SimServer, session: aiohttp.ClientSession) -> None:
    request = asyncio.ensure_future(session.post(url(server), json=body("sim:fault=hang")))
    await wait_active(server, 1)
    done, _ = await asyncio.wait({request}, timeout=0.3)
    assert not done  # no status line, no headers
    request.cancel()
    await asyncio.wait({request})
    await wait_idle(server)


@pytest.mark.parametrize(("stream", "filler"), [(True, b":."), (False, b" ")])
async def test_trickle_sends_bytes_but_no_event(server: SimServer, session: aiohttp.ClientSession,
                                                stream: bool, filler: bytes) -> None:
    async with asyncio.timeout(BOUND_S):
        async with session.post(url(server), json=body("sim:fault=trickle", stream=stream)) as r:
            assert r.status == 200
            got = b""
            while len(got) < 4:
                got += await r.content.read(1)
            assert set(got) <= set(filler + b" \n")
            assert b"data" not in got
            r.close()
    await wait_idle(server)


@pytest.mark.parametrize("stream", [True, False])
async def test_endless_never_finishes_and_ends_when_the_client_leaves(
        server: SimServer, session: aiohttp.ClientSession, stream: bool) -> None:
    async with asyncio.timeout(BOUND_S):
        async with session.post(url(server), json=body("sim:fault=endless,tokens=5,tps=2000,ttft=0", stream=stream)) as r:
            got = b""
            while got.count(b"Hello!") < 4:  # the 5-token answer came round four times
                got += await r.content.readany()
            r.close()
    assert b"finish_reason\":\"stop" not in got and b"[DONE]" not in got
    await wait_idle(server)


# ---- shutdown ------------------------------------------------------------------------------

async def test_close_does_not_wait_for_open_streams(session: aiohttp.ClientSession) -> None:
    server = SimServer(FLEET)
    await server.start()
    port = server.port

    async def read(model: str, stream: bool = True) -> bytes:
        async with session.post(url(server), json=body(model, stream=stream)) as r:
            return await r.read()

    models = ["sim:fault=hang", "sim:fault=trickle", "sim:fault=endless,tps=20", "sim:ttft=60",
              "sim:fault=trickle,status=200"]
    clients = [asyncio.ensure_future(read(m)) for m in models] + [asyncio.ensure_future(read("sim:ttft=60", False))]
    await wait_active(server, len(clients))
    async with asyncio.timeout(BOUND_S):
        await server.close()
    async with asyncio.timeout(BOUND_S):
        outcomes = await asyncio.gather(*clients, return_exceptions=True)
    assert all(isinstance(o, aiohttp.ClientError) for o in outcomes), outcomes
    assert server.active == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=BOUND_S).close()


# ---- determinism ---------------------------------------------------------------------------

async def _answers(session: aiohttp.ClientSession, seed: int, noise: bool = False) -> list[tuple[str, str]]:
    model = "sim:jitter=0.05,ttft=0.05,tokens=30,tps=0"
    out = []
    async with SimServer(FLEET, seed=seed) as server:
        for _ in range(3):
            if noise:  # other models' requests must not change this model's sequence
                await fetch(session, server, "sim:tokens=7,ttft=0")
            _, headers, raw = await fetch(session, server, model)
            out.append((headers["X-Sim-TTFT"], text_of(chunks(raw))))
    return out


async def test_same_seed_same_run(session: aiohttp.ClientSession) -> None:
    first = await _answers(session, seed=5)
    assert await _answers(session, seed=5, noise=True) == first
    assert len({ttft for ttft, _ in first}) == 3 and len({text for _, text in first}) == 3  # requests differ
    assert await _answers(session, seed=6) != first


# ---- behaviours, specs and fleet files -----------------------------------------------------

def test_spec_syntax_matches_the_dataclass() -> None:
    assert parse_spec("sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream") == Behaviour(
        ttft_s=0.2, tokens_per_s=50, answer_tokens=20, fault=Fault.RESET_MID_STREAM)
    assert parse_spec("sim:fault=429") == Behaviour(status=429) == Behaviour(fault="status", status=429)
    assert Behaviour(status=429).retry_after_s == 7
    assert parse_spec("sim:fault=reasoning").reasoning_tokens > 0
    assert parse_spec("sim:").fault is Fault.NONE and parse_spec("sim:").fail_rate == 0
    assert Behaviour(fail_rate=0.3).fault is Fault.STATUS and Behaviour(fail_rate=0.3).status == 500
    assert Behaviour(fault="hang").fail_rate == 1


@pytest.mark.parametrize(("spec", "needle"), [
    ("sim:ttft=-1", "ttft must be a number >= 0"),
    ("sim:fail=2", "fail_rate must be between 0 and 1"),
    ("sim:tokens=2.5", "tokens must be a whole number"),
    ("sim:fault=explode", "fault must be one of"),
    ("sim:status=99", "status must be between 100 and 599"),
    ("sim:ttft", "expected key=value"),
    ("sim:speed=3", "unknown setting 'speed'"),
])
def test_spec_errors_name_the_field(spec: str, needle: str) -> None:
    with pytest.raises(BehaviourError, match=needle) as info:
        parse_spec(spec)
    assert spec in str(info.value) and "\n" not in str(info.value)


def test_fleet_file(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text('seed = 4\n[a]\nttft = 0.5\ntps = 10\n["org/b"]\nstatus = 429\nretry_after = 3\n')
    fleet = load_fleet(path)
    assert fleet.seed == 4 and fleet.names == ("a", "org/b")
    assert fleet.models["a"] == Behaviour(ttft_s=0.5, tokens_per_s=10)
    assert fleet.models["org/b"] == Behaviour(status=429, retry_after_s=3)
    assert fleet.behaviour_for("sim:tokens=3") == Behaviour(answer_tokens=3)
    assert fleet.behaviour_for("c") is None


@pytest.mark.parametrize(("text", "needle"), [
    ("[a]\nttft = 'soon'\n", "[a]: ttft must be a number >= 0, got 'soon'"),
    ("[a]\nspeed = 3\n", "[a]: unknown setting 'speed'"),
    ("[a\n", "invalid TOML"),
    ("seed = 1\n", "no models"),
    ("port = 8\n[a]\n", "unknown top-level setting 'port'"),
    ("seed = 'x'\n[a]\n", "seed must be a whole number"),
    ('["sim:x"]\n', "must not start with 'sim:'"),
])
def test_fleet_errors_name_file_model_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(FleetError) as info:
        load_fleet(path)
    assert str(info.value).startswith(f"{path}: ") and needle in str(info.value)


def test_missing_fleet_file(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="cannot read the fleet file"):
        load_fleet(tmp_path / "nope.toml")


def test_demo_fleet_covers_every_fault() -> None:
    fleet = demo_fleet()
    assert len(fleet.models) >= 20
    faults = {b.fault for b in fleet.models.values()}
    assert faults >= set(Fault) - {Fault.ERROR_CHUNK}
    assert {b.status for b in fleet.models.values() if b.fault is Fault.STATUS} >= {401, 403, 429, 500, 503}
    assert {b.status for b in fleet.models.values() if b.fault is Fault.HTML} == {200, 403}
    assert any(b.reasoning_tokens for b in fleet.models.values())


# ---- background runners --------------------------------------------------------------------

def test_run_sim_in_thread_serves_and_releases_the_port() -> None:
    with run_sim_in_thread(FLEET, seed=2) as base_url:
        with urllib.request.urlopen(base_url + "/models", timeout=BOUND_S) as r:
            assert [m["id"] for m in json.load(r)["data"]] == list(FLEET.names)
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=BOUND_S).close()


def test_run_sim_in_thread_reports_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            with run_sim_in_thread(port=taken.getsockname()[1]):
                pass


def test_run_sim_in_process_serves_the_fleet_and_stops() -> None:
    with run_sim_in_process(FLEET, seed=2) as base_url:
        with urllib.request.urlopen(base_url + "/models", timeout=BOUND_S) as r:
            assert [m["id"] for m in json.load(r)["data"]] == list(FLEET.names)
        with urllib.request.urlopen(base_url.removesuffix("/v1") + "/", timeout=BOUND_S) as r:
            assert json.load(r)["seed"] == 2
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=BOUND_S).close()


def test_run_sim_in_process_reports_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match="Address already in use"):
            with run_sim_in_process(port=taken.getsockname()[1]):
                pass


# ---- the commands --------------------------------------------------------------------------

def rollcall(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Without PYTHONUNBUFFERED: under it, CPython's stdout drops the rest of a write the kernel
    # cut short (seen here: `--json -` of ~200 KB cut at 64 KiB); reported to reports/json.py's owner.
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    env.pop("PYTHONUNBUFFERED", None)
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_sim_command_serves_until_interrupted(tmp_path: Path, stop: int) -> None:
    fleet = tmp_path / "f.toml"
    fleet.write_text("[alpha]\nttft = 0\n[beta]\nstatus = 401\n")
    proc = subprocess.Popen([sys.executable, "-m", "rollcall", "sim", "--port", "0", "--fleet", str(fleet)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "serving 2 models at http://127.0.0.1:" in first
        base_url = first.split(" at ")[1].split()[0]
        listing = [proc.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
        assert "alpha" in listing[0] and "status 401" in listing[1] and "sim:" in listing[2]
        root = base_url.removesuffix("/v1")
        assert f"openai {base_url}, anthropic {root}, gemini {root}, ollama {root}" in listing[3]
        with urllib.request.urlopen(base_url + "/models", timeout=BOUND_S) as r:
            assert [m["id"] for m in json.load(r)["data"]] == ["alpha", "beta"]
        proc.send_signal(stop)
        assert proc.wait(timeout=BOUND_S) == 0  # an orderly stop, whichever signal asked for it
        assert "stopped" in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=BOUND_S)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def test_sim_command_bad_fleet_and_taken_port(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[a]\ntps = 'fast'\n")
    result = rollcall("sim", "--fleet", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"rollcall: error: {bad}: [a]: tps must be a number >= 0, got 'fast'"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = rollcall("sim", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == f"rollcall: error: cannot listen on 127.0.0.1:{port}: Address already in use"


# What each demo provider must come out as, per DESIGN.md's error kinds. Where DESIGN.md allows
# two readings (a 403 challenge page is both a 403 and "HTML where JSON was expected"), both pass.
DEMO_EXPECTED = {
    "swift": {None}, "steady": {None}, "sluggish": {None}, "thinker": {None}, "chatty": {None},
    "no-done": {None}, "flaky": {None, "http_status"},
    "no-key": {"auth"}, "forbidden": {"auth"}, "throttled": {"rate_limit"},
    "crashing": {"http_status"}, "overloaded": {"http_status"},
    "challenged": {"auth", "bad_response"}, "captcha": {"bad_response"},
    "garbled": {"bad_response"}, "mojibake": {"bad_response"}, "error-event": {"bad_response"},
    "firehose": {"bad_response"}, "silent": {"empty"},
    "filtered": {"provider_error"}, "blocked": {"provider_error"},  # ContentFiltered: safety stops
    "cut-off": {"connect", "bad_response"}, "hangup": {"connect"}, "offline": {"connect"},
    "hangs": {"timeout"}, "trickles": {"timeout"}, "endless": {"timeout"},
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("demo") / "demo.json"
    result = rollcall("demo", "--json", str(out))
    return result, json.loads(out.read_text()) if out.exists() else {}


def test_demo_classifies_every_provider(demo_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:  # type: ignore[type-arg]
    result, doc = demo_run
    assert result.returncode == 0, result.stderr
    assert doc["schema"] == "rollcall.run/1" and doc["run"]["settings"]["demo"] is True
    kinds = {r["target"]: r["error_kind"] for r in doc["results"]}
    assert set(kinds) == set(DEMO_EXPECTED)
    wrong = {t: k for t, k in kinds.items() if k not in DEMO_EXPECTED[t]}
    assert not wrong
    every_http_kind = {"timeout", "connect", "auth", "rate_limit", "http_status", "bad_response", "empty"}
    assert every_http_kind <= set(kinds.values())
    by_target = {r["target"]: r for r in doc["results"]}
    assert by_target["throttled"]["retry_after_s"] == 30 and by_target["throttled"]["status"] == 429
    assert by_target["thinker"]["reasoning"].startswith("The user asks")
    assert by_target["swift"]["text"].startswith("Hello! I am a simulated model")
    # The never-ending providers are stopped by the 3 s deadline, not later.
    timeout_s = doc["run"]["settings"]["timeout_s"]
    assert all(r["total_s"] < timeout_s + 1.0 for r in doc["results"])


def test_demo_prints_the_report(demo_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:  # type: ignore[type-arg]
    result, doc = demo_run
    out = result.stdout
    assert f"{sum(r['ok'] for r in doc['results'])} ok, " in out
    for kind in ("rate_limit", "timeout", "bad_response"):
        assert kind in out
    assert "Traceback" not in result.stderr + out


def test_demo_json_to_stdout_quiet() -> None:
    result = rollcall("demo", "--json", "-", "-q", "--timeout", "0.5", "--repeat", "2")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["results"]) == 2 * len(DEMO_EXPECTED)
    assert " ok, " in result.stderr


def test_demo_records_history_only_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    quiet_env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "ROLLCALL_STORE": str(home / "env.sqlite3")}
    assert rollcall("demo", "-q", "-t", "0.3", env=quiet_env).returncode == 0
    assert not home.exists()  # neither the default store nor $ROLLCALL_STORE was touched
    store = tmp_path / "history.sqlite3"
    assert rollcall("demo", "-q", "-t", "0.3", "--store", str(store), env=quiet_env).returncode == 0
    listing = rollcall("runs", "--store", str(store), "--json", env=quiet_env)
    runs = json.loads(listing.stdout)["runs"]
    assert len(runs) == 1 and runs[0]["settings"]["demo"] is True and runs[0]["targets"] == len(DEMO_EXPECTED)


def test_demo_bad_options() -> None:
    result = rollcall("demo", "--timeout", "0")
    assert result.returncode == 2 and "'0' must be more than 0" in result.stderr
    assert "Traceback" not in result.stderr
