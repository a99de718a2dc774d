"""Where the server listens and who may read it: loopback by default, a token or --public for
anything else (checked before binding), the token on every path but /healthz."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from serve_helpers import OK, get, record, serving

from rollcall.serve.auth import Guard, Listen, check_exposure, parse_listen

TOKEN = "s3cret-t0ken-for-tests-0123456789"


@pytest.mark.parametrize(("text", "host", "port"), [
    ("127.0.0.1:8080", "127.0.0.1", 8080), ("8080", "127.0.0.1", 8080), (":9000", "0.0.0.0", 9000),
    ("[::1]:8080", "::1", 8080), ("localhost:0", "localhost", 0), ("0.0.0.0:80", "0.0.0.0", 80),
])
def test_listen_addresses(text: str, host: str, port: int) -> None:
    assert parse_listen(text) == Listen(host, port)


@pytest.mark.parametrize("text", ["", "host", "1.2.3.4:http", "::1:80", "[::1]80", "127.0.0.1:70000"])
def test_bad_listen_addresses_say_how(text: str) -> None:
    with pytest.raises(ValueError, match="--listen"):
        parse_listen(text)


def test_exposure_needs_a_token_or_public() -> None:
    for loopback in ("127.0.0.1", "127.9.9.9", "::1", "localhost"):
        check_exposure(Listen(loopback, 1), token=None, public=False)
    for exposed in ("0.0.0.0", "::", "10.0.0.5", "status.example"):
        with pytest.raises(ValueError, match="--token TOKEN .* or --public"):
            check_exposure(Listen(exposed, 1), token=None, public=False)
        check_exposure(Listen(exposed, 1), token=TOKEN, public=False)
        check_exposure(Listen(exposed, 1), token=None, public=True)
    with pytest.raises(ValueError, match="at least 16"):
        check_exposure(Listen("0.0.0.0", 1), token="short", public=False)
    with pytest.raises(ValueError, match="exclude each other"):
        check_exposure(Listen("0.0.0.0", 1), token=TOKEN, public=True)


def test_guard() -> None:
    guard = Guard(TOKEN)
    assert guard.allows("/", f"Bearer {TOKEN}", None) and guard.allows("/", f"bearer  {TOKEN} ", None)
    assert guard.allows("/metrics", None, TOKEN) and guard.allows("/healthz", None, None)
    assert not guard.allows("/", None, None) and not guard.allows("/", f"Bearer {TOKEN}x", None)
    assert not guard.allows("/", f"Basic {TOKEN}", None) and not guard.allows("/", None, TOKEN[:-1])
    assert not guard.allows("/", None, "\udcff")  # an undecodable guess is just wrong
    assert Guard().allows("/", None, None) and not Guard(public=True).may_probe


def test_the_token_is_enforced_everywhere_but_healthz(sqlite_location: str) -> None:
    record(sqlite_location, "lab", [{("alpha", "m"): OK}])
    with serving(sqlite_location, token=TOKEN) as url:
        for path in ("/", "/api/v1/status", "/api/v1/targets", "/metrics", "/badge/alpha.svg", "/targets/alpha/m",
                     "/incidents", "/api/v1/events", "/runs/zzz", "/nothing"):
            denied = get(url + path)
            assert denied.status == 401, path
            assert denied.headers["WWW-Authenticate"] == 'Bearer realm="rollcall"'
            assert get(url + path, {"Authorization": "Bearer wrong-token-wrong-token"}).status == 401
        assert get(url + "/api/v1/status", {"Authorization": f"Bearer {TOKEN}"}).status == 200
        assert get(url + f"/metrics?token={TOKEN}").status == 200
        assert get(url + "/healthz").json()["status"] == "ok"
        assert get(url + "/static/serve-common.js").status == 200  # packaged code, no history: what <script src> needs
        for path in ("/", "/api/v1/targets", "/metrics", "/badge/alpha.svg", "/nothing", "/static/serve-common.js"):
            body = get(url + path, {"Authorization": f"Bearer {TOKEN}"}).body
            assert TOKEN.encode() not in body, path  # never served back, even to its holder


def _free_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("command", [["serve"], ["watch", "--no-config", "--target", "x"]])
def test_non_loopback_without_token_exits_2_before_binding(sqlite_location: str, command: list[str]) -> None:
    record(sqlite_location, "lab", [{("alpha", "m"): OK}])
    held, port = _free_port()  # had it tried to bind, it would say the port is in use (exit 1)
    with held:
        done = subprocess.run([sys.executable, "-m", "rollcall", *command, "--store", sqlite_location,
                               "--listen", f"0.0.0.0:{port}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "not a loopback address" in done.stderr and "--token" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "rollcall", "serve", "--store", sqlite_location, "--listen",
                           f"127.0.0.1:{port}", "--token", "short"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--token: use at least 16 characters" in done.stderr
