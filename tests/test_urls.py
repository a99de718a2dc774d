"""Base URLs: a query is kept and endpoint paths join the path (Azure OpenAI's `?api-version=`),
fragments and bad ports are refused when the config is read, naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from g4f_env import offline_g4f_env
from plain_http import raw_server

from rollcall.config import ConfigError, parse_config
from rollcall.probe import run_probe
from rollcall.targets.base import ProbeRequest
from rollcall.targets.openai import OpenAITarget
from rollcall.urls import check_base_url, endpoint_url

AZURE_STYLE = "/openai/deployments/gpt4o?api-version=2024-02-01"


@pytest.mark.parametrize("base, path, url", [
    ("http://h/v1", "chat/completions", "http://h/v1/chat/completions"),
    ("http://h/v1/", "models", "http://h/v1/models"),
    ("http://h", "models", "http://h/models"),
    ("https://h/d/gpt4o?api-version=2024-02-01", "chat/completions",
     "https://h/d/gpt4o/chat/completions?api-version=2024-02-01"),
    ("https://h/d/gpt4o/?a=1&b=2", "models", "https://h/d/gpt4o/models?a=1&b=2"),
])
def test_endpoint_paths_join_the_path_and_keep_the_query(base, path, url):
    assert endpoint_url(base, path) == url


@pytest.mark.parametrize("url, words", [
    ("http://h/v1#frag", "#fragment"), ("http://h/v1#", "#fragment"), ("http://h:99999/v1", "invalid port"),
    ("http://h:abc/v1", "invalid port"), ("http://h:0/v1", "invalid port"), ("ftp://h/v1", "http:// or https://"),
    ("http:///v1", "http:// or https://"), ("http://:80/v1", "no host name"), ("http://h/v 1", "spaces"),
    ("http://[::1/v1", "not a valid URL"),
])
def test_bad_base_urls(url, words):
    with pytest.raises(ValueError, match=words):
        check_base_url(url)


def test_the_config_names_the_field():
    text = '[[target]]\nname = "azure"\nkind = "openai"\nbase_url = "https://h/v1#x"\n'
    with pytest.raises(ConfigError, match=r"rollcall.toml: target 'azure': field 'base_url' must not have a #fragment"):
        parse_config(text, "rollcall.toml")


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server that answers chat and model requests on any path and records each
    request's path and query as it arrived."""
    seen: list[str] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        seen.append(request.path_qs)
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "gpt4o"}]})
        if not request.path.endswith("/chat/completions"):
            return web.Response(status=404, text="no such endpoint")
        return web.json_response({"choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", chat)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


async def test_requests_go_to_the_path_with_the_query_kept(recorder):
    base, seen = recorder
    target = OpenAITarget("azure", base + AZURE_STYLE, stream=False)
    try:
        result = await run_probe(target, ProbeRequest(prompt="hi"), timeout_s=10)
        models = await target.list_models()
    finally:
        await target.aclose()
    assert result.ok, result.error
    assert models == ["gpt4o"]
    assert seen == ["/openai/deployments/gpt4o/chat/completions?api-version=2024-02-01",
                    "/openai/deployments/gpt4o/models?api-version=2024-02-01"]


@pytest.fixture
def env(tmp_path):
    return offline_g4f_env(tmp_path)


@pytest.mark.parametrize("url, words", [("http://127.0.0.1:8/v1#top", "#fragment"),
                                        ("http://127.0.0.1:70000/v1", "invalid port")])
def test_run_refuses_a_bad_base_url_before_probing(env, tmp_path, url, words):
    config = tmp_path / "rollcall.toml"
    config.write_text(f'[[target]]\nname = "x"\nkind = "openai"\nbase_url = "{url}"\n')
    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", str(config), "--no-store"],
                          capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"rollcall: error: {config}: target 'x': field 'base_url' " + {
        "#fragment": "must not have a #fragment (it is never sent to the server)",
        "invalid port": "has an invalid port (a number from 1 to 65535 is expected)",
    }[words]


def test_run_probes_an_azure_style_url_from_the_config(env, tmp_path):
    """The whole path a user takes: config file, `rollcall run`, a server that checks the path."""
    def answer(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path != "/openai/deployments/gpt4o/chat/completions?api-version=2024-02-01":
            return 404, "application/json", json.dumps({"error": {"message": f"no route {path}"}}).encode()
        reply = {"choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}]}
        return 200, "application/json", json.dumps(reply).encode()

    with raw_server(answer) as server:
        config = tmp_path / "rollcall.toml"
        config.write_text(f'[[target]]\nname = "azure"\nkind = "openai"\nstream = false\n'
                          f'base_url = "{server.base}{AZURE_STYLE}"\n')
        proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", str(config), "--no-store", "--json", "-"],
                              capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert [r["ok"] for r in json.loads(proc.stdout)["results"]] == [True], server.seen
