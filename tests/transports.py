"""Run a test module over both HTTP transports: aiohttp (every command) and rollcall.wire (load
mode). `from transports import transport  # noqa: F401` in a module makes every test in it run
once per transport: the module's `HttpClient`, the targets' default client and the kinds' client become the chosen
one, so the same servers, faults and assertions prove both."""

from __future__ import annotations

import pytest

from rollcall import http
from rollcall.targets import http_target
from rollcall.wire import WireClient

CLIENTS = {"aiohttp": http.HttpClient, "wire": WireClient}
AIOHTTP = http.HttpClient


@pytest.fixture(params=sorted(CLIENTS), autouse=True)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    cls = CLIENTS[request.param]
    if getattr(request.module, "HttpClient", None) is AIOHTTP:
        monkeypatch.setattr(request.module, "HttpClient", cls)
    monkeypatch.setattr(http_target, "HttpClient", cls)  # a target's default client
    monkeypatch.setattr(http, "HttpClient", cls)  # the kinds' BuildContext imports it from here
    return request.param
