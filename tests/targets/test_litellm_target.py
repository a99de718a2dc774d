"""The litellm kind: real LiteLLM streaming from the simulator on loopback, through its OpenAI and
Anthropic protocols (`openai/...` and `anthropic/...` model strings with `api_base`): answers,
reasoning, usage, every failure classified, secrets scrubbed, deadlines kept when LiteLLM blocks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import litellm as litellm_module
import pytest

from rollcall.models import ErrorKind
from rollcall.probe import run_probe
from rollcall.sim import Behaviour, Fleet, SimServer
from rollcall.targets import litellm as kind
from rollcall.targets.base import ProbeRequest
from rollcall.targets.litellm import TIMING, LiteLLMTarget

KEY = "sk-sim-litellm-5ecret-0123456789"
CANARY = "rollcall litellm canary 4b2e answering"
BOUND_S = 20.0  # a deadline no healthy probe comes near
FLEET = Fleet({
    "canary": Behaviour(ttft_s=0.01, tokens_per_s=200, text=CANARY),
    "thinker": Behaviour(ttft_s=0.01, tokens_per_s=0, reasoning_tokens=3, answer_tokens=4),
    "e401": Behaviour(status=401),
    "e403": Behaviour(status=403),
    "e404": Behaviour(status=404),
    "e429": Behaviour(status=429, retry_after_s=3),
    "e500": Behaviour(status=500),
    "e503": Behaviour(status=503),
    "e529": Behaviour(status=529),
    "drop": Behaviour(fault="drop"),
    "reset": Behaviour(fault="reset_mid_stream", after_tokens=3),
    "hang": Behaviour(fault="hang"),
    "trickle": Behaviour(fault="trickle"),
    "badjson": Behaviour(fault="invalid_json", after_tokens=3),
    "errevent": Behaviour(fault="error_event", after_tokens=3),
    "errchunk": Behaviour(fault="error_chunk", after_tokens=3),
    "html": Behaviour(fault="html"),
    "empty": Behaviour(fault="empty"),
    "echo": Behaviour(status=401, echo_key=True),
})
PROTOCOLS = ("openai", "anthropic")
# LiteLLM's own use of pydantic warns (deprecated attributes, ReadOnly TypedDicts) on its first
# calls. Those warnings are LiteLLM's business (users never see them: LiteLLM's thread is muted);
# nothing else is ignored.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:litellm"),
    pytest.mark.filterwarnings("ignore:Items? .* on TypedDict class .* `ReadOnly` qualifier:UserWarning"),
]


@pytest.fixture(scope="module", autouse=True)
def imported() -> None:
    """`import litellm` takes seconds: done once, before any deadline starts."""
    assert kind.ready() is None


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(FLEET, seed=11) as server:
        yield server


def target(sim: SimServer, protocol: str, model: str, **kwargs: object) -> LiteLLMTarget:
    kwargs.setdefault("api_key", KEY)
    return LiteLLMTarget(f"ll-{protocol}", [f"{protocol}/{model}"], api_base=sim.url_for(protocol), **kwargs)  # type: ignore[arg-type]


async def probe(t: LiteLLMTarget, timeout_s: float = BOUND_S, max_tokens: int | None = 256):
    return await run_probe(t, ProbeRequest(model=t.models[0], max_tokens=max_tokens), timeout_s=timeout_s)


# ---- answers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streams_an_answer_with_usage(sim: SimServer, protocol: str) -> None:
    result = await probe(target(sim, protocol, "canary"))
    assert result.ok, result.error
    assert (result.kind, result.target, result.model) == ("litellm", f"ll-{protocol}", f"{protocol}/canary")
    assert result.text == CANARY
    assert result.output_tokens == len(CANARY.split()) and not result.output_tokens_estimated
    assert result.status == 200
    assert result.headers_s is not None and result.ttft_s is not None
    assert result.headers_s <= result.ttft_s <= result.total_s
    assert result.tokens_per_s is not None  # chunks stamped one by one, not all at the end


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reasoning_is_kept_apart_from_the_answer(sim: SimServer, protocol: str) -> None:
    result = await probe(target(sim, protocol, "thinker"))
    assert result.ok, result.error
    assert result.reasoning.startswith("The user asks")
    assert result.text == "Hello! I am a"
    assert result.output_tokens == 7 and not result.output_tokens_estimated  # 3 reasoning + 4 answer


async def test_the_target_says_how_it_is_timed(sim: SimServer) -> None:
    t = target(sim, "openai", "canary")
    assert t.meta["timing"] == TIMING and "LiteLLM hands rollcall each chunk" in TIMING
    assert await t.list_models() == ["openai/canary"]
    assert "sk-" not in repr(t)


async def test_many_probes_share_litellms_loop(sim: SimServer) -> None:
    t = target(sim, "openai", "canary")
    results = await asyncio.gather(*(probe(t) for _ in range(12)))
    assert [r.text for r in results] == [CANARY] * 12


# ---- failures -----------------------------------------------------------------------------------

FAILURES = [
    # model, kind, status (None: no HTTP status; 200: the stream had begun)
    ("e401", ErrorKind.AUTH, 401),
    ("e403", ErrorKind.AUTH, 403),
    ("e404", ErrorKind.HTTP_STATUS, 404),
    ("e429", ErrorKind.RATE_LIMIT, 429),
    ("e500", ErrorKind.HTTP_STATUS, 500),
    ("e503", ErrorKind.HTTP_STATUS, 503),
    ("e529", ErrorKind.HTTP_STATUS, 529),  # Anthropic's overloaded_error: LiteLLM says 500
    ("drop", ErrorKind.CONNECT, None),
    ("reset", ErrorKind.CONNECT, 200),
    ("badjson", ErrorKind.BAD_RESPONSE, 200),
    ("errevent", ErrorKind.BAD_RESPONSE, 200),
    ("errchunk", ErrorKind.BAD_RESPONSE, 200),
    ("html", ErrorKind.BAD_RESPONSE, 200),
    ("empty", ErrorKind.EMPTY, 200),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("model", "error_kind", "status"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_failures_are_classified(sim: SimServer, protocol: str, model: str, error_kind: ErrorKind,
                                       status: int | None) -> None:
    result = await probe(target(sim, protocol, model))
    assert not result.ok
    assert (result.error_kind, result.status) == (error_kind, status), result.error
    assert result.error and "\n" not in result.error
    if error_kind is not ErrorKind.EMPTY:
        assert result.error.startswith("LiteLLMError: ")
    if status == 200 and error_kind is not ErrorKind.EMPTY and model != "html":
        assert result.text  # what arrived before the break is kept


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_rate_limit_keeps_retry_after(sim: SimServer, protocol: str) -> None:
    result = await probe(target(sim, protocol, "e429"))
    assert result.error_kind is ErrorKind.RATE_LIMIT
    assert result.retry_after_s == 3.0 and "retry after 3 s" in (result.error or "")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("model", ["hang", "trickle"])
async def test_a_hang_is_a_timeout_and_the_connection_is_closed(sim: SimServer, protocol: str, model: str) -> None:
    result = await probe(target(sim, protocol, model), timeout_s=1.0)
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.error == "Timeout: no first token within 1 s"
    for _ in range(200):  # the cancelled call lets go of its request
        if sim.active == 0:
            break
        await asyncio.sleep(0.05)
    assert sim.active == 0


async def test_no_server_on_the_port_is_connect() -> None:
    with socket_closed() as port:
        t = LiteLLMTarget("gone", ["openai/x"], api_base=f"http://127.0.0.1:{port}/v1", api_key=KEY)
        result = await probe(t)
    assert result.error_kind is ErrorKind.CONNECT and result.status is None


async def test_an_unknown_provider_is_litellms_refusal() -> None:
    result = await probe(LiteLLMTarget("nowhere", ["nosuchprovider/model"]))
    assert (result.error_kind, result.status) == (ErrorKind.PROVIDER_ERROR, None)
    assert "LLM Provider NOT provided" in (result.error or "")


async def test_missing_credentials_are_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    result = await probe(LiteLLMTarget("nokey", ["anthropic/claude-x"]))
    assert (result.error_kind, result.status) == (ErrorKind.AUTH, None), result.error


# ---- secrets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_key_echoed_in_an_error_is_scrubbed(sim: SimServer, protocol: str) -> None:
    result = await probe(target(sim, protocol, "echo"))
    assert result.error_kind is ErrorKind.AUTH
    error = result.error or ""
    # The simulator quotes the key; LiteLLM's Anthropic client hides it itself, rollcall the rest
    assert KEY not in error and ("***" in error or "(API key: REDACTED)" in error)
    assert "***" in error or protocol == "anthropic"


async def test_a_key_from_the_environment_is_used_and_scrubbed(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = "sk-from-env-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    t = LiteLLMTarget("env", ["openai/echo"], api_base=sim.url_for("openai"))  # no api_key given
    result = await probe(t)
    assert result.error_kind is ErrorKind.AUTH
    assert env_key not in (result.error or "") and "***" in (result.error or "")  # the sim quoted it


# ---- isolation ----------------------------------------------------------------------------------

async def test_litellm_blocking_its_loop_stalls_no_other_probe(sim: SimServer) -> None:
    """A LiteLLM provider whose code blocks (here: a real CustomLLM plug-in that sleeps in sync
    code) holds LiteLLM's thread, never rollcall's loop: another kind's probe answers, and the
    blocked probe ends at its deadline, while the provider is still blocked."""
    from litellm import CustomLLM

    from rollcall.targets.openai import OpenAITarget

    release = threading.Event()

    class Stuck(CustomLLM):  # type: ignore[misc]
        async def astreaming(self, *args: object, **kwargs: object) -> AsyncIterator[object]:
            release.wait(60)  # blocks LiteLLM's loop thread
            if False:
                yield None

    saved = list(litellm_module.custom_provider_map)
    # LiteLLM's documented plug-in point; it reads the map at call time
    litellm_module.custom_provider_map = [*saved, {"provider": "rollcall-stuck", "custom_handler": Stuck()}]
    try:
        stuck = LiteLLMTarget("stuck", ["rollcall-stuck/x"])
        other = OpenAITarget("native", sim.base_url, models=("canary",), api_key=KEY)
        blocked, answered = await asyncio.gather(
            probe(stuck, timeout_s=1.0),
            run_probe(other, ProbeRequest(model="canary"), timeout_s=BOUND_S),
        )
        still_blocked = not release.is_set()
        await other.aclose()
    finally:
        release.set()
        litellm_module.custom_provider_map = saved
    assert still_blocked
    assert answered.ok and answered.text == CANARY
    assert blocked.error_kind is ErrorKind.TIMEOUT


# ---- configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"models": []}, "models must be LiteLLM model strings"),
    ({"models": [""]}, "models must be LiteLLM model strings"),
    ({"models": ["openai/x"], "extra": {"stream": False}}, "extra may not set stream"),
    ({"models": ["openai/x"], "extra": {"messages": [], "model": "y"}}, "extra may not set messages, model"),
    ({"models": ["openai/x"], "api_base": "http://127.0.0.1:1/v1#frag"}, "api_base"),
])
def test_bad_settings_are_one_line_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LiteLLMTarget("bad", **kwargs)  # type: ignore[arg-type]


async def test_extra_kwargs_reach_litellm(sim: SimServer) -> None:
    # LiteLLM's own `mock_response` answers without a request: proof the kwargs arrive as given.
    t = LiteLLMTarget("mock", ["openai/anything"], extra={"mock_response": "mocked by litellm"})
    result = await probe(t)
    assert result.ok and result.text == "mocked by litellm"


def test_missing_litellm_names_the_pip_command(tmp_path: Path) -> None:
    """Without LiteLLM installed (here: shadowed by a package that fails like a missing one), a
    probe is a missing_dependency that says how to install it."""
    shadow = tmp_path / "litellm"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'litellm'\", name='litellm')\n")
    code = textwrap.dedent("""
        import asyncio
        from rollcall.probe import run_probe
        from rollcall.targets import litellm as kind
        from rollcall.targets.base import ProbeRequest
        print(kind.ready(30))
        t = kind.LiteLLMTarget("x", ["openai/x"])
        r = asyncio.run(run_probe(t, ProbeRequest(model="openai/x"), timeout_s=30))
        print(r.error_kind, r.error)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    ready_line, result_line = out.stdout.splitlines()
    assert "pip install 'rollcall[litellm]'" in ready_line
    assert result_line.startswith("missing_dependency LiteLLMError: LiteLLM is not installed (pip install 'rollcall[litellm]')")


def test_missing_reason_without_importing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kind.missing_reason() is None
    monkeypatch.setattr(kind.importlib.util, "find_spec", lambda name: None)
    assert kind.missing_reason() == "LiteLLM is not installed (pip install 'rollcall[litellm]')"


def test_importing_litellm_stays_offline_and_quiet(tmp_path: Path) -> None:
    """The import reaches no host (LiteLLM would fetch its model cost map) and prints nothing;
    a probe of a LiteLLM target (no network needed: mock_response) leaves stdout and stderr clean."""
    code = textwrap.dedent("""
        import asyncio, socket
        attempts = []
        real = socket.getaddrinfo
        def getaddrinfo(host, *args, **kwargs):
            attempts.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "offline")
        socket.getaddrinfo = getaddrinfo
        from rollcall.probe import run_probe
        from rollcall.targets import litellm as kind
        from rollcall.targets.base import ProbeRequest
        assert kind.ready(120) is None
        t = kind.LiteLLMTarget("x", ["openai/gpt-x"], extra={"mock_response": "hi"})
        r = asyncio.run(run_probe(t, ProbeRequest(model="openai/gpt-x"), timeout_s=60))
        import sys
        sys.__stdout__.write(f"{r.ok} {attempts}\\n")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stderr
    ok, _, attempts = out.stdout.strip().partition(" ")
    assert ok == "True"
    assert attempts == "[]"
    assert out.stderr == ""


class socket_closed:
    """A loopback port with nothing listening on it."""

    def __enter__(self) -> int:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        return None



# ---- the mapping table on LiteLLM's own exception objects ---------------------------------------

def _httpx_response(status: int, headers: dict[str, str] | None = None):
    import httpx

    return httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", "http://127.0.0.1/v1"))


def test_mapping_prefers_the_transport_cause_and_the_servers_status() -> None:
    import httpx
    from litellm import exceptions as ex

    refused = ex.InternalServerError("Connection error.", "openai", "m")  # LiteLLM's made-up 500
    refused.__cause__ = httpx.ConnectError("refused")
    assert (kind.map_failure(refused, mid_stream=False).kind, kind.map_failure(refused, mid_stream=False).status) \
        == (ErrorKind.CONNECT, None)

    overloaded = ex.InternalServerError("Overloaded", "anthropic", "m")  # LiteLLM says 500 ...
    overloaded.__cause__ = httpx.HTTPStatusError("529", request=httpx.Request("POST", "http://127.0.0.1"),
                                                 response=_httpx_response(529, {"x-request-id": "r"}))
    failure = kind.map_failure(overloaded, mid_stream=False)
    assert (failure.kind, failure.status) == (ErrorKind.HTTP_STATUS, 529)  # ... the server said 529

    limited = ex.RateLimitError("slow down", "openai", "m", response=_httpx_response(429, {"retry-after": "12"}))
    failure = kind.map_failure(limited, mid_stream=False)
    assert (failure.kind, failure.status, failure.retry_after_s) == (ErrorKind.RATE_LIMIT, 429, 12.0)


@pytest.mark.parametrize(("make", "mid_stream", "expected"), [
    (lambda ex: ex.Timeout("slow", "m", "openai"), False, ErrorKind.TIMEOUT),
    (lambda ex: ex.AuthenticationError("no", "openai", "m"), False, ErrorKind.AUTH),
    (lambda ex: ex.BadRequestError("LLM Provider NOT provided", "m", "openai"), False, ErrorKind.PROVIDER_ERROR),
    (lambda ex: ex.UnsupportedParamsError("no such param", llm_provider="openai", model="m"), False,
     ErrorKind.PROVIDER_ERROR),
    (lambda ex: ex.APIConnectionError("something else", "openai", "m"), False, ErrorKind.PROVIDER_ERROR),
    (lambda ex: ex.InternalServerError("Missing credentials. Please pass an `api_key`", "openai", "m"), False,
     ErrorKind.AUTH),
    (lambda ex: ex.InternalServerError("Internal server error", "anthropic", "m"), True, ErrorKind.BAD_RESPONSE),
    (lambda ex: ex.RateLimitError("limit", "anthropic", "m"), True, ErrorKind.RATE_LIMIT),
    (lambda ex: ValueError("not LiteLLM's at all"), False, ErrorKind.PROVIDER_ERROR),
])
def test_litellm_classes_map_as_the_table_says(make, mid_stream: bool, expected: ErrorKind) -> None:
    from litellm import exceptions as ex

    assert kind.map_failure(make(ex), mid_stream=mid_stream).kind is expected


def test_an_exception_that_cannot_be_read_is_a_provider_error() -> None:
    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

        @property
        def response(self) -> object:
            raise RuntimeError("no")

    failure = kind.map_failure(Hostile(), mid_stream=False)
    assert failure.kind is ErrorKind.PROVIDER_ERROR and "Hostile" in str(failure)
