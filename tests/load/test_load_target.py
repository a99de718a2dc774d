"""Which target a load run calls: a base URL with --kind, or a config target by name through the
same plan code as `rollcall run`; extra request fields go into the HTTP body."""

from __future__ import annotations

import json

import pytest
from load_helpers import Scripted

from rollcall.config import parse_config
from rollcall.load.spec import SpecError
from rollcall.load.target import Connection, add_extra_body, config_target, url_target
from rollcall.targets.base import ProbeRequest

CONNECTION = Connection(max_in_flight=256, connect_timeout_s=3.0, first_byte_timeout_s=7.0)
CONFIG = """
[[target]]
name = "local"
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
models = ["a", "b"]
extra_body = { provider = "X" }

[[target]]
name = "paid"
kind = "openai"
base_url = "https://api.example.invalid/v1"
api_key = "${LOAD_TEST_UNSET_KEY}"
optional = true
"""


def test_a_base_url_becomes_an_openai_target_with_a_big_enough_pool() -> None:
    target = url_target("http://127.0.0.1:8000/v1", kind="openai", model="m", api_key_env=None, connection=CONNECTION)
    assert (target.name, target.kind, target.models) == ("127.0.0.1", "openai", ("m",))
    assert target.client.limit == 256 and target.client.connect_timeout_s == 3.0
    assert target.client.first_byte_timeout_s == 7.0


def test_extra_fields_go_into_every_request_body() -> None:
    target = url_target("http://127.0.0.1:8000/v1", kind="openai", model="m", api_key_env=None, connection=CONNECTION)
    add_extra_body(target, {"ignore_eos": True, "stream": False})
    body = json.loads(target.http_request(ProbeRequest(prompt="hi", model="m", max_tokens=8)).body)
    assert body["ignore_eos"] is True and body["max_tokens"] == 8
    assert body["stream"] is True  # rollcall's own fields win
    with pytest.raises(SpecError, match="^--extra-body/--ignore-eos: target 'scripted'"):
        add_extra_body(Scripted([]), {"ignore_eos": True})


def test_a_config_target_by_name(monkeypatch) -> None:
    monkeypatch.delenv("LOAD_TEST_UNSET_KEY", raising=False)
    config = parse_config(CONFIG, "rollcall.toml")
    target, model = config_target("LOCAL", config, model="b", connection=CONNECTION)
    assert (target.name, model, target.client.limit) == ("local", "b", 256)
    assert target.extra_body == {"provider": "X"}
    with pytest.raises(SpecError, match=r"^-m/--model: config target 'local' has 2 models \(a, b\)"):
        config_target("local", config, model=None, connection=CONNECTION)
    with pytest.raises(SpecError, match="^TARGET: config target 'paid' was skipped: environment variable"):
        config_target("paid", config, model=None, connection=CONNECTION)
    with pytest.raises(SpecError, match="^TARGET: unknown target 'nope'"):
        config_target("nope", config, model=None, connection=CONNECTION)
