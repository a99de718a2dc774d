"""Secrets never leak and ordinary words are not secrets, where users meet it: `rollcall list -c`
and `rollcall run -c` in real subprocesses, against a raw loopback server that echoes what it
was sent (headers as model ids, the key in an answer across the 100,000-character cut) and sends
redirects and malformed responses that quote URLs."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import subprocess
import sys

import pytest
from g4f_env import offline_g4f_env
from raw_http import Request, json_response, serve_raw

from rollcall.probe import KEEP_TEXT_CHARS

KEY = "sk-test-REAL-key-0123456789"
USERINFO = "USERINFO-TOKEN-777"
QUERY_CODE = "QUERY-CODE-SECRET-1"
BROKEN_CODE = "BROKEN-CODE-SECRET-9"
REDIRECT_CODE = "LEAKME-CODE-123"
SECRETS = (KEY, USERINFO, base64.b64encode(f"{USERINFO}:".encode()).decode(), QUERY_CODE, BROKEN_CODE,
           REDIRECT_CODE)
WORDS = "ollama 2024 EMPTY are words here"


def answer(text: str) -> bytes:
    return json_response(json.dumps({"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}).encode())


async def echoing(request: Request, writer: asyncio.StreamWriter) -> None:
    auth = request.headers.get("authorization", "")
    if request.path.partition("?")[0].endswith("/models"):  # echoes our headers back as model ids
        ids = [auth, f"model-for {auth}", "model-a"]
        writer.write(json_response(json.dumps({"data": [{"id": i} for i in ids]}).encode()))
    elif "/redirect/" in request.path:
        writer.write(f"HTTP/1.1 302 Found\r\nLocation: https://login.example/cb?code={REDIRECT_CODE}&state=s\r\n"
                     "Content-Length: 0\r\n\r\n".encode())
    elif "/broken/" in request.path:  # aiohttp's error quotes the request URL with its query
        writer.write(b"HTTP/1.1 2x0 Broken\r\n\r\n")
    elif "/straddle/" in request.path:  # the key sits across the cut of the stored answer
        key = auth.removeprefix("Bearer ")
        writer.write(answer("a" * (KEEP_TEXT_CHARS - 10) + key + "b" * 50))
    else:
        writer.write(answer(f"{WORDS}; you sent {auth}"))


@pytest.fixture(scope="module")
def server():
    with serve_raw(echoing) as running:
        yield running


def config(tmp_path, server, targets: str):
    path = tmp_path / "rollcall.toml"
    path.write_text(targets.replace("{url}", server.url()).replace("{port}", str(server.port)))
    return path


LEAKY = '''
[[target]]
name = "keyed"
kind = "openai"
base_url = "{url}/straddle/v1?code=QUERY-CODE-SECRET-1&api-version=2024-02-01"
api_key = "${ROLLCALL_TEST_KEY}"
stream = false

[[target]]
name = "userinfo"
kind = "openai"
base_url = "http://USERINFO-TOKEN-777@127.0.0.1:{port}/v1"
stream = false

[[target]]
name = "redirected"
kind = "openai"
base_url = "{url}/redirect/v1"
api_key = "${ROLLCALL_TEST_KEY}"
stream = false

[[target]]
name = "broken"
kind = "openai"
base_url = "http://127.0.0.1:{port}/broken/v1?code=BROKEN-CODE-SECRET-9"
stream = false
'''


def rollcall(tmp_path, *args):
    env = {**offline_g4f_env(tmp_path), "ROLLCALL_TEST_KEY": KEY, "ROLLCALL_STORE": str(tmp_path / "h.sqlite3")}
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
            assert secret[:10] not in text, (secret[:10], text)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
def test_list_shows_no_credentials(tmp_path, server, as_json):
    path = config(tmp_path, server, LEAKY)
    proc = rollcall(tmp_path, "list", "-c", str(path), "-p", "fake_providers:Answering", *(["--json"] if as_json else []))
    assert proc.returncode == 0, proc.stderr
    assert_no_secret(proc.stdout, proc.stderr)
    assert "***@127.0.0.1" in proc.stdout and "api-version=2024-02-01" in proc.stdout
    assert "model-a" in proc.stdout
    if as_json:
        endpoints = {e["target"]: e for e in json.loads(proc.stdout)["endpoints"]}
        assert endpoints["keyed"]["models"] == ["Bearer ***", "model-for Bearer ***", "model-a"]
        assert endpoints["keyed"]["base_url"] == (
            f"{server.url()}/straddle/v1?code=***&api-version=2024-02-01")


def test_run_leaks_nothing_to_output_files_or_history(tmp_path, server):
    path = config(tmp_path, server, LEAKY)
    out = tmp_path / "run.json"
    proc = rollcall(tmp_path, "run", "-c", str(path), "--json", str(out), "-o", f"csv:{tmp_path / 'run.csv'}")
    assert proc.returncode == 0, proc.stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("h.sqlite3*")).decode("utf-8", "replace")
    assert_no_secret(proc.stdout, proc.stderr, out.read_text(), (tmp_path / "run.csv").read_text(), stored)
    by = {r["target"]: r for r in json.loads(out.read_text())["results"]}
    assert by["keyed"]["text"] == "a" * (KEEP_TEXT_CHARS - 10) + "***" + "b" * 7  # cut after scrubbing
    assert by["userinfo"]["ok"]
    assert by["redirected"]["error"] == (
        "HTTPStatusError: HTTP 302 Found: redirect to https://login.example/cb?code=***&state=***")
    assert by["broken"]["error_kind"] == "bad_response" and "?code=***" in by["broken"]["error"]


def test_placeholder_keys_are_not_scrubbed_from_answers(tmp_path, server):
    path = config(tmp_path, server, "".join(f'''
[[target]]
name = "local-{key}"
kind = "openai"
base_url = "{{url}}/v1"
api_key = "{key}"
stream = false
''' for key in ("ollama", "EMPTY", "2024")))
    out = tmp_path / "run.json"
    proc = rollcall(tmp_path, "run", "-c", str(path), "--expect", "^ollama 2024 EMPTY", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())["results"]
    assert [r["ok"] for r in results] == [True, True, True]
    # The word stays in the answer; the key in its role (the echoed header) is still hidden.
    assert {r["text"] for r in results} == {f"{WORDS}; you sent Bearer ***"}
