"""Exceptions from g4f, aiohttp, requests and the standard library map to DESIGN.md error kinds."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest
import requests
from g4f import errors

from rollcall import ErrorKind, classify
from rollcall.classification import describe
from rollcall.redact import redact, register_secret


@pytest.mark.parametrize(
    "exc, kind",
    [
        (errors.MissingAuthError("no key"), ErrorKind.AUTH),
        (errors.RateLimitError("Response 429: x"), ErrorKind.RATE_LIMIT),
        (errors.MissingRequirementsError("pip install x"), ErrorKind.MISSING_DEPENDENCY),
        (errors.NestAsyncioError("x"), ErrorKind.MISSING_DEPENDENCY),
        (errors.ResponseStatusError("Response 500: boom"), ErrorKind.HTTP_STATUS),
        (errors.ResponseStatusError("Response 401: who"), ErrorKind.AUTH),
        (errors.CloudflareError("Response 403: challenge"), ErrorKind.BAD_RESPONSE),
        (errors.TimeoutError("slow"), ErrorKind.TIMEOUT),
        (errors.ProviderNotWorkingError("x"), ErrorKind.PROVIDER_ERROR),
        (asyncio.TimeoutError(), ErrorKind.TIMEOUT),
        (ConnectionRefusedError(), ErrorKind.CONNECT),
        (socket.gaierror(-2, "Name or service not known"), ErrorKind.CONNECT),
        (requests.exceptions.ConnectionError("dns"), ErrorKind.CONNECT),
        (requests.exceptions.ReadTimeout("slow"), ErrorKind.TIMEOUT),
        (aiohttp.ServerDisconnectedError(), ErrorKind.CONNECT),
        (json.JSONDecodeError("x", "doc", 0), ErrorKind.BAD_RESPONSE),
        (ModuleNotFoundError("No module named 'nodriver'"), ErrorKind.MISSING_DEPENDENCY),
        (RuntimeError("Google Chrome / Chromium / Edge executable not found."), ErrorKind.MISSING_DEPENDENCY),
        (ValueError("anything else"), ErrorKind.PROVIDER_ERROR),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_kinds(exc, kind):
    assert classify(exc)[0] is kind


def test_status_is_kept():
    assert classify(errors.ResponseStatusError("Response 503: unavailable")) == (ErrorKind.HTTP_STATUS, 503, None)


def test_cause_is_consulted_for_wrapped_errors():
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise RuntimeError("request failed") from inner
    except RuntimeError as outer:
        assert classify(outer)[0] is ErrorKind.CONNECT


def test_describe_is_one_line_with_the_type():
    assert describe(ValueError("a\nb   c")) == "ValueError: a b c"
    assert describe(KeyError()) == "KeyError"


def test_redaction_of_known_and_shaped_secrets():
    register_secret("my-very-secret-key-123")
    text = "bad key my-very-secret-key-123; Bearer abcdefghijklmnop; https://u:pw@host/x?key=zzz&b=1 sk-proj-ABCDEFGHIJKLMN"
    out = redact(text)
    for secret in ("my-very-secret-key-123", "abcdefghijklmnop", "u:pw@", "zzz", "sk-proj-ABCDEFGHIJKLMN"):
        assert secret not in out
    assert "b=1" in out
